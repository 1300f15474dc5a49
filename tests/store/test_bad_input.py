"""Bad input: each case raises a specific ragkit error that says what to do, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit import (
    AccessError,
    Chunk,
    Collection,
    DimensionMismatchError,
    Document,
    EmptyCorpusError,
    FilterError,
    HybridRetriever,
    InputError,
    ModelMismatchError,
    Principal,
)
from ragkit.testing import HashEmbedder

QUERIES = ["cats purr", "birds at dawn", "loyal pet dog"]


def state(collection: Collection) -> tuple[str, int, list[str], list[list[tuple[str, float]]]]:
    hits = HybridRetriever(collection).search_batch(QUERIES, k=5)
    return collection.version, collection.generation, collection.chunk_ids(), [[(h.doc_id, h.score) for h in q] for q in hits]


def chunk(text: object, doc_id: str = "new", position: int = 0) -> Chunk:
    return Chunk(doc_id=doc_id, position=position, text=text, start=0, end=3)  # type: ignore[arg-type]


def unit(n: int, d: int = 32) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def nan_vectors() -> np.ndarray:
    v = unit(1)
    v[0, 3] = np.nan
    return v


def inf_vectors() -> np.ndarray:
    v = unit(1)
    v[0, 0] = np.inf
    return v


# (name, the bad call, the error, a message fragment that names the problem and the remedy)
CASES: list[tuple[str, Callable[[Collection], object], type[Exception], str]] = [
    ("empty add", lambda c: c.add([]), EmptyCorpusError, "Nothing to add"),
    ("bare string add", lambda c: c.add("cats"), InputError, "wrap it in a list"),
    ("single document add", lambda c: c.add(Document(id="x", text="y")), InputError, "wrap it in a list"),
    ("mixed items", lambda c: c.add([Document(id="x", text="y"), chunk("z")]), InputError, "only Documents or only Chunks"),
    ("non-document item", lambda c: c.add([{"id": "x", "text": "y"}]), InputError, "only Documents or only Chunks"),
    ("empty chunk text", lambda c: c.add([chunk("")]), InputError, "empty or whitespace only"),
    ("whitespace chunk text", lambda c: c.add([chunk(" \n\t ")]), InputError, "empty or whitespace only"),
    ("non-string chunk text", lambda c: c.add([chunk(42)]), InputError, "must be a str, got int"),
    ("bytes chunk text", lambda c: c.add([chunk(b"caf\xc3")]), InputError, "Decode bytes first"),
    ("invalid unicode in a chunk", lambda c: c.add([chunk("caf\udcc3 au lait")]), InputError, "not valid Unicode"),
    ("invalid unicode in a document", lambda c: c.add([Document(id="x", text="bad \ud800 text")]), InputError,
     "not valid Unicode"),
    ("negative position", lambda c: c.add([chunk("text", position=-1)]), InputError, "position must be an int >= 0"),
    ("duplicate document id", lambda c: c.add([Document(id="cats", text="again")]), InputError, "Use upsert"),
    ("duplicate ids in one batch", lambda c: c.add([Document(id="x", text="a"), Document(id="x", text="b")]), InputError,
     "Duplicate document id"),
    ("duplicate chunk ids in one batch", lambda c: c.add([chunk("a"), chunk("b")]), InputError, "Duplicate chunk ids"),
    ("metadata of another type", lambda c: c.add([Document(id="x", text="y", metadata={"legs": "four"})]), InputError,
     "Give each metadata field the type it already has"),
    ("NaN vector", lambda c: c.add([chunk("nan vector")], vectors=nan_vectors()), InputError, "NaN or infinity"),
    ("inf vector", lambda c: c.add([chunk("inf vector")], vectors=inf_vectors()), InputError, "NaN or infinity"),
    ("vector not unit length", lambda c: c.add([chunk("long")], vectors=2 * unit(1)), InputError, "Normalise them"),
    ("wrong dimension", lambda c: c.add([chunk("short")], vectors=unit(1, 16)), DimensionMismatchError, "16"),
    ("vector count mismatch", lambda c: c.add([chunk("two")], vectors=unit(2)), InputError, "one vector per chunk"),
    ("upsert with NaN vector", lambda c: c.upsert([chunk("cats again", doc_id="cats")], vectors=nan_vectors()), InputError,
     "NaN or infinity"),
    ("delete unknown chunk id", lambda c: c.delete(["nope#0"]), InputError, "not in this collection"),
    ("delete known and unknown", lambda c: c.delete(["cats#0", "nope#3"]), InputError, "nothing was deleted"),
    ("delete unknown doc id", lambda c: c.delete(doc_ids=["unicorns"]), InputError, "not in this collection"),
    ("delete nothing named", lambda c: c.delete(), InputError, "Name what to delete"),
    ("delete empty list", lambda c: c.delete([]), InputError, "give at least one id"),
    ("delete a bare string", lambda c: c.delete("cats#0"), InputError, "wrap it as"),
    ("delete duplicates", lambda c: c.delete(["cats#0", "cats#0"]), InputError, "contains duplicates"),
    ("delete twice", lambda c: (c.delete(["cats#0"]), c.delete(["cats#0"])), InputError, "already deleted"),
    ("unknown filter field", lambda c: HybridRetriever(c).search("cats", filters={"colour": "red"}), FilterError,
     "Unknown filter field 'colour'"),
    ("unknown filter operator", lambda c: HybridRetriever(c).search("cats", filters={"legs": {"$near": 3}}), FilterError,
     "Unknown filter operator"),
    ("k = 0", lambda c: HybridRetriever(c).search("cats", k=0), InputError, "'k'"),
    ("k < 0", lambda c: HybridRetriever(c).search("cats", k=-3), InputError, "'k'"),
    ("k not an int", lambda c: HybridRetriever(c).search("cats", k=2.5), InputError, "'k'"),  # type: ignore[arg-type]
    ("empty query", lambda c: HybridRetriever(c).search("   "), InputError, "empty"),
    ("non-string query", lambda c: HybridRetriever(c).search(b"cats"), InputError, "must be a str"),  # type: ignore[arg-type]
    ("access field that is not a field", lambda c: c.set_access_field("owner"), ragkit.ConfigError,
     "not a metadata field"),
    ("access field of a numeric field", lambda c: c.set_access_field("legs"), ragkit.ConfigError, r"str or list\[str\]"),
    ("bind to a non-principal", lambda c: HybridRetriever(c).bind("alice"), InputError, "takes a ragkit Principal"),  # type: ignore[arg-type]
    ("principal without id", lambda c: Principal(""), InputError, "non-empty str"),
    ("principal groups as a str", lambda c: Principal("a", groups="staff"), InputError, "wrap it as"),
]


@pytest.mark.parametrize(("name", "call", "error", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(
    animal_collection: Collection, name: str, call: Callable[[Collection], object], error: type[Exception], fragment: str
) -> None:
    if name == "delete twice":
        animal_collection.delete(["cats#0"])
        call = lambda c: c.delete(["cats#0"])  # noqa: E731
    before = state(animal_collection)
    with pytest.raises(error, match=fragment) as info:
        call(animal_collection)
    assert isinstance(info.value, ragkit.RagkitError)
    assert state(animal_collection) == before


def test_saved_data_is_unchanged_by_refused_changes(animal_collection: Collection, tmp_path: Path) -> None:
    root = animal_collection.save(tmp_path / "c")
    files = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".readers.lock"}
    with Collection.open(root) as opened:
        for name, call, error, _ in CASES:
            if name == "delete twice":
                continue
            with pytest.raises(error):
                call(opened)
        assert {p: p.read_bytes() for p in files} == files
        opened.save(root)  # nothing changed, so the new version searches the same
    with Collection.open(root) as again:
        assert state(again)[2:] == state(animal_collection)[2:]


def test_empty_corpus_is_refused_at_build() -> None:
    with pytest.raises(EmptyCorpusError, match="at least one Document"):
        ragkit.build_collection([], embedder=HashEmbedder(dimension=8))


def test_k_larger_than_the_collection_returns_everything_that_matches(animal_collection: Collection) -> None:
    dense = ragkit.DenseRetriever(animal_collection).search("cats", k=10_000)
    assert len(dense) == animal_collection.num_chunks
    assert len(HybridRetriever(animal_collection).search("cats", k=10_000)) == animal_collection.num_chunks
    bm25 = ragkit.BM25Retriever(animal_collection).search("cats", k=10_000)
    assert 0 < len(bm25) < animal_collection.num_chunks  # only chunks containing a query term


def test_huge_documents_are_chunked_and_searchable(animal_collection: Collection) -> None:
    words = " ".join(f"word{i % 5000}" for i in range(400_000))  # about 3.6 MB
    animal_collection.add([Document(id="huge", text=words + " needle")])
    assert animal_collection.num_chunks > 1000
    hits = ragkit.BM25Retriever(animal_collection).search("needle", k=1)
    assert hits[0].doc_id == "huge" and "needle" in hits[0].text


def test_mismatched_model_is_refused_on_open(animal_collection: Collection, tmp_path: Path) -> None:
    root = animal_collection.save(tmp_path / "c")
    with pytest.raises(ModelMismatchError, match="Query with the same model, or rebuild"):
        Collection.open(root, embedder=HashEmbedder(dimension=32, model="other"))


def test_unbound_search_of_an_access_controlled_collection_is_refused(animal_collection: Collection) -> None:
    animal_collection.set_access_field("tags")
    with pytest.raises(AccessError, match=r"retriever.bind\(Principal"):
        HybridRetriever(animal_collection).search("cats")
    assert isinstance(AccessError("x"), PermissionError)
