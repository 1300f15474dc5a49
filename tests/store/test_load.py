"""A small version of benchmarks/load_hybrid.py: 8 threads of hybrid queries, no errors, single-threaded results."""

from __future__ import annotations

from pathlib import Path

import ragkit
from ragkit import Collection, HybridRetriever, Principal
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries
from ragkit.testing.load import Request, fingerprint, run_load


def test_eight_threads_of_hybrid_queries_match_the_single_threaded_results(tmp_path: Path) -> None:
    built = ragkit.build_collection(synthetic_documents(3000, seed=4), chunker=ragkit.RecursiveChunker(tokenizer="regex"),
                                    embedder=HashEmbedder(dimension=32), indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
    built.set_access_field("acl")
    with Collection.open(built.save(tmp_path / "col")) as collection:
        hybrid = HybridRetriever(collection)
        principals = [Principal(f"u{i}", groups=[f"g{i}"]) for i in range(4)]
        bound = {p: hybrid.bind(p) for p in principals}
        requests: list[Request] = [
            (q, {"lang": "en"} if i % 3 == 0 else None, principals[i % 4]) for i, q in enumerate(synthetic_queries(120, seed=2))
        ]

        def search(request: Request) -> list[ragkit.Hit]:
            query, filters, principal = request
            return bound[principal].search(query, k=10, filters=filters)

        expected = {i: fingerprint(search(r)) for i, r in enumerate(requests)}
        assert sum(len(v) for v in expected.values()) > 500  # the requests do find things
        report = run_load(search, requests, threads=8, per_thread=60, expected=expected)
    assert report.queries == 480
    assert report.errors == 0, report.first_error
    assert report.mismatches == 0
    assert report.p99_ms >= report.p50_ms > 0


def test_the_load_driver_counts_errors_and_mismatches() -> None:
    calls = {"n": 0}

    def flaky(request: Request) -> list[ragkit.Hit]:
        calls["n"] += 1
        if request[0] == "boom":
            raise RuntimeError("broken")
        return []

    requests: list[Request] = [("boom", None, None), ("fine", None, None)]
    report = run_load(flaky, requests, threads=2, per_thread=4, expected={0: (), 1: ((1, 1.0),)})
    assert calls["n"] == 8
    assert report.errors == 4 and report.mismatches == 4 and report.first_error == "RuntimeError: broken"
