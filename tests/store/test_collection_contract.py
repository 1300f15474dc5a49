"""The collection contract: a single collection and a sharded one built from the same corpus answer identically.

One test class, parametrised over the storage kind; every case compares against one
in-memory build of the whole corpus (the reference), by chunk identity and score.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit import BM25Index, Collection, FaissIndex, Principal, ShardedCollection
from ragkit.core.errors import AccessError, IndexFormatError, InputError, ReadOnlyError
from ragkit.testing import HashEmbedder, check_retriever

QUERIES = ["cats and dogs", "animals that fly or swim", "legs river", "purr sleep day", "ocean gills fish"]
WORDS = np.array(["cat", "dog", "bird", "fish", "snake", "horse", "fly", "swim", "legs", "purr", "sleep", "day",
                  "bark", "sing", "nest", "gills", "river", "ocean", "and", "the"])
GROUPS = ["red", "green", "blue"]
VARIANTS = ["lucene", "okapi", "bm25+", "bm25l"]
FILTERS: list[dict[str, Any] | None] = [None, {"group": "odd"}, {"year": {"$gte": 2015}}, {"doc_id": {"$in": ["d3", "d17", "d40"]}}]


def _docs(n: int = 64) -> list[ragkit.Document]:
    rng = np.random.default_rng(11)
    return [ragkit.Document(id=f"d{i}", text=" ".join(rng.choice(WORDS, size=int(rng.integers(3, 30)))),
                            metadata={"group": "even" if i % 2 == 0 else "odd", "year": 2000 + i % 25,
                                      "acl": [GROUPS[i % 3]] + (["staff"] if i % 5 == 0 else [])})
            for i in range(n)]


def _chunker() -> ragkit.RecursiveChunker:
    return ragkit.RecursiveChunker(max_tokens=10, overlap=0, tokenizer="regex")


def _embedder() -> HashEmbedder:
    return HashEmbedder(dimension=16)


def _indexes(variant: str) -> list[Any]:
    return [FaissIndex("Flat"), BM25Index(variant)]  # type: ignore[arg-type]


def _write_jsonl(path: Path, docs: list[ragkit.Document]) -> Path:
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text, **d.metadata}) + "\n" for d in docs))
    return path


def _reference(variant: str, docs: list[ragkit.Document] | None = None) -> Collection:
    return ragkit.build_collection(docs or _docs(), chunker=_chunker(), embedder=_embedder(), indexes=_indexes(variant))


def _storage(kind: str, tmp: Path, variant: str, docs: list[ragkit.Document] | None = None) -> Any:
    docs = docs or _docs()
    if kind == "single":
        _reference(variant, docs).save(tmp / "single")
        return Collection.open(tmp / "single", embedder=_embedder())
    source = ragkit.pipeline.JsonlSource(_write_jsonl(tmp / "corpus.jsonl", docs), metadata_fields=["group", "year", "acl"])
    ragkit.index_corpus(source, tmp / "sharded", chunker=_chunker(), embedder=_embedder(), indexes=_indexes(variant),
                        shard_docs=15, keep_shards=True, progress=False)
    return ShardedCollection.open(tmp / "sharded", embedder=_embedder())


def _same(expected: list[list[ragkit.Hit]], got: list[list[ragkit.Hit]], rtol: float = 1e-6) -> None:
    """Same chunks in the same order with the same leg ranks; scores equal (float32 vectors: to 1e-6 relative,
    and 1e-6 absolute where a z-scored fused score lies near 0)."""
    assert [[(h.doc_id, h.position, h.start, h.end, h.text) for h in x] for x in got] == \
           [[(h.doc_id, h.position, h.start, h.end, h.text) for h in x] for x in expected]
    for x, y in zip(expected, got, strict=True):
        np.testing.assert_allclose([h.score for h in y], [h.score for h in x], rtol=rtol, atol=1e-12 if rtol < 1e-9 else 1e-6)
        assert [{n: s.rank for n, s in h.legs.items()} for h in y] == [{n: s.rank for n, s in h.legs.items()} for h in x]


def _same_up_to_ties(expected: list[list[ragkit.Hit]], got: list[list[ragkit.Hit]]) -> None:
    """After an update rows are numbered differently, and ties break by row: equal scores, and the same
    chunk wherever a score is tied with no other."""
    for x, y in zip(expected, got, strict=True):
        np.testing.assert_allclose([h.score for h in y], [h.score for h in x], rtol=1e-6, atol=1e-12)
        scores = np.array([h.score for h in x])
        for i, h in enumerate(x):
            if (np.abs(scores - h.score) < 1e-6).sum() == 1 and h.score > scores[-1] + 1e-6:
                assert (h.doc_id, h.position) == (y[i].doc_id, y[i].position)


@pytest.fixture(params=["single", "sharded"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestCollectionContract:
    @pytest.mark.parametrize("variant", VARIANTS)
    def test_bm25_every_variant_with_and_without_filters(self, kind: str, tmp_path: Path, variant: str) -> None:
        ref, storage = _reference(variant), _storage(kind, tmp_path, variant)
        for flt in FILTERS:
            for k in (3, 10, 1000):
                _same(ragkit.BM25Retriever(ref).search_batch(QUERIES, k, flt),
                      ragkit.BM25Retriever(storage).search_batch(QUERIES, k, flt), rtol=1e-12)

    def test_dense_and_hybrid(self, kind: str, tmp_path: Path) -> None:
        ref, storage = _reference("lucene"), _storage(kind, tmp_path, "lucene")
        for make in (ragkit.DenseRetriever, ragkit.HybridRetriever,
                     lambda c: ragkit.HybridRetriever(c, fusion="score", candidates=7)):
            for flt in FILTERS:
                _same(make(ref).search_batch(QUERIES, 8, flt), make(storage).search_batch(QUERIES, 8, flt))

    def test_counts_and_rows(self, kind: str, tmp_path: Path) -> None:
        ref, storage = _reference("lucene"), _storage(kind, tmp_path, "lucene")
        assert (storage.num_rows, storage.num_chunks, storage.num_documents) == (ref.num_rows, ref.num_chunks, ref.num_documents)
        assert storage.alive.all() and storage.chunks.num_rows == ref.chunks.num_rows

    def test_the_retriever_contract_holds(self, kind: str, tmp_path: Path) -> None:
        storage = _storage(kind, tmp_path, "lucene")
        for retriever in (ragkit.BM25Retriever(storage), ragkit.DenseRetriever(storage), ragkit.HybridRetriever(storage)):
            check_retriever(retriever, QUERIES, k=4, principal=Principal("u", groups=["red"]))

    def test_access_control_with_principals(self, kind: str, tmp_path: Path) -> None:
        ref = _reference("lucene")
        ref.set_access_field("acl")
        storage = _storage(kind, tmp_path, "lucene")
        if kind == "single":
            with Collection.open(tmp_path / "single") as c:
                c.set_access_field("acl")
                c.save(tmp_path / "single")
            storage = Collection.open(tmp_path / "single", embedder=_embedder())
        else:
            storage.close()
            for shard in sorted((tmp_path / "sharded").glob("shard-*")):
                with Collection.open(shard) as c:
                    c.set_access_field("acl")
                    c.save(shard)
            storage = ShardedCollection.open(tmp_path / "sharded", embedder=_embedder())
        assert storage.access_field == "acl"
        with pytest.raises(AccessError):
            ragkit.HybridRetriever(storage).search("cats")
        for who in (Principal("ann", groups=["red"]), Principal("bob", groups=["green", "staff"]), Principal("eve")):
            for make in (ragkit.BM25Retriever, ragkit.DenseRetriever, ragkit.HybridRetriever):
                expected = make(ref).bind(who).search_batch(QUERIES, 10)
                got = make(storage).bind(who).search_batch(QUERIES, 10)
                _same(expected, got)
                chunks = storage.chunks.column("metadata")
                assert all(set(chunks[h.chunk_row].as_py()["acl"]) & who.groups for hits in got for h in hits)
                assert all("acl" not in h.metadata for hits in got for h in hits)

    def test_duplicate_document_ids_are_refused(self, kind: str, tmp_path: Path) -> None:
        docs = _docs(30)
        docs.append(ragkit.Document(id="d4", text="a second document claiming the id d4", metadata=docs[0].metadata))
        with pytest.raises(InputError, match="d4"):
            _storage(kind, tmp_path, "lucene", docs)

    def test_updates(self, kind: str, tmp_path: Path) -> None:
        storage = _storage(kind, tmp_path, "lucene")
        new = ragkit.Document(id="d20", text="a brand new text about ocean river gills",
                              metadata={"group": "even", "year": 2020, "acl": ["red"]})
        ref = _reference("lucene")
        ref.upsert([new])
        if kind == "single":
            storage.upsert([new])
            storage.save(tmp_path / "single")
            storage = Collection.open(tmp_path / "single", embedder=_embedder())
        else:
            with pytest.raises(ReadOnlyError, match="Collection.open"):
                storage.upsert([new])
            with pytest.raises(ReadOnlyError):
                storage.index("bm25").add(["text"])
            storage.close()
            owner = next(p for p in sorted((tmp_path / "sharded").glob("shard-*"))
                         if "d20" in Collection.open(p).chunks.column("doc_id").to_pylist())
            with Collection.open(owner, embedder=_embedder()) as shard:  # change one shard on its own
                shard.upsert([new])
                shard.save(owner)
            storage = ShardedCollection.open(tmp_path / "sharded", embedder=_embedder())
        assert storage.num_chunks == ref.num_chunks and storage.num_rows == ref.num_rows
        # (score fusion: RRF turns a tie broken by row into different fused scores)
        for make in (ragkit.BM25Retriever, ragkit.DenseRetriever, lambda c: ragkit.HybridRetriever(c, fusion="score")):
            for flt in FILTERS[:2]:
                _same_up_to_ties(make(ref).search_batch(QUERIES, 10, flt), make(storage).search_batch(QUERIES, 10, flt))

    def test_reopen_close_and_context_manager(self, kind: str, tmp_path: Path) -> None:
        storage = _storage(kind, tmp_path, "lucene")
        before = ragkit.HybridRetriever(storage).search_batch(QUERIES, 5)
        storage.close()
        opened = ragkit.open_collection(tmp_path / kind, embedder=_embedder())
        assert type(opened) is type(storage)
        with opened as again:
            _same(before, ragkit.HybridRetriever(again).search_batch(QUERIES, 5))
        if kind == "sharded":
            with pytest.raises(IndexFormatError, match="open_collection"):
                Collection.open(tmp_path / kind)


def test_shards_that_disagree_on_the_access_field_are_refused(tmp_path: Path) -> None:
    storage = _storage("sharded", tmp_path, "lucene")
    storage.close()
    first = sorted((tmp_path / "sharded").glob("shard-*"))[0]
    with Collection.open(first) as c:  # only one shard restricts access: the others would leak
        c.set_access_field("acl")
        c.save(first)
    with pytest.raises(IndexFormatError, match="access field"):
        ShardedCollection.open(tmp_path / "sharded")


def test_a_shard_given_another_shards_document_is_refused_on_open(tmp_path: Path) -> None:
    storage = _storage("sharded", tmp_path, "lucene")
    storage.close()
    shards = sorted((tmp_path / "sharded").glob("shard-*"))
    taken = Collection.open(shards[0]).chunks.column("doc_id")[0].as_py()
    with Collection.open(shards[1], embedder=_embedder()) as c:
        c.add([ragkit.Document(id=taken, text="the same id in another shard", metadata={"group": "odd", "year": 2001,
                                                                                      "acl": ["red"]})])
        c.save(shards[1])
    with pytest.raises(InputError, match=taken):
        ShardedCollection.open(tmp_path / "sharded")
