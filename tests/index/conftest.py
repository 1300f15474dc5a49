"""Shared data of the BM25 index tests: a Zipf-distributed toy corpus over 80 words, and a plain analyser."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragkit import BM25Tokenizer

TOKENIZER = BM25Tokenizer(stemmer=None, stopwords=None)  # the words as written: w0 ... w79


def zipf_corpus(n_docs: int, seed: int, n_queries: int, extra: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """``n_docs`` texts of 1-19 words and ``n_queries`` queries of 1-4 words (Zipf over 80 words), then ``extra``."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(80)]

    def text(low: int, high: int) -> str:
        return " ".join(words[(int(z) - 1) % 80] for z in rng.zipf(1.3, size=int(rng.integers(low, high))))

    texts = [text(1, 20) for _ in range(n_docs)]
    return texts, [text(1, 5) for _ in range(n_queries)] + list(extra)
