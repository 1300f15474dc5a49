"""Shared checks for the chunking tests: the invariants every chunker guarantees."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np
import pytest

from ragkit.chunking import get_token_counter
from ragkit.core.documents import Chunk, Document

InvariantCheck = Callable[[Document, Sequence[Chunk], int, str], None]


def _token_count(starts: np.ndarray, start: int, end: int) -> int:
    return int(np.searchsorted(starts, end) - np.searchsorted(starts, start))


def assert_chunk_invariants(document: Document, chunks: Sequence[Chunk], max_tokens: int, tokenizer: str) -> None:
    """Offsets, trimming, order, coverage and the token budget, checked independently."""
    text = document.text
    starts = get_token_counter(tokenizer).token_starts(text)
    assert chunks, "a document with content must give at least one chunk"
    assert [c.position for c in chunks] == list(range(len(chunks)))
    covered = np.zeros(len(text), dtype=bool)
    for c in chunks:
        assert c.doc_id == document.id
        assert text[c.start : c.end] == c.text
        assert c.text, "empty chunk"
        assert c.text == c.text.strip(), f"untrimmed chunk {c.text!r}"
        # the one documented exception: a single character on which more tokens than the budget begin
        # (byte-level tokenizers split some characters into several tokens) cannot be cut
        assert _token_count(starts, c.start, c.end) <= max_tokens or len(c.text) == 1, c.text
        covered[c.start : c.end] = True
    for prev, nxt in pairwise(chunks):
        assert prev.start < nxt.start and prev.end < nxt.end, "chunks must advance through the text"
    missed = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missed, f"characters outside every chunk at {missed[:10]}"


@pytest.fixture(scope="session")
def check_invariants() -> InvariantCheck:
    """The invariant checker, as a session fixture so hypothesis tests can use it."""
    return assert_chunk_invariants


@pytest.fixture(scope="session")
def hf_tokenizer() -> str:
    """The default tokenizer spec, loaded once (offline, from the installed model package)."""
    get_token_counter("all-MiniLM-L6-v2")
    return "all-MiniLM-L6-v2"
