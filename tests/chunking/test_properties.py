"""Property tests: the chunk invariants hold for random texts and settings."""

from __future__ import annotations

import re
from itertools import pairwise

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragkit.chunking import MarkdownChunker, RecursiveChunker, SentenceChunker, get_token_counter
from ragkit.core.documents import Document

_REGEX_TOKEN = re.compile(r"\w+|[^\w\s]")

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", min_size=1, max_size=8)
_unicode_word = st.text(alphabet=st.characters(categories=["L", "M", "N", "So", "Lo"]), min_size=1, max_size=6)
_long_word = st.text(alphabet="abcdefghij-.,'", min_size=20, max_size=80)
_punct = st.sampled_from([".", "!", "?", ",", ";", ":", "...", "\u2026", "\u3002", '"', "')", "#", "-", "`"])
_space = st.sampled_from([" ", " ", " ", "\n", "\n\n", "\t", "\r\n", "  \n \n", "\u00a0", "\u2028", "\x1c"])
_markdown = st.sampled_from(["\n# ", "\n## Title\n", "\n### ", "\n```\n", "\n~~~\n", "\n    # code\n", "\n#tag "])
_piece = st.one_of(_word, _word, _word, _unicode_word, _long_word, _punct, _space, _space, _markdown)

texts = st.lists(_piece, min_size=1, max_size=120).map("".join).filter(lambda t: bool(t.strip()))
raw_texts = st.text(min_size=1, max_size=300).filter(lambda t: bool(t.strip()))
any_text = st.one_of(texts, texts, raw_texts)


@st.composite
def budgets(draw: st.DrawFn) -> tuple[int, int]:
    """A (max_tokens, overlap) pair with overlap < max_tokens."""
    max_tokens = draw(st.integers(1, 40))
    return max_tokens, draw(st.integers(0, max_tokens - 1))


_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(text=any_text, budget=budgets())
def test_recursive_invariants(check_invariants, text: str, budget: tuple[int, int]) -> None:
    max_tokens, overlap = budget
    doc = Document(id="d", text=text, metadata={"src": "x"})
    chunks = RecursiveChunker(max_tokens=max_tokens, overlap=overlap, tokenizer="regex").chunk(doc)
    check_invariants(doc, chunks, max_tokens, "regex")
    # Regex tokens never straddle a cut, so re-tokenising a chunk alone gives the same count.
    assert all(len(_REGEX_TOKEN.findall(c.text)) <= max_tokens for c in chunks)
    assert all(c.metadata == {"src": "x"} for c in chunks)


@_settings
@given(text=any_text, budget=budgets())
def test_recursive_overlap_stays_within_budget(text: str, budget: tuple[int, int]) -> None:
    max_tokens, overlap = budget
    doc = Document(id="d", text=text)
    chunks = RecursiveChunker(max_tokens=max_tokens, overlap=overlap, tokenizer="regex").chunk(doc)
    starts = get_token_counter("regex").token_starts(text)
    for prev, nxt in pairwise(chunks):
        shared = int(np.searchsorted(starts, prev.end) - np.searchsorted(starts, nxt.start))
        if overlap == 0:
            assert nxt.start >= prev.end
        else:
            assert shared <= overlap


@_settings
@given(text=any_text, max_tokens=st.integers(1, 40), overlap_sentences=st.integers(0, 3))
def test_sentence_invariants(check_invariants, text: str, max_tokens: int, overlap_sentences: int) -> None:
    doc = Document(id="d", text=text)
    chunks = SentenceChunker(max_tokens=max_tokens, overlap_sentences=overlap_sentences, tokenizer="regex").chunk(doc)
    check_invariants(doc, chunks, max_tokens, "regex")
    if overlap_sentences == 0:
        assert all(nxt.start >= prev.end for prev, nxt in pairwise(chunks))


@_settings
@given(text=any_text, budget=budgets())
def test_markdown_invariants(check_invariants, text: str, budget: tuple[int, int]) -> None:
    max_tokens, overlap = budget
    doc = Document(id="d", text=text)
    chunks = MarkdownChunker(max_tokens=max_tokens, overlap=overlap, tokenizer="regex").chunk(doc)
    check_invariants(doc, chunks, max_tokens, "regex")
    for c in chunks:
        headings = c.metadata["headings"]
        assert isinstance(headings, list) and all(isinstance(h, str) for h in headings)
        assert len(headings) <= 6


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_text, budget=budgets())
def test_invariants_with_default_tokenizer(
    check_invariants, hf_tokenizer: str, text: str, budget: tuple[int, int]
) -> None:
    max_tokens, overlap = budget
    doc = Document(id="d", text=text)
    for chunker in (
        RecursiveChunker(max_tokens=max_tokens, overlap=overlap, tokenizer=hf_tokenizer),
        SentenceChunker(max_tokens=max_tokens, overlap_sentences=1, tokenizer=hf_tokenizer),
        MarkdownChunker(max_tokens=max_tokens, overlap=overlap, tokenizer=hf_tokenizer),
    ):
        check_invariants(doc, chunker.chunk(doc), max_tokens, hf_tokenizer)


@settings(max_examples=40, deadline=None)
@given(docs=st.lists(any_text, min_size=1, max_size=5), budget=budgets())
def test_chunk_many_matches_chunk(docs: list[str], budget: tuple[int, int]) -> None:
    max_tokens, overlap = budget
    documents = [Document(id=f"d{i}", text=t) for i, t in enumerate(docs)]
    for chunker in (
        RecursiveChunker(max_tokens=max_tokens, overlap=overlap, tokenizer="regex"),
        MarkdownChunker(max_tokens=max_tokens, overlap=overlap, tokenizer="regex"),
        SentenceChunker(max_tokens=max_tokens, tokenizer="regex"),
    ):
        one_by_one = [c for d in documents for c in chunker.chunk(d)]
        assert chunker.chunk_many(documents) == one_by_one
        assert chunker.chunk_many(documents) == chunker.chunk_many(documents)
