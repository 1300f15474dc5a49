"""Indexing's term ids (BM25Tokenizer.split + term_ids: stop words and stemming once per distinct token) are
exactly tokenize()'s terms, numbered in order of first occurrence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragkit.core.errors import InputError
from ragkit.index.bm25 import BM25Tokenizer

WORDS = ["the", "a", "of", "running", "runs", "ran", "Cats", "cat", "naïve", "Straße", "重置密码", "如何", "x",
         "ÉCOLE", "école", "and", "is", "42", "\ud800bad", "под", "водой", "の", "日本語", "__init__", ""]
TEXTS = st.lists(st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=12).map(
    lambda ws: " ".join(ws) + ("!" if len(ws) % 2 else "")), max_size=8)
TOKENIZERS = [BM25Tokenizer(), BM25Tokenizer(stopwords=None), BM25Tokenizer(stemmer=None), BM25Tokenizer(lowercase=False),
              BM25Tokenizer(cjk="none"), BM25Tokenizer.for_language("de"), BM25Tokenizer(stopwords=None, stemmer=None)]


def _reference(tokenizer: BM25Tokenizer, texts: list[str], vocabulary: dict[str, int]) -> tuple[list[int], list[int]]:
    terms = tokenizer.tokenize(texts)
    return [vocabulary.setdefault(t, len(vocabulary)) for q in terms for t in q], [len(q) for q in terms]


@settings(max_examples=200, deadline=None)
@given(TEXTS, TEXTS, st.sampled_from(range(len(TOKENIZERS))))
def test_term_ids_are_the_tokenized_terms(first: list[str], second: list[str], which: int) -> None:
    tokenizer = TOKENIZERS[which]
    got_vocab: dict[str, int] = {}
    want_vocab: dict[str, int] = {}
    for texts in (first, second):  # the second batch extends the first's vocabulary
        ids, counts = tokenizer.term_ids(tokenizer.split(texts), got_vocab)
        want_ids, want_counts = _reference(tokenizer, texts, want_vocab)
        assert ids.dtype == np.int64 and counts.dtype == np.int64
        assert ids.tolist() == want_ids and counts.tolist() == want_counts
        assert list(got_vocab.items()) == list(want_vocab.items())


def test_split_checks_its_input() -> None:
    with pytest.raises(InputError, match="single str"):
        BM25Tokenizer().split("a text")
    with pytest.raises(InputError, match="Text 1 is a bytes"):
        BM25Tokenizer().split(["fine", b"bytes"])  # type: ignore[list-item]
    ids, counts = BM25Tokenizer().term_ids([], {})
    assert ids.shape == (0,) and counts.shape == (0,)
