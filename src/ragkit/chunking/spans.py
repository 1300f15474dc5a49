"""Span logic shared by every chunker: split text into trimmed pieces, merge pieces into chunks.

A span is a pair of character offsets ``(start, end)`` into the document text. Every
span this module returns is *trimmed* (it neither starts nor ends with whitespace) and
non-empty, and the pieces of a split cover every non-whitespace character of the input.

Token counts come from one tokenisation of the whole document: ``starts`` holds the
ascending character offsets at which its tokens begin, and a span ``[s, e)`` holds
``searchsorted(starts, e) - searchsorted(starts, s)`` tokens. Nothing here loops over
characters in Python; loops run over pieces or chunks.

Splitting goes from coarse to fine, and only spans that are still too long descend a
level: paragraphs (blank lines), sentences (``. ! ?`` followed by whitespace and not by
a lowercase letter, CJK full stops, paragraph breaks), lines, words (whitespace), and
finally token boundaries.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "Span",
    "paragraph_spans",
    "sentence_spans",
    "line_spans",
    "word_spans",
    "token_spans",
    "count_tokens",
    "split_recursive",
    "split_sentences",
    "merge_pieces",
]

Span = tuple[int, int]

_TRIMMED = re.compile(r"\S(?:.*\S)?", re.DOTALL)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# End of a Latin-script sentence: before whitespace and a character that is not lowercase ASCII.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u2019\u201d\u00bb)\]]*(?=\s+[^\sa-z])")
# CJK full stops end a sentence without any space after them.
_CJK_SENTENCE_END = re.compile(r"[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09]*")
_LINE_BREAK = re.compile(r"\n")
_WORD = re.compile(r"\S+")


def _between(text: str, lo: int, hi: int, cuts: Sequence[int]) -> list[Span]:
    """Trimmed, non-empty spans between consecutive cuts within ``[lo, hi)``."""
    spans: list[Span] = []
    prev = lo
    for cut in (*cuts, hi):
        if cut > prev:
            m = _TRIMMED.search(text, prev, cut)
            if m is not None:
                spans.append(m.span())
            prev = cut
    return spans


def paragraph_spans(text: str, lo: int, hi: int) -> list[Span]:
    """Paragraphs of ``text[lo:hi]``: blocks separated by blank lines."""
    return _between(text, lo, hi, [m.start() for m in _PARAGRAPH_BREAK.finditer(text, lo, hi)])


def sentence_spans(text: str, lo: int, hi: int) -> list[Span]:
    """Sentences of ``text[lo:hi]``; a paragraph break also ends a sentence."""
    cuts = [m.end() for m in _SENTENCE_END.finditer(text, lo, hi)]
    cuts += [m.end() for m in _CJK_SENTENCE_END.finditer(text, lo, hi)]
    cuts += [m.start() for m in _PARAGRAPH_BREAK.finditer(text, lo, hi)]
    return _between(text, lo, hi, sorted(cuts))


def line_spans(text: str, lo: int, hi: int) -> list[Span]:
    """Non-blank lines of ``text[lo:hi]``."""
    return _between(text, lo, hi, [m.start() for m in _LINE_BREAK.finditer(text, lo, hi)])


def word_spans(text: str, lo: int, hi: int) -> list[Span]:
    """Whitespace-separated words of ``text[lo:hi]``."""
    return [m.span() for m in _WORD.finditer(text, lo, hi)]


def token_spans(start: int, end: int, starts: np.ndarray, max_tokens: int) -> list[Span]:
    """Cut ``[start, end)`` at token starts into pieces of at most ``max_tokens`` tokens.

    Meant for a single word (no whitespace inside). Where more than ``max_tokens`` tokens
    begin at one character (byte-level tokenizers can do this with an emoji), that
    character cannot be cut and its piece exceeds the budget.
    """
    first = int(np.searchsorted(starts, start, side="left"))
    last = int(np.searchsorted(starts, end, side="left"))
    spans: list[Span] = []
    cur, i = start, first
    while last - i > max_tokens:
        cut = int(starts[i + max_tokens])
        if cut <= cur:  # too many tokens begin at one character: cut right after it
            nxt = int(np.searchsorted(starts, cur, side="right"))
            if nxt >= last:
                break
            cut = int(starts[nxt])
        spans.append((cur, cut))
        cur, i = cut, int(np.searchsorted(starts, cut, side="left"))
    spans.append((cur, end))
    return spans


def count_tokens(spans: Sequence[Span], starts: np.ndarray) -> np.ndarray:
    """Number of token starts inside each span (int64 array)."""
    if not spans:
        return np.zeros(0, dtype=np.int64)
    bounds = np.asarray(spans, dtype=np.int64)
    return np.searchsorted(starts, bounds[:, 1]) - np.searchsorted(starts, bounds[:, 0])


_Splitter = Callable[[str, int, int], list[Span]]
_LEVELS: tuple[_Splitter, ...] = (paragraph_spans, sentence_spans, line_spans, word_spans)
_SENTENCE_LEVEL = _LEVELS.index(sentence_spans)


def _fit(text: str, spans: list[Span], starts: np.ndarray, max_tokens: int, level: int) -> list[Span]:
    """Keep spans within ``max_tokens``; split the others at ``_LEVELS[level]`` or finer."""
    if not spans:
        return spans
    counts = count_tokens(spans, starts)
    if int(counts.max()) <= max_tokens:
        return spans
    pieces: list[Span] = []
    for (s, e), n in zip(spans, counts.tolist(), strict=True):
        if n <= max_tokens:
            pieces.append((s, e))
        elif level < len(_LEVELS):
            pieces.extend(_fit(text, _LEVELS[level](text, s, e), starts, max_tokens, level + 1))
        else:
            pieces.extend(token_spans(s, e, starts, max_tokens))
    return pieces


def split_recursive(text: str, lo: int, hi: int, starts: np.ndarray, max_tokens: int) -> list[Span]:
    """Pieces of ``text[lo:hi]`` of at most ``max_tokens`` tokens, split as coarsely as possible."""
    whole = _between(text, lo, hi, ())
    return _fit(text, whole, starts, max_tokens, 0)


def split_sentences(text: str, lo: int, hi: int, starts: np.ndarray, max_tokens: int) -> list[Span]:
    """Sentences of ``text[lo:hi]``; one over ``max_tokens`` is split at lines, words, then tokens."""
    return _fit(text, sentence_spans(text, lo, hi), starts, max_tokens, _SENTENCE_LEVEL + 1)


def merge_pieces(
    pieces: Sequence[Span],
    starts: np.ndarray,
    max_tokens: int,
    *,
    overlap_tokens: int = 0,
    overlap_pieces: int = 0,
) -> list[Span]:
    """Greedily merge adjacent pieces into chunks of at most ``max_tokens`` tokens.

    Each chunk after the first starts with trailing pieces of the previous chunk: as many
    as total at most ``overlap_tokens`` tokens, or the last ``overlap_pieces`` pieces (use
    one of the two). Overlap is reduced as needed so the next chunk always takes at least
    one new piece, so the loop always makes progress.
    """
    if not pieces:
        return []
    bounds = np.asarray(pieces, dtype=np.int64)
    # a[k], b[k]: token index at the start and end of piece k; chunk [i..j] holds b[j] - a[i] tokens.
    a: list[int] = np.searchsorted(starts, bounds[:, 0]).tolist()
    b: list[int] = np.searchsorted(starts, bounds[:, 1]).tolist()
    n = len(pieces)
    chunks: list[Span] = []
    i = 0
    while True:
        j = max(bisect_right(b, a[i] + max_tokens, i) - 1, i)  # furthest piece that fits
        chunks.append((pieces[i][0], pieces[j][1]))
        if j == n - 1:
            return chunks
        if overlap_pieces > 0:
            k = j + 1 - overlap_pieces
        elif overlap_tokens > 0:
            k = bisect_left(a, b[j] - overlap_tokens, i + 1, j + 1)  # b[j] - a[k] <= overlap_tokens
        else:
            k = j + 1
        k_fit = bisect_left(a, b[j + 1] - max_tokens, i + 1, j + 2)  # next piece must still fit
        i = min(max(k, k_fit, i + 1), j + 1)
