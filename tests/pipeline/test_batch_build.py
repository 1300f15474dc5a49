from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit import BM25Index, ConfigError, CorruptIndexError, EmptyCorpusError, FaissIndex, InputError, index_corpus
from ragkit.eval import load_beir
from ragkit.pipeline.batch import STAGING, BatchConfig
from ragkit.pipeline.shards import LEDGER
from ragkit.testing import HashEmbedder

QUERIES = ["which animals breathe with gills", "birds that sing", "honey", "the of and"]


def chunker() -> ragkit.RecursiveChunker:
    return ragkit.RecursiveChunker(max_tokens=10, overlap=2, tokenizer="regex")


def reference(beir_folder: Path) -> ragkit.Collection:
    return ragkit.build_collection(load_beir(beir_folder).documents, chunker=chunker(), embedder=HashEmbedder(dimension=32))


def build(source: Path, out: Path, embedder: Any = None, **options: Any) -> ragkit.pipeline.BuildReport:
    options.setdefault("progress", False)
    return index_corpus(source, out, chunker=chunker(), embedder=embedder or HashEmbedder(dimension=32), shard_docs=3, **options)


def assert_same_results(expected: Any, got: Any) -> None:
    for retriever in (ragkit.DenseRetriever, ragkit.BM25Retriever, ragkit.HybridRetriever):
        a = retriever(expected).search_batch(QUERIES, k=8)
        b = retriever(got).search_batch(QUERIES, k=8)
        assert [[(h.chunk_row, h.doc_id, h.start) for h in hits] for hits in a] == \
               [[(h.chunk_row, h.doc_id, h.start) for h in hits] for hits in b], retriever.__name__
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose([h.score for h in x], [h.score for h in y], rtol=1e-9, atol=1e-12)


def all_scores(collection: Any) -> np.ndarray:
    """Every chunk's inner product with a few probe vectors: equal arrays mean equal stored vectors."""
    probes = HashEmbedder(dimension=32).embed_queries(QUERIES)
    index = collection.index("vector")
    out = np.zeros((len(QUERIES), collection.num_chunks))
    for q, cands in enumerate(index.search_rows(probes, k=collection.num_chunks)):
        out[q, cands.rows] = cands.scores
    return out


def test_streaming_build_equals_one_in_memory_build(beir_folder: Path, tmp_path: Path) -> None:
    report = build(beir_folder, tmp_path / "out")
    assert (report.documents, report.shards, report.shards_resumed) == (13, 5, 0)
    assert not (tmp_path / "out" / STAGING).exists()  # staging removed after success
    got, expected = ragkit.Collection.open(tmp_path / "out"), reference(beir_folder)
    assert got.chunks.equals(expected.chunks)
    assert report.chunks == expected.num_chunks
    np.testing.assert_array_equal(all_scores(got), all_scores(expected))
    assert_same_results(expected, got)
    assert "13 documents" in report.summary()


