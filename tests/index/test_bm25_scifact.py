"""BM25 parity with rank-bm25 on the real SciFact corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from ragkit import BM25Index, BM25Tokenizer
from ragkit.eval import load_beir


def test_okapi_matches_rank_bm25_on_scifact(scifact_dir: Path) -> None:
    data = load_beir(scifact_dir)
    texts = [d.text for d in data.documents]
    tokenizer = BM25Tokenizer(stemmer="english")
    index = BM25Index("okapi", tokenizer=tokenizer).build(texts)
    reference = BM25Okapi(tokenizer.tokenize(texts))
    queries = list(data.queries.values())[:60]
    worst = 0.0
    for query in queries:
        expected = reference.get_scores(tokenizer.tokenize([query])[0])
        got = index.get_scores(query)
        worst = max(worst, float(np.abs(got - expected).max()))
        top = index.search_rows([query], k=10)[0]
        # same top-10 scores (ties may order differently), each the reference score of its row
        np.testing.assert_allclose(top.scores, np.sort(expected)[::-1][: len(top)], atol=1e-6)
        np.testing.assert_allclose(top.scores, expected[top.rows], atol=1e-6)
    assert worst < 1e-6
