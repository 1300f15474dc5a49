"""SemanticCache refuses bad input with a RagkitError naming the parameter, and a refused call changes nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ragkit import ConfigError, DimensionMismatchError, FilterError, InputError
from ragkit.cache import SemanticCache

BASE: dict[str, Any] = {"k": 10, "generation": (1, 1)}
CATS = np.array([1.0, 0.0], dtype=np.float32)
DOGS = np.array([0.0, 1.0], dtype=np.float32)
NEAR_CATS = np.array([0.99, np.sqrt(1 - 0.99**2)], dtype=np.float32)

BAD_VECTORS = {
    "nan": (np.full(2, np.nan, dtype=np.float32), "NaN or infinity"),
    "inf": (np.array([np.inf, 0.0], dtype=np.float32), "NaN or infinity"),
    "nan-row": (np.full((1, 2), np.nan, dtype=np.float32), "NaN or infinity"),
    "half-nan": (np.array([1.0, np.nan], dtype=np.float32), "NaN or infinity"),
    "not-unit": (np.array([3.0, 0.0], dtype=np.float32), "L2 norm 3.0000"),
    "zero": (np.zeros(2, dtype=np.float32), "L2 norm 0.0000"),
    "ints": (np.array([1, 0]), "float"),
    "str": ("abc", "'vector' parameter"),
    "scalar": (1.0, "'vector' parameter"),
    "two-rows": (np.stack([CATS, DOGS]), "'vector' parameter"),
    "3-d": (CATS.reshape(1, 1, 2), "'vector' parameter"),
    "ragged": ([[1.0, 0.0], [1.0]], "'vector' parameter"),
    "objects": (np.array([object(), object()]), "float"),
}


def filled() -> SemanticCache:
    cache = SemanticCache(threshold=0.95)
    cache.store("cats purr", "CATS", vector=CATS, **BASE)
    cache.store("dogs bark", "DOGS", vector=DOGS, **BASE)
    return cache


def assert_unharmed(cache: SemanticCache, size: int = 2) -> None:
    """The cache still answers exactly what it stored, and nothing else."""
    assert len(cache) == size
    near = cache.lookup("cats purring", vector=NEAR_CATS, **BASE)
    assert near is not None and near.value == "CATS" and near.kind == "semantic"
    exact = cache.lookup("dogs bark", **BASE)
    assert exact is not None and exact.value == "DOGS" and exact.kind == "exact"
    assert cache.lookup("fish swim", **BASE) is None


@pytest.mark.parametrize("name", BAD_VECTORS)
def test_a_bad_lookup_vector_is_refused_and_never_served_or_aliased(name: str) -> None:
    vector, fragment = BAD_VECTORS[name]
    cache = filled()
    with pytest.raises(InputError, match=fragment) as info:
        cache.lookup("fish swim", vector=vector, **BASE)
    assert "SemanticCache.lookup" in str(info.value)
    assert cache.lookup("fish swim", **BASE) is None  # no alias of another query's answer was left behind
    assert_unharmed(cache)


@pytest.mark.parametrize("name", BAD_VECTORS)
def test_a_bad_store_vector_is_refused_and_stores_nothing(name: str) -> None:
    vector, fragment = BAD_VECTORS[name]
    cache = filled()
    with pytest.raises(InputError, match=fragment) as info:
        cache.store("fish swim", "FISH", vector=vector, **BASE)
    assert "SemanticCache.store" in str(info.value)
    assert cache.lookup("fish swim", **BASE) is None
    assert_unharmed(cache)


def test_a_vector_of_another_dimension_is_refused_both_ways() -> None:
    cache = filled()
    other = np.array([0.0, 0.0, 1.0], dtype=np.float32)
    with pytest.raises(DimensionMismatchError, match="2-d; got a 3-d"):
        cache.lookup("fish swim", vector=other, **BASE)
    with pytest.raises(DimensionMismatchError, match="2-d; got a 3-d"):
        cache.store("fish swim", "FISH", vector=other, **BASE)
    assert_unharmed(cache)


def test_a_row_vector_is_one_embedding() -> None:
    cache = filled()
    hit = cache.lookup("cats purring", vector=NEAR_CATS.reshape(1, 2), **BASE)
    assert hit is not None and hit.value == "CATS"
    cache.store("fish swim", "FISH", vector=[0.6, 0.8], **BASE)  # a list of floats is an embedding too
    hit = cache.lookup("fish swimming", vector=np.array([0.6, 0.8], dtype=np.float64), **BASE)
    assert hit is not None and hit.value == "FISH"


def test_a_non_finite_stored_similarity_never_answers() -> None:
    cache = filled()
    assert cache._vectors is not None
    cache._vectors[:] = np.nan  # whatever got there, a NaN similarity must not win the argmax
    assert cache.lookup("fish swim", vector=CATS, **BASE) is None
    assert cache.lookup("cats purr", **BASE) is not None  # exact repeats do not need the vectors


@pytest.mark.parametrize("k", [0, -1, 2.5, 3.0, True, None, "3", np.float64(2)])
@pytest.mark.parametrize("method", ["lookup", "store"])
def test_k_is_checked_alike_by_lookup_and_store(method: str, k: Any) -> None:
    cache = filled()
    call = {"lookup": lambda: cache.lookup("cats purr", k=k, generation=(1, 1)),
            "store": lambda: cache.store("cats purr", "OTHER", k=k, generation=(1, 1))}[method]
    with pytest.raises(InputError, match=rf"The 'k' parameter of SemanticCache\.{method} must be an int >= 1\. Got"):
        call()
    assert_unharmed(cache)


def test_numpy_integer_k_is_accepted() -> None:
    cache = filled()
    hit = cache.lookup("cats purr", k=np.int64(3), generation=(1, 1))
    assert hit is not None and hit.value == "CATS"


def test_filters_may_be_a_mapping_or_its_key_and_both_key_alike() -> None:
    cache = SemanticCache(threshold=0.95)
    cache.store("q", "EN", filters={"lang": "en", "year": 2024}, vector=CATS, **BASE)
    for same in ({"year": 2024, "lang": "en"}, '{"lang":"en","year":2024}'):
        hit = cache.lookup("q", filters=same, **BASE)
        assert hit is not None and hit.value == "EN"
        near = cache.lookup("q2", filters=same, vector=NEAR_CATS, **BASE)
        assert near is not None and near.value == "EN"
    assert cache.lookup("q", filters={"lang": "de"}, **BASE) is None
    assert cache.lookup("q", **BASE) is None
    cache.store("q", "ALL", filters={}, **BASE)  # an empty filter is no filter, as for the retrievers
    hit = cache.lookup("q", filters=None, **BASE)
    assert hit is not None and hit.value == "ALL"


@pytest.mark.parametrize("filters", [["lang", "en"], 3, ("lang",), b"{}"])
@pytest.mark.parametrize("method", ["lookup", "store"])
def test_filters_of_another_type_are_refused(method: str, filters: Any) -> None:
    cache = filled()
    with pytest.raises(InputError, match=rf"The 'filters' parameter of SemanticCache\.{method} must be a metadata filter"):
        if method == "lookup":
            cache.lookup("cats purr", filters=filters, **BASE)
        else:
            cache.store("cats purr", "OTHER", filters=filters, vector=CATS, **BASE)
    assert_unharmed(cache)


def test_a_malformed_filter_is_refused() -> None:
    cache = filled()
    with pytest.raises(FilterError):
        cache.store("cats purr", "OTHER", filters={"$or": "nope"}, **BASE)
    with pytest.raises(InputError, match="JSON"):
        cache.lookup("cats purr", filters={"legs": {"$in": {1, 2}}}, **BASE)
    assert_unharmed(cache)


@pytest.mark.parametrize("query", [None, 3, ["cats purr"], b"cats purr"])
def test_a_query_that_is_not_a_str_is_refused(query: Any) -> None:
    cache = filled()
    with pytest.raises(InputError, match="The 'query' parameter of SemanticCache.lookup must be a str"):
        cache.lookup(query, **BASE)
    with pytest.raises(InputError, match="The 'query' parameter of SemanticCache.store must be a str"):
        cache.store(query, "OTHER", vector=CATS, k=10, generation=(1, 1))
    assert_unharmed(cache)


@pytest.mark.parametrize("generation", [[1, 1], np.array([1, 1]), {"a": 1}])
def test_an_unhashable_generation_is_refused(generation: Any) -> None:
    cache = filled()
    with pytest.raises(InputError, match="'generation' parameter of SemanticCache.lookup must be hashable"):
        cache.lookup("cats purr", k=10, generation=generation)
    with pytest.raises(InputError, match="'generation' parameter of SemanticCache.store must be hashable"):
        cache.store("cats purr", "OTHER", k=10, generation=generation)
    assert_unharmed(cache)


@pytest.mark.parametrize("clock", ["now", 3, None, 1.5])
def test_a_clock_that_is_not_callable_is_refused(clock: Any) -> None:
    with pytest.raises(ConfigError, match="The 'clock' parameter of SemanticCache must be a callable"):
        SemanticCache(clock=clock)


@pytest.mark.parametrize("max_entries", [2**62, 2**63 - 1])
def test_a_huge_max_entries_allocates_only_what_is_stored(max_entries: int) -> None:
    cache = SemanticCache(threshold=0.95, max_entries=max_entries)
    cache.store("cats purr", "CATS", vector=CATS, **BASE)
    cache.store("dogs bark", "DOGS", vector=DOGS, **BASE)
    assert_unharmed(cache)
    assert len(cache) == 3  # and the alias of "cats purring"


@pytest.mark.parametrize("max_entries", [2**63, 0, 2.0, "10", None, True])
def test_max_entries_out_of_range_is_a_config_error(max_entries: Any) -> None:
    with pytest.raises(ConfigError, match="The 'max_entries' parameter of SemanticCache must be an int >= 1"):
        SemanticCache(max_entries=max_entries)


def test_the_slot_arrays_grow_and_evict_correctly() -> None:
    cache = SemanticCache(threshold=0.999, max_entries=150)
    angles = np.linspace(0.0, np.pi / 2, 200)
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    for i, v in enumerate(vectors):
        cache.store(f"q{i}", i, vector=v, **BASE)
    stats = cache.stats()
    assert len(cache) == 150 and stats["evictions"] == 50
    assert cache.lookup("q49", **BASE) is None
    hit = cache.lookup("q199", **BASE)
    assert hit is not None and hit.value == 199
    near = cache.lookup("near q120", vector=vectors[120], **BASE)
    assert near is not None and near.value == 120 and near.query == "q120"
    assert cache.lookup("near q10", vector=vectors[10], **BASE) is None  # evicted long ago
