from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit import BM25Index, FaissIndex, ShardedCollection
from ragkit.store.sharded import LAYOUT
from ragkit.testing import HashEmbedder

QUERIES = ["cats and dogs", "animals that fly or swim", "legs", "purr sleep day", "unknownword"]


def _docs() -> list[ragkit.Document]:
    rng = np.random.default_rng(3)
    words = np.array(["cat", "dog", "bird", "fish", "snake", "horse", "fly", "swim", "legs", "purr", "sleep", "day",
                      "bark", "sing", "nest", "gills", "river", "ocean"])
    return [ragkit.Document(id=f"d{i}", text=" ".join(rng.choice(words, size=int(rng.integers(3, 25)))),
                            metadata={"group": "even" if i % 2 == 0 else "odd"}) for i in range(60)]


def _pair(tmp_path: Path, variant: str) -> tuple[ragkit.Collection, ShardedCollection]:
    docs = _docs()
    chunker = ragkit.RecursiveChunker(max_tokens=12, overlap=0, tokenizer="regex")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": d.id, "text": d.text, "group": d.metadata["group"]}) + "\n" for d in docs))
    source = ragkit.pipeline.JsonlSource(corpus, metadata_fields=["group"])
    indexes = [FaissIndex(), BM25Index(variant)]  # type: ignore[arg-type]
    ragkit.index_corpus(source, tmp_path / "sharded", chunker=chunker, embedder=HashEmbedder(dimension=16),
                        indexes=indexes, shard_docs=13, keep_shards=True, progress=False)
    single = ragkit.build_collection(docs, chunker=chunker, embedder=HashEmbedder(dimension=16),
                                     indexes=[FaissIndex(), BM25Index(variant)])  # type: ignore[arg-type]
    return single, ShardedCollection.open(tmp_path / "sharded")


@pytest.mark.parametrize("variant", ["lucene", "okapi", "bm25+", "bm25l"])
def test_bm25_with_global_statistics_scores_like_one_index(tmp_path: Path, variant: str) -> None:
    single, sharded = _pair(tmp_path, variant)
    assert len(sharded.shards) == 5 and sharded.num_chunks == single.num_chunks
    k = single.num_chunks
    expected = single.index("bm25").search_rows(QUERIES, k)
    got = sharded.index("bm25").search_rows(QUERIES, k)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g.scores, e.scores, rtol=1e-12)
        assert set(g.rows.tolist()) == set(e.rows.tolist())
    # whole-row scores: each row's score equals the single index's score for it
    for q in range(len(QUERIES)):
        full = single.index("bm25").get_scores(QUERIES[q])
        np.testing.assert_allclose(got[q].scores, full[got[q].rows], rtol=1e-12)
    assert len(got[-1]) == 0  # unknown words find nothing


def test_dense_and_hybrid_merge_per_shard_top_k(tmp_path: Path) -> None:
    single, sharded = _pair(tmp_path, "lucene")
    for retriever in (ragkit.DenseRetriever, ragkit.BM25Retriever, ragkit.HybridRetriever):
        a = retriever(single).search_batch(QUERIES[:4], k=7)
        b = retriever(sharded).search_batch(QUERIES[:4], k=7)
        assert [[h.chunk_row for h in x] for x in a] == [[h.chunk_row for h in x] for x in b]
        assert [[h.text for h in x] for x in a] == [[h.text for h in x] for x in b]
        assert [[{n: s.rank for n, s in h.legs.items()} for h in x] for x in a] == \
               [[{n: s.rank for n, s in h.legs.items()} for h in x] for x in b]
        for x, y in zip(a, b, strict=True):  # scores equal up to summation order
            np.testing.assert_allclose([s.score for h in x for s in h.legs.values()],
                                       [s.score for h in y for s in h.legs.values()], rtol=1e-12)


def test_filters_apply_inside_every_shard(tmp_path: Path) -> None:
    single, sharded = _pair(tmp_path, "lucene")
    flt = {"group": "odd"}
    for retriever in (ragkit.DenseRetriever, ragkit.BM25Retriever):
        a = retriever(single).search("cats and dogs", k=10, filters=flt)
        b = retriever(sharded).search("cats and dogs", k=10, filters=flt)
        assert [h.chunk_row for h in a] == [h.chunk_row for h in b]
        assert all(h.metadata["group"] == "odd" for h in b) and len(b) == 10


