"""CachedRetriever checks query vectors and its embedder before the cache is consulted; nothing gets poisoned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit import BM25Retriever, ConfigError, DenseRetriever, DimensionMismatchError, HybridRetriever, InputError
from ragkit.cache import CachedRetriever, SemanticCache
from ragkit.testing import HashEmbedder

CATS, FISH = "cats purr", "fish swim in rivers"


def good(collection: ragkit.Collection, query: str = FISH) -> np.ndarray:
    assert collection.embedder is not None
    return collection.embedder.embed_queries([query])


def bad_vectors(collection: ragkit.Collection) -> dict[str, tuple[Any, type[Exception], str]]:
    """name -> (query_vectors for one query, the error the uncached retriever raises, a fragment of its message)."""
    v = good(collection)
    return {
        "nan": (np.full((1, 32), np.nan, dtype=np.float32), InputError, "NaN or infinity"),
        "inf": (np.full((1, 32), np.inf, dtype=np.float32), InputError, "NaN or infinity"),
        "one-nan": (np.where(np.arange(32) == 3, np.nan, v).astype(np.float32), InputError, "NaN or infinity"),
        "not-unit": (v * 3, InputError, "L2 norm 3.0000"),
        "zero": (np.zeros((1, 32), dtype=np.float32), InputError, "L2 norm 0.0000"),
        "two-rows": (np.vstack([v, v]), InputError, r"query_vectors has shape \(2, 32\) for 1 queries"),
        "no-rows": (v[:0], InputError, r"query_vectors has shape \(0, 32\) for 1 queries"),
        "1-d": (v[0], InputError, r"query_vectors has shape \(32,\) for 1 queries"),
        "3-d": (v[None], InputError, r"query_vectors has shape \(1, 1, 32\) for 1 queries"),
        "junk": ("junk", InputError, r"query_vectors has shape \(\) for 1 queries"),
        "ints": (np.ones((1, 32), dtype=np.int64), InputError, "float array"),
        "objects": (np.array([[object()] * 32]), InputError, "float array"),
        "16-d": (v[:, :16] / np.linalg.norm(v[:, :16]), DimensionMismatchError, "dimension 16"),
    }


def uncached_error(retriever: Any, vectors: Any) -> type[Exception]:
    with pytest.raises(InputError) as info:
        retriever.search(FISH, k=2, query_vectors=vectors)
    return type(info.value)


def test_nan_query_vectors_never_serve_another_querys_answer(animal_collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(animal_collection)
    cached = CachedRetriever(retriever, SemanticCache(0.95))
    cats = cached.search(CATS, k=2)
    with pytest.raises(InputError, match="NaN or infinity"):
        cached.search(FISH, k=2, query_vectors=np.full((1, 32), np.nan, dtype=np.float32))
    fish = cached.search(FISH, k=2)
    assert cached.last_sources == ["miss"] and fish == retriever.search(FISH, k=2) and fish != cats
    assert cached.search(CATS, k=2) == cats and cached.last_sources == ["exact"]


@pytest.mark.parametrize("threshold", [None, 0.95])
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "cached"])
@pytest.mark.parametrize("name", ["nan", "inf", "one-nan", "not-unit", "zero", "two-rows", "no-rows", "1-d", "3-d", "junk", "ints",
                                  "objects", "16-d"])
@pytest.mark.parametrize("kind", [HybridRetriever, DenseRetriever])
def test_bad_query_vectors_raise_what_the_retriever_raises(animal_collection: ragkit.Collection, kind: type, name: str,
                                                           warm: bool, threshold: float | None) -> None:
    vectors, error, fragment = bad_vectors(animal_collection)[name]
    retriever = kind(animal_collection)
    assert uncached_error(retriever, vectors) is error
    cached = CachedRetriever(retriever, SemanticCache(threshold))
    cached.search(CATS, k=2)
    if warm:
        cached.search(FISH, k=2)
    size = len(cached.cache)
    with pytest.raises(error, match=fragment):
        cached.search(FISH, k=2, query_vectors=vectors)
    assert len(cached.cache) == size  # nothing stored, no alias made
    assert cached.search(FISH, k=2) == retriever.search(FISH, k=2)
    assert cached.last_sources == (["exact"] if warm else ["miss"])
    assert cached.search(CATS, k=2) == retriever.search(CATS, k=2) and cached.last_sources == ["exact"]


@pytest.mark.parametrize("threshold", [None, 0.95])
def test_good_query_vectors_as_a_list_or_float64_are_accepted(animal_collection: ragkit.Collection, threshold: float | None) -> None:
    retriever = HybridRetriever(animal_collection)
    cached = CachedRetriever(retriever, SemanticCache(threshold))
    v = good(animal_collection)
    expected = retriever.search(FISH, k=2)
    assert cached.search(FISH, k=2, query_vectors=v.tolist()) == expected and cached.last_sources == ["miss"]
    assert cached.search(FISH, k=2, query_vectors=v.astype(np.float64)) == expected and cached.last_sources == ["exact"]


def test_batch_vectors_need_one_row_per_query(animal_collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(animal_collection)
    cached = CachedRetriever(retriever, SemanticCache(0.95))
    cached.search(CATS, k=2)
    one = good(animal_collection, CATS)
    with pytest.raises(InputError, match=r"query_vectors has shape \(1, 32\) for 2 queries"):
        cached.search_batch([CATS, FISH], k=2, query_vectors=one)
    with pytest.raises(InputError, match="row 1 holds NaN"):
        cached.search_batch([CATS, FISH], k=2, query_vectors=np.vstack([one, np.full((1, 32), np.nan, np.float32)]))
    assert cached.search_batch([CATS, FISH], k=2) == retriever.search_batch([CATS, FISH], k=2)
    assert cached.last_sources == ["exact", "miss"]


@pytest.fixture
def bm25_only(animal_collection: ragkit.Collection) -> ragkit.Collection:
    return ragkit.Collection(animal_collection.chunks, {"bm25": animal_collection.index("bm25")})


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "cached"])
@pytest.mark.parametrize("vectors", ["junk", 3.0, np.zeros(4), np.zeros((2, 4)), [[1.0, 0.0], [1.0]]],
                         ids=["str", "scalar", "1-d", "two-rows", "ragged"])
def test_bm25_only_refuses_query_vectors_of_the_wrong_shape(bm25_only: ragkit.Collection, vectors: Any, warm: bool) -> None:
    retriever = BM25Retriever(bm25_only)
    cached = CachedRetriever(retriever)
    if warm:
        cached.search(FISH, k=2)
    with pytest.raises(InputError, match="query_vectors"):
        cached.search(FISH, k=2, query_vectors=vectors)
    assert cached.search(FISH, k=2) == retriever.search(FISH, k=2)
    assert cached.last_sources == (["exact"] if warm else ["miss"])


def test_bm25_only_ignores_the_values_of_well_shaped_vectors_like_the_retriever(bm25_only: ragkit.Collection) -> None:
    retriever = BM25Retriever(bm25_only)
    cached = CachedRetriever(retriever)
    nan = np.full((1, 4), np.nan, dtype=np.float32)
    assert cached.search(FISH, k=2, query_vectors=nan) == retriever.search(FISH, k=2, query_vectors=nan)


@pytest.mark.parametrize("bad", [3, "hash", HashEmbedder, object(), [HashEmbedder(dimension=32)]],
                         ids=["int", "str", "a-class", "object", "list"])
@pytest.mark.parametrize("threshold", [None, 0.95])
def test_an_embedder_without_embed_queries_is_refused_at_construction(animal_collection: ragkit.Collection, bad: Any,
                                                                      threshold: float | None) -> None:
    with pytest.raises(ConfigError, match=r"The 'embedder' parameter of CachedRetriever must be a embedder \(with embed_queries\)"):
        CachedRetriever(HybridRetriever(animal_collection), SemanticCache(threshold), embedder=bad)


class BrokenEmbedder:
    """Embeds queries as NaN, or as too few rows."""

    def __init__(self, rows: int | None = None) -> None:
        self.rows = rows
        self.dimension = 32

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self.rows is not None:
            return HashEmbedder(dimension=32).embed_queries(list(texts))[: self.rows]
        return np.full((len(texts), 32), np.nan, dtype=np.float32)


@pytest.mark.parametrize(("broken", "fragment"), [(BrokenEmbedder(), "row 0 holds NaN or infinity"),
                                                 (BrokenEmbedder(rows=1), "returned 1 vectors for 2 queries")])
def test_bad_embedder_output_is_refused_and_stores_nothing(animal_collection: ragkit.Collection, broken: BrokenEmbedder,
                                                           fragment: str) -> None:
    retriever = HybridRetriever(animal_collection)
    cached = CachedRetriever(retriever, SemanticCache(0.5), embedder=broken)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=rf"BrokenEmbedder\.embed_queries.*{fragment}"):
        cached.search_batch([CATS, FISH], k=2)
    assert len(cached.cache) == 0
    healthy = CachedRetriever(retriever, cached.cache)  # the same cache, the collection's embedder: nothing was poisoned
    assert healthy.search_batch([CATS, FISH], k=2) == retriever.search_batch([CATS, FISH], k=2)
    assert healthy.last_sources == ["miss", "miss"]
