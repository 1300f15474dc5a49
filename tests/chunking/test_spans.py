"""The shared span helpers: splitting levels, token cuts and greedy merging."""

from __future__ import annotations

import numpy as np

from ragkit.chunking import get_token_counter
from ragkit.chunking.spans import (
    line_spans,
    merge_pieces,
    paragraph_spans,
    sentence_spans,
    split_recursive,
    token_spans,
    word_spans,
)


def _show(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[s:e] for s, e in spans]


def test_paragraphs_split_at_blank_lines_only() -> None:
    text = "  First line\nsame para.\n \t\nSecond.\r\n\r\nThird  "
    assert _show(text, paragraph_spans(text, 0, len(text))) == ["First line\nsame para.", "Second.", "Third"]


def test_sentence_boundaries() -> None:
    text = 'He said "go!" Then (left.) And e.g. stayed. Version 2.0 ships. 日本語。次。'
    assert _show(text, sentence_spans(text, 0, len(text))) == [
        'He said "go!"',
        "Then (left.)",
        "And e.g. stayed.",
        "Version 2.0 ships.",
        "日本語。",
        "次。",
    ]


def test_sentences_respect_the_window() -> None:
    text = "Skip. A b. C d. Skip."
    lo, hi = text.index("A"), text.index("Skip", 1) - 1
    assert _show(text, sentence_spans(text, lo, hi)) == ["A b.", "C d."]


def test_lines_and_words() -> None:
    text = "one two\n\n  three\tfour \n"
    assert _show(text, line_spans(text, 0, len(text))) == ["one two", "three\tfour"]
    assert _show(text, word_spans(text, 0, len(text))) == ["one", "two", "three", "four"]


def test_token_spans_cut_at_token_starts() -> None:
    starts = np.array([0, 2, 4, 6, 8], dtype=np.int64)
    assert token_spans(0, 9, starts, 2) == [(0, 4), (4, 8), (8, 9)]
    assert token_spans(0, 9, starts, 5) == [(0, 9)]


def test_token_spans_with_many_tokens_at_one_character() -> None:
    # Byte-level tokenizers can start several tokens at one character (an emoji):
    # it cannot be cut, so the piece holding it is as small as possible.
    starts = np.array([0, 0, 0, 1, 2], dtype=np.int64)
    assert token_spans(0, 3, starts, 2) == [(0, 1), (1, 3)]


def test_merge_by_token_overlap() -> None:
    pieces = [(0, 1), (2, 3), (4, 5), (6, 7)]  # one token each
    starts = np.array([0, 2, 4, 6], dtype=np.int64)
    assert merge_pieces(pieces, starts, 2) == [(0, 3), (4, 7)]
    assert merge_pieces(pieces, starts, 2, overlap_tokens=1) == [(0, 3), (2, 5), (4, 7)]
    assert merge_pieces(pieces, starts, 3, overlap_pieces=2) == [(0, 5), (2, 7)]
    assert merge_pieces([], starts, 2) == []


def test_merge_keeps_an_oversized_piece_alone() -> None:
    pieces = [(0, 1), (2, 5), (6, 7)]
    starts = np.array([0, 2, 2, 2, 6], dtype=np.int64)
    assert merge_pieces(pieces, starts, 2, overlap_tokens=1) == [(0, 1), (2, 5), (6, 7)]


def test_split_recursive_uses_the_coarsest_level_that_fits() -> None:
    text = "Para one. Still one.\n\nPara two is much longer. It has two sentences."
    starts = get_token_counter("regex").token_starts(text)
    assert _show(text, split_recursive(text, 0, len(text), starts, 100)) == [text]
    assert _show(text, split_recursive(text, 0, len(text), starts, 8)) == [
        "Para one. Still one.",
        "Para two is much longer.",
        "It has two sentences.",
    ]
