"""``sync_collection``: only changed documents are rewritten, and the result equals a fresh build."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragkit import BM25Index, BM25Retriever, Collection, ConfigError, DenseRetriever, FaissIndex, RecursiveChunker
from ragkit.cli import main
from ragkit.embedding.hashing import HashEmbedder
from ragkit.pipeline import BatchConfig, index_corpus, sync_collection
from ragkit.pipeline.sync import HashedSource

WORDS = ["router", "reset", "password", "cable", "light", "green", "flash", "memory", "antenna", "firmware"]
QUERIES = ["reset password", "green light", "flash memory firmware", "antenna cable"]


def _write(path: Path, corpus: dict[str, tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": t, "lang": lang}) + "\n" for i, (t, lang) in sorted(corpus.items())),
                    encoding="utf-8")
    return path


def _settings() -> dict:  # type: ignore[type-arg]
    return {"chunker": RecursiveChunker(max_tokens=8, overlap=2, tokenizer="regex"), "embedder": HashEmbedder(dimension=16),
            "indexes": [FaissIndex("Flat"), BM25Index()], "config": BatchConfig(progress=False, shard_docs=3)}


def _state(path: Path) -> tuple[dict, dict, dict]:  # type: ignore[type-arg]
    with Collection.open(path, embedder=HashEmbedder(dimension=16)) as col:
        alive = col.alive
        rows = [r for r, a in zip(col.chunks.to_pylist(), alive, strict=True) if a]
        chunks = {f"{r['doc_id']}#{r['position']}": (r["text"], r["start"], r["end"], json.dumps(r["metadata"], sort_keys=True))
                  for r in rows}
        k = max(1, col.num_chunks)
        bm25 = {q: {f"{h.doc_id}#{h.position}": round(h.score, 6) for h in BM25Retriever(col).search(q, k=k)} for q in QUERIES}
        dense = {q: {f"{h.doc_id}#{h.position}": round(h.score, 5) for h in DenseRetriever(col).search(q, k=k)} for q in QUERIES}
    return chunks, bm25, dense


def _text(words: list[int]) -> str:
    return " ".join(WORDS[w] for w in words) + "."


doc_text = st.lists(st.integers(0, len(WORDS) - 1), min_size=1, max_size=14).map(_text)
step = st.lists(st.tuples(st.sampled_from(["add", "change", "meta", "remove"]), st.integers(0, 30), doc_text),
                min_size=1, max_size=6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dictionaries(st.sampled_from([f"d{i}" for i in range(8)]), doc_text, min_size=1, max_size=6),
       steps=st.lists(step, min_size=1, max_size=3))
def test_sync_equals_a_fresh_build_over_random_changes(tmp_path_factory: pytest.TempPathFactory, start: dict, steps: list) -> None:  # type: ignore[type-arg]
    tmp = tmp_path_factory.mktemp("sync")
    corpus = {i: (t, "en") for i, t in start.items()}
    src, out = tmp / "c.jsonl", tmp / "col"
    first = sync_collection(_write(src, corpus), out, **_settings())
    assert first.built and first.added == len(corpus)
    for changes in steps:
        before = dict(corpus)
        for op, n, text in changes:
            ids = sorted(corpus)
            if op == "add":
                corpus[f"n{n}"] = (text, "en")
            elif op == "change" and ids:
                corpus[ids[n % len(ids)]] = (text, corpus[ids[n % len(ids)]][1])
            elif op == "meta" and ids:
                key = ids[n % len(ids)]
                corpus[key] = (corpus[key][0], "fr" if corpus[key][1] == "en" else "en")
            elif op == "remove" and len(ids) > 1:
                del corpus[ids[n % len(ids)]]
        report = sync_collection(_write(src, corpus), out, **_settings())
        assert report.added == len(set(corpus) - set(before))
        assert report.removed == len(set(before) - set(corpus))
        assert report.changed == sum(1 for i in set(corpus) & set(before) if corpus[i] != before[i])
        assert report.unchanged == sum(1 for i in set(corpus) & set(before) if corpus[i] == before[i])
    fresh = tmp / "fresh"
    sync_collection(src, fresh, **_settings())
    got, want = _state(out), _state(fresh)
    assert got[0] == want[0]  # chunks: text, offsets, metadata (content hashes included)
    for a, b in ((got[1], want[1]), (got[2], want[2])):  # BM25 and dense scores of every chunk for every query
        for q in QUERIES:
            assert a[q].keys() == b[q].keys()
            assert all(math.isclose(a[q][c], b[q][c], rel_tol=1e-4, abs_tol=1e-5) for c in a[q])


def test_unchanged_documents_are_not_embedded_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = HashEmbedder.embed_documents

    def counting(self, texts):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return real(self, texts)

    corpus = {f"d{i}": (_text([i % 10, (i * 3) % 10]), "en") for i in range(20)}
    src = _write(tmp_path / "c.jsonl", corpus)
    options = _settings()
    sync_collection(src, tmp_path / "col", **options)
    corpus["d3"] = ("a changed text about the firmware.", "en")
    del corpus["d5"]
    corpus["new"] = ("a brand new document.", "en")
    monkeypatch.setattr(HashEmbedder, "embed_documents", counting)
    report = sync_collection(_write(src, corpus), tmp_path / "col", embedder=HashEmbedder(dimension=16))
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 18)
    assert sum(calls) == report.chunks_added and report.chunks_added <= 4
    again = sync_collection(src, tmp_path / "col")
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 20)


def test_sync_refuses_other_settings_and_sharded_collections(tmp_path: Path) -> None:
    src = _write(tmp_path / "c.jsonl", {"a": ("reset the router.", "en")})
    sync_collection(src, tmp_path / "col", **_settings())
    with pytest.raises(ConfigError, match="chunked with"):
        sync_collection(src, tmp_path / "col", chunker=RecursiveChunker(max_tokens=50, tokenizer="regex"))
    with pytest.raises(ConfigError, match="indexes"):
        sync_collection(src, tmp_path / "col", indexes=[BM25Index(k1=0.9)], embedder=HashEmbedder(dimension=16))
    index_corpus(HashedSource(open_src(src)), tmp_path / "sharded", indexes=[BM25Index()], keep_shards=True, progress=False)
    with pytest.raises(ConfigError, match="sharded"):
        sync_collection(src, tmp_path / "sharded", indexes=[BM25Index()])


def open_src(path: Path):  # type: ignore[no-untyped-def]
    from ragkit.pipeline import open_source

    return open_source(path)


def test_a_collection_built_without_hashes_is_rewritten_once(tmp_path: Path) -> None:
    src = _write(tmp_path / "c.jsonl", {"a": ("reset the router.", "en"), "b": ("green light.", "en")})
    index_corpus(src, tmp_path / "col", indexes=[BM25Index()], progress=False)
    assert sync_collection(src, tmp_path / "col").changed == 2
    assert sync_collection(src, tmp_path / "col").unchanged == 2


def test_cli_sync_reports_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "c.jsonl", {"a": ("reset the router.", "en"), "b": ("green light.", "en")})
    out = tmp_path / "col"
    argv = ["index", str(src), str(out), "--no-vectors", "--no-progress", "--sync"]
    assert main(argv) == 0
    assert "built 2 added" in capsys.readouterr().out
    _write(src, {"a": ("reset the router now.", "en"), "c": ("flash memory.", "en")})
    assert main(argv) == 0
    assert "1 added, 1 changed, 1 removed, 0 unchanged" in capsys.readouterr().out
    assert main(["index", str(src), str(out), "--no-vectors", "--no-progress", "--sync", "--language", "de"]) == 2
    assert "sync with the same settings" in capsys.readouterr().err


def test_a_sync_that_fails_while_saving_leaves_the_previous_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ragkit.store import folder

    src = _write(tmp_path / "c.jsonl", {"a": ("reset the router.", "en"), "b": ("green light.", "en")})
    out = tmp_path / "col"
    sync_collection(src, out, **_settings())
    before = _state(out)
    _write(src, {"a": ("reset the router now.", "en"), "c": ("flash memory.", "en")})
    real = folder.publish_version

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(folder, "publish_version", crash)
    with pytest.raises(OSError, match="disk full"):
        sync_collection(src, out, embedder=HashEmbedder(dimension=16))
    assert _state(out) == before
    monkeypatch.setattr(folder, "publish_version", real)
    report = sync_collection(src, out, embedder=HashEmbedder(dimension=16))
    assert (report.added, report.changed, report.removed) == (1, 1, 1)