def test_per_shard_timings_are_reported(tmp_path: Path) -> None:
    _, sharded = _pair(tmp_path, "lucene")
    ragkit.HybridRetriever(sharded).search("cats", k=3)
    timings = sharded.timings()
    assert sorted(timings) == ["bm25", "vector"]
    assert all(len(t) == 5 and all(s >= 0 for s in t) for t in timings.values())


def test_evaluation_runs_on_a_sharded_collection(tmp_path: Path) -> None:
    single, sharded = _pair(tmp_path, "lucene")
    queries = {"q1": "cats and dogs", "q2": "legs"}
    run_a = ragkit.pipeline.retrieve_run(ragkit.BM25Retriever(single), queries, depth=20)
    run_b = ragkit.pipeline.retrieve_run(ragkit.BM25Retriever(sharded), queries, depth=20)
    assert run_a.keys() == run_b.keys()
    for q in run_a:
        assert run_a[q].keys() == run_b[q].keys()
        np.testing.assert_allclose([run_a[q][d] for d in run_a[q]], [run_b[q][d] for d in run_a[q]], rtol=1e-12)


def test_damaged_layouts_are_reported(tmp_path: Path) -> None:
    _, sharded = _pair(tmp_path, "lucene")
    root = sharded.root
    layout = json.loads((root / LAYOUT).read_text())
    layout["shards"][0]["chunks"] += 1
    (root / LAYOUT).write_text(json.dumps(layout))
    with pytest.raises(ragkit.CorruptIndexError, match="shard-00000"):
        ShardedCollection.open(root)
    (root / LAYOUT).write_text("{}")
    with pytest.raises(ragkit.IndexFormatError, match="not a ragkit sharded-collection"):
        ShardedCollection.open(root)
    with pytest.raises(ragkit.IndexFormatError, match="no readable"):
        ShardedCollection.open(tmp_path)
    with pytest.raises(ragkit.InputError, match="no index 'x'"):
        sharded.index("x")


def test_sharded_search_traces_and_a_bound_principal_see_every_shard(tmp_path: Path) -> None:
    from ragkit.observe import Trace

    single, sharded = _pair(tmp_path, "lucene")
    trace = Trace()
    a = ragkit.HybridRetriever(single).search("cats and dogs", k=5)
    b = ragkit.HybridRetriever(sharded).search("cats and dogs", k=5, trace=trace)
    assert [h.chunk_row for h in a] == [h.chunk_row for h in b]
    names = [s.name for s in trace.stages]
    assert "bm25.tokenize" in names and "dense.search" in names and "fusion" in names
    # without an access field, binding a principal changes nothing
    bound = ragkit.HybridRetriever(sharded).bind(ragkit.Principal("u1", groups=["g"]))
    assert [h.chunk_row for h in bound.search("cats and dogs", k=5)] == [h.chunk_row for h in b]


def test_a_layout_written_before_shard_versions_opens_and_searches_the_same(tmp_path: Path) -> None:
    _, sharded = _pair(tmp_path, "lucene")
    before = ragkit.HybridRetriever(sharded).search_batch(QUERIES[:4], k=6)
    sharded.close()
    root = tmp_path / "sharded"
    layout = json.loads((root / LAYOUT).read_text())
    for entry in layout["shards"]:
        entry.pop("version")  # the format as 0.1 wrote it
    (root / LAYOUT).write_text(json.dumps(layout))
    with ShardedCollection.open(root) as old:
        after = ragkit.HybridRetriever(old).search_batch(QUERIES[:4], k=6)
    assert [[(h.chunk_row, h.score) for h in x] for x in after] == [[(h.chunk_row, h.score) for h in x] for x in before]


def test_a_sharded_collection_is_read_only_with_a_clear_error(tmp_path: Path) -> None:
    _, sharded = _pair(tmp_path, "lucene")
    for change in (lambda: sharded.add([]), lambda: sharded.delete(["d1#0"]), lambda: sharded.save(tmp_path / "x"),
                   lambda: sharded.set_access_field("group"), lambda: sharded.index("vector").delete([0])):
        with pytest.raises(ragkit.ReadOnlyError, match="Collection.open"):
            change()
