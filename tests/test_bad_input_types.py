"""Objects of the wrong kind handed to the pieces (a class for an instance, a string for a collection, a mapping for a
list, one index under two names, NaN in a filter...): each raises the RagkitError that names the parameter, and
nothing already built or stored changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit import (
    BM25Index,
    BM25Retriever,
    Chunk,
    ConfigError,
    DenseRetriever,
    Document,
    FaissIndex,
    FilterError,
    HybridRetriever,
    InputError,
)
from ragkit.chunking import chunk_documents
from ragkit.core.results import Candidates
from ragkit.search import MMR, RRF, ScoreFusion, normalize
from ragkit.store.access import Principal
from ragkit.testing import HashEmbedder

TEXTS = ["cats purr softly", "dogs bark loudly", "fish swim in rivers", "birds sing at dawn"]
EMBEDDER = HashEmbedder(dimension=16)


@pytest.fixture(scope="module")
def collection() -> ragkit.Collection:
    docs = [Document(id=f"d{i}", text=t, metadata={"year": 2000 + i}) for i, t in enumerate(TEXTS)]
    return ragkit.build_collection(docs, chunker=ragkit.WholeDocumentChunker(), embedder=EMBEDDER)


def results(collection: ragkit.Collection) -> list[tuple[str, float]]:
    return [(h.doc_id, h.score) for h in HybridRetriever(collection).search("cats and fish", k=4)]


def docs() -> list[Document]:
    return [Document(id=f"d{i}", text=t) for i, t in enumerate(TEXTS)]


def test_one_index_object_under_two_names_is_refused() -> None:
    bm25 = BM25Index()
    with pytest.raises(ConfigError, match="'a' and 'b' are the same BM25Index object"):
        ragkit.build_collection(docs(), embedder=EMBEDDER, indexes={"a": bm25, "b": bm25})
    assert bm25.num_rows == 0  # refused before anything was built


@pytest.mark.parametrize("indexes", [[BM25Index], {"vector": FaissIndex}], ids=["list", "mapping"])
def test_an_index_class_instead_of_an_index_is_refused(indexes: Any) -> None:
    with pytest.raises(ConfigError, match="not the class"):
        ragkit.build_collection(docs(), embedder=EMBEDDER, indexes=indexes)


def test_an_index_of_another_collection_is_not_rebuilt(collection: ragkit.Collection) -> None:
    before = results(collection)
    taken = collection.index("vector")
    with pytest.raises(ConfigError, match="already built over 4 rows"):
        ragkit.build_collection(docs()[:2], embedder=EMBEDDER, indexes={"vector": taken})
    assert results(collection) == before and taken.num_rows == 4


def test_collection_objects_of_the_wrong_kind(collection: ragkit.Collection) -> None:
    for make in (lambda: HybridRetriever(None), lambda: DenseRetriever("indexes/scifact"), lambda: BM25Retriever(3)):  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="'collection' parameter of .* must be a collection"):
            make()
    with pytest.raises(ConfigError, match="'retrievers' parameter of HybridRetriever must be a list of retrievers"):
        HybridRetriever(collection, retrievers=[BM25Retriever(collection), "dense"])
    with pytest.raises(ConfigError, match="'retrievers' parameter of HybridRetriever"):
        HybridRetriever(collection, retrievers=[BM25Retriever(collection), DenseRetriever])
    with pytest.raises(InputError, match="not a single mapping"):
        HybridRetriever(collection, retrievers={BM25Retriever(collection): 1, DenseRetriever(collection): 2})
    with pytest.raises(ConfigError, match="'fusion' parameter of HybridRetriever"):
        HybridRetriever(collection, fusion=RRF)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="the class MMR: write MMR"):
        HybridRetriever(collection).then(MMR)  # type: ignore[arg-type]


@pytest.mark.parametrize("queries", [{"cats": 1}, "cats", b"cats"], ids=["mapping", "str", "bytes"])
def test_a_batch_must_be_a_list_of_queries(collection: ragkit.Collection, queries: Any) -> None:
    with pytest.raises(InputError):
        HybridRetriever(collection).search_batch(queries, k=2)


def test_fusion_checks_k_and_normalize_its_method() -> None:
    legs = [Candidates(np.arange(3), np.array([3.0, 2.0, 1.0])), Candidates(np.array([2, 0]), np.array([0.9, 0.1]))]
    for fusion in (RRF(), ScoreFusion()):
        for k in (True, 2.5, 0, -1, "2"):
            with pytest.raises(InputError, match="'k' parameter of .*fuse must be an int >= 1"):
                fusion.fuse(legs, k)  # type: ignore[arg-type]
        assert len(fusion.fuse(legs, 2)) == 2
    with pytest.raises(ConfigError, match="'method' parameter of normalize must be one of"):
        normalize(np.ones(3), "bogus")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="1-d numpy array"):
        normalize([1.0, 2.0], "minmax")  # type: ignore[arg-type]
    assert normalize(np.array([1, 3]), "minmax").tolist() == [0.0, 1.0]


@pytest.mark.parametrize("chunker", ["regex", ragkit.RecursiveChunker, 3], ids=["str", "class", "int"])
def test_a_chunker_of_the_wrong_kind(collection: ragkit.Collection, chunker: Any) -> None:
    with pytest.raises(ConfigError, match="'chunker' parameter of chunk_documents must be a chunker"):
        chunk_documents(chunker, docs())
    n = collection.num_chunks
    with pytest.raises(ConfigError, match="must be a chunker"):
        collection.add([Document(id="new", text="zebras run fast")], chunker=chunker)
    assert collection.num_chunks == n


@pytest.mark.parametrize(("chunk", "message"), [
    (Chunk(doc_id="new", position=0, text="new text", start=0, end=8, metadata=[1]), "metadata must be a mapping"),  # type: ignore[arg-type]
    (Chunk(doc_id="new", position=0, text="new text", start=0, end=8, metadata=None), "metadata must be a mapping"),  # type: ignore[arg-type]
])
def test_chunks_whose_metadata_is_not_a_mapping(collection: ragkit.Collection, chunk: Chunk, message: str) -> None:
    before = results(collection)
    with pytest.raises(InputError, match=message):
        collection.add([chunk], vectors=EMBEDDER.embed_documents([chunk.text]))
    assert results(collection) == before


def test_a_chunk_with_exact_offsets_is_added(tmp_path: Path) -> None:
    col = ragkit.build_collection(docs(), chunker=ragkit.WholeDocumentChunker(), embedder=EMBEDDER)
    col.add([Chunk(doc_id="new", position=0, text="zebras run", start=5, end=15)])
    assert HybridRetriever(col).search("zebras", k=1)[0].doc_id == "new"


@pytest.mark.parametrize("embedder", [3, "model", HashEmbedder], ids=["int", "str", "class"])
def test_opening_with_an_embedder_of_the_wrong_kind(collection: ragkit.Collection, tmp_path: Path, embedder: Any) -> None:
    collection.save(tmp_path / "c")
    with pytest.raises(ConfigError, match="'embedder' parameter of open_collection must be a query embedder"):
        ragkit.open_collection(tmp_path / "c", embedder=embedder)
    with ragkit.open_collection(tmp_path / "c", embedder=EMBEDDER) as col:
        assert results(col) == results(collection)


@pytest.mark.parametrize("filters", [{"year": float("nan")}, {"year": {"$ne": float("nan")}}, {"year": {"$in": [float("nan"), 2001]}},
                                     {"year": {"$gt": np.float32("nan")}}])
def test_nan_in_a_filter_is_refused(collection: ragkit.Collection, filters: Any) -> None:
    with pytest.raises(FilterError, match="NaN"):
        HybridRetriever(collection).search("cats", k=2, filters=filters)
    kept = HybridRetriever(collection).search("cats", k=4, filters={"year": {"$gt": 2001.5}})
    assert sorted(h.doc_id for h in kept) == ["d2", "d3"]


@pytest.mark.parametrize("make", [
    lambda: Principal(" "), lambda: Principal("al\ud800ice"), lambda: Principal("alice", groups=["\ud800"]),
    lambda: Principal("alice", groups=[" "]), lambda: Principal("alice", groups={"staff": 1}),
])
def test_principals_that_no_access_entry_could_name(make: Callable[[], Any]) -> None:
    with pytest.raises(InputError):
        make()
    assert Principal("alice", groups=["staff"]).tokens == {"user:alice", "staff", "group:staff"}


@pytest.mark.parametrize("retriever", [DenseRetriever, HybridRetriever])
def test_ragged_query_vectors_are_an_input_error(collection: ragkit.Collection, retriever: Any) -> None:
    ragged = [[0.0] * 16, [0.0] * 15]
    with pytest.raises(InputError, match="query_vectors must be a 2-d float array, one row per query"):
        retriever(collection).search_batch(["cats", "fish"], k=2, query_vectors=ragged)