def test_resume_after_a_crash_continues_from_the_last_completed_shard(beir_folder: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    failing = HashEmbedder(dimension=32)
    calls: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 3:
            raise RuntimeError("simulated crash while embedding shard 2")
        return HashEmbedder.embed_documents(failing, texts)

    monkeypatch.setattr(failing, "embed_documents", embed)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(beir_folder, out, failing)
    ledger = json.loads((out / STAGING / LEDGER).read_text())
    assert sorted(ledger["shards"]) == ["0", "1"]
    resumed_embedder = HashEmbedder(dimension=32)
    report = build(beir_folder, out, resumed_embedder, resume=True)
    assert report.shards_resumed == 2
    done_chunks = sum(e["chunks"] for e in ledger["shards"].values())
    assert resumed_embedder.calls == report.chunks - done_chunks  # only shards 2.. were embedded again
    build(beir_folder, tmp_path / "straight")
    a, b = ragkit.Collection.open(tmp_path / "straight"), ragkit.Collection.open(out)
    assert a.chunks.equals(b.chunks)
    np.testing.assert_array_equal(all_scores(a), all_scores(b))
    assert_same_results(a, b)


KILLER = """
import os, signal, sys
import ragkit
from ragkit.testing import HashEmbedder

class Killer(HashEmbedder):
    n = 0
    def embed_documents(self, texts):
        Killer.n += 1
        if Killer.n == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().embed_documents(texts)
    def get_config(self):
        return {**super().get_config(), "type": "HashEmbedder"}

ragkit.index_corpus(sys.argv[1], sys.argv[2], embedder=Killer(dimension=32), shard_docs=3, progress=False,
                    chunker=ragkit.RecursiveChunker(max_tokens=10, overlap=2, tokenizer="regex"))
"""


def test_resume_after_sigkill_equals_an_uninterrupted_build(beir_folder: Path, tmp_path: Path) -> None:
    script = tmp_path / "killer.py"
    script.write_text(KILLER, encoding="utf-8")
    out = tmp_path / "out"
    paths = (str(Path(ragkit.__file__).parents[1]), os.environ.get("PYTHONPATH"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    proc = subprocess.run([sys.executable, str(script), str(beir_folder), str(out)], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert sorted(json.loads((out / STAGING / LEDGER).read_text())["shards"]) == ["0", "1"]
    assert not (out / "manifest.json").exists()
    report = build(beir_folder, out, resume=True)
    assert report.shards_resumed == 2
    build(beir_folder, tmp_path / "straight")
    a, b = ragkit.Collection.open(tmp_path / "straight"), ragkit.Collection.open(out)
    assert a.chunks.equals(b.chunks)
    np.testing.assert_array_equal(all_scores(a), all_scores(b))
    assert_same_results(a, b)


def _interrupted(beir_folder: Path, out: Path) -> None:
    """A build that fails while embedding shard 2: shards 0 and 1 are done, nothing is in the output yet."""
    failing = HashEmbedder(dimension=32)
    calls: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 3:
            raise RuntimeError("simulated crash while embedding shard 2")
        return HashEmbedder.embed_documents(failing, texts)

    failing.embed_documents = embed  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(beir_folder, out, failing)
    assert sorted(json.loads((out / STAGING / LEDGER).read_text())["shards"]) == ["0", "1"]


def test_resume_with_other_settings_is_refused(beir_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _interrupted(beir_folder, out)
    with pytest.raises(ConfigError, match="other settings"):
        build(beir_folder, out, HashEmbedder(dimension=16), resume=True)


def test_without_resume_a_build_starts_over(beir_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _interrupted(beir_folder, out)
    embedder = HashEmbedder(dimension=32)
    report = build(beir_folder, out, embedder)
    assert report.shards_resumed == 0 and embedder.calls == report.chunks


def test_resume_detects_a_damaged_shard_file(beir_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _interrupted(beir_folder, out)
    shard = out / STAGING / "shard-00001.arrow"
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(CorruptIndexError, match="shard-00001.arrow"):
        build(beir_folder, out, resume=True)


def test_foreign_output_folder_is_refused_before_any_work(beir_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    embedder = HashEmbedder(dimension=32)
    with pytest.raises(ragkit.IndexFormatError, match="other files"):
        build(beir_folder, out, embedder)
    assert embedder.calls == 0 and (out / "notes.txt").read_text() == "mine"


def test_duplicate_ids_across_shards(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": f"text {n}"}) + "\n" for n, i in enumerate(["a", "b", "c", "a"])))
    with pytest.raises(InputError, match="Duplicate document id 'a'"):
        build(corpus, tmp_path / "out")


def test_a_corpus_without_text_is_empty(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("  \n")
    with pytest.raises(EmptyCorpusError):
        build(tmp_path / "docs", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyCorpusError, match="holds no documents"):
        build(tmp_path / "empty", tmp_path / "out2")


def test_bm25_only_build_needs_no_embedder(beir_folder: Path, tmp_path: Path) -> None:
    report = index_corpus(beir_folder, tmp_path / "out", chunker=chunker(), indexes=[BM25Index()], shard_docs=4, progress=False)
    col = ragkit.Collection.open(tmp_path / "out")
    assert sorted(col.indexes) == ["bm25"] and col.embedder is None and report.embed_seconds == 0.0
    assert ragkit.BM25Retriever(col).search("gills", k=1)[0].doc_id in {"fish", "sharks"}


def test_sharded_output_searches_like_one_collection(beir_folder: Path, tmp_path: Path) -> None:
    report = build(beir_folder, tmp_path / "out", keep_shards=True)
    assert report.sharded
    sharded = ragkit.open_collection(tmp_path / "out")
    assert isinstance(sharded, ragkit.ShardedCollection) and len(sharded.shards) == 5
    expected = reference(beir_folder)
    assert sharded.chunks.equals(expected.chunks)
    assert_same_results(expected, sharded)
    with pytest.raises(ConfigError, match="sharded collection"):
        build(beir_folder, tmp_path / "out")  # a merged build will not overwrite a sharded one


def test_engine_and_options_are_validated(beir_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="engine"):
        BatchConfig(engine="spark")
    with pytest.raises(ConfigError, match="shard_docs"):
        BatchConfig(shard_docs=0)
    with pytest.raises(ConfigError, match="resume"):
        BatchConfig(resume="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="config= and options"):
        index_corpus(beir_folder, tmp_path / "o", config=BatchConfig(), shard_docs=2)
    with pytest.raises(ConfigError, match="unknown kind"):
        index_corpus(beir_folder, tmp_path / "o", indexes={"x": FaissIndex(), "y": object()}, progress=False)
