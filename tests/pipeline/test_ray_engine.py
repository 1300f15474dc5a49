"""The Ray Data engine on a local 2-CPU Ray instance gives the same collection as the local engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit.testing import HashEmbedder

ray = pytest.importorskip("ray", reason="the Ray engine needs the 'ray' extra: pip install 'ragkit[ray]'")
pytest.importorskip("ray.data")

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

QUERIES = ["which animals breathe with gills", "birds that sing", "honey"]


def _build(source: Path, out: Path, engine: str, **options: object) -> ragkit.pipeline.BuildReport:
    return ragkit.index_corpus(source, out, chunker=ragkit.RecursiveChunker(max_tokens=10, overlap=2, tokenizer="regex"),
                               embedder=HashEmbedder(dimension=32), engine=engine, shard_docs=3, progress=False, **options)


def test_ray_build_equals_local_build(beir_folder: Path, tmp_path: Path, local_ray: None) -> None:
    report = _build(beir_folder, tmp_path / "ray", "ray")
    assert (report.engine, report.shards, report.documents) == ("ray", 5, 13)
    _build(beir_folder, tmp_path / "local", "local")
    a, b = ragkit.Collection.open(tmp_path / "local"), ragkit.Collection.open(tmp_path / "ray")
    assert a.chunks.equals(b.chunks)
    for retriever in (ragkit.DenseRetriever, ragkit.BM25Retriever, ragkit.HybridRetriever):
        x, y = retriever(a).search_batch(QUERIES, k=6), retriever(b).search_batch(QUERIES, k=6)
        assert [[(h.chunk_row, h.score) for h in hits] for hits in x] == [[(h.chunk_row, h.score) for h in hits] for hits in y]


def test_ray_sharded_build_and_resume(beir_folder: Path, tmp_path: Path, local_ray: None) -> None:
    out = tmp_path / "ray"
    _build(beir_folder, out, "ray", keep_shards=True, keep_staging=True)
    report = _build(beir_folder, out, "ray", keep_shards=True, resume=True)  # everything done: nothing re-embedded
    assert report.shards_resumed == 5
    _build(beir_folder, tmp_path / "local", "local", keep_shards=True)
    a, b = ragkit.open_collection(tmp_path / "local"), ragkit.open_collection(out)
    assert isinstance(b, ragkit.ShardedCollection)
    x = ragkit.HybridRetriever(a).search_batch(QUERIES, k=6)
    y = ragkit.HybridRetriever(b).search_batch(QUERIES, k=6)
    assert [[h.chunk_row for h in hits] for hits in x] == [[h.chunk_row for h in hits] for hits in y]
    np.testing.assert_allclose([h.score for hits in x for h in hits], [h.score for hits in y for h in hits])
