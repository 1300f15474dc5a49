from __future__ import annotations

import numpy as np
import pytest

from ragkit import ConfigError, InputError
from ragkit.cache import SemanticCache


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def at_cosine(c: float) -> np.ndarray:
    """A unit vector whose cosine with (1, 0) is ``c``."""
    return np.array([c, np.sqrt(1 - c * c)], dtype=np.float32)


BASE = {"k": 10, "generation": (1, 1)}


def test_exact_and_near_duplicate_hits_respect_the_threshold() -> None:
    cache = SemanticCache(threshold=0.9)
    cache.store("cats purr", "A", vector=unit(1, 0), **BASE)
    exact = cache.lookup("cats purr", **BASE)
    assert exact is not None and exact.kind == "exact" and exact.value == "A"
    near = cache.lookup("cats purring", vector=at_cosine(0.95), **BASE)
    assert near is not None and near.kind == "semantic" and near.similarity == pytest.approx(0.95, abs=1e-6)
    assert near.query == "cats purr"
    assert cache.lookup("dogs", vector=at_cosine(0.85), **BASE) is None
    assert cache.lookup("cats purrs", **BASE) is None  # no vector: exact only
    alias = cache.lookup("cats purring", **BASE)  # the near duplicate was remembered: no vector needed now
    assert alias is not None and alias.kind == "semantic" and alias.query == "cats purr" and alias.value == "A"
    assert alias.similarity == pytest.approx(0.95, abs=1e-6)
    stats = cache.stats()
    assert (stats["exact_hits"], stats["semantic_hits"], stats["misses"]) == (1, 2, 2)
    assert stats["hit_rate"] == 0.6 and stats["size"] == 2


def test_aliases_never_answer_near_duplicates_and_share_the_expiry() -> None:
    now = [0.0]
    cache = SemanticCache(threshold=0.9, ttl_seconds=10, clock=lambda: now[0])
    cache.store("a", "A", vector=unit(1, 0), **BASE)
    now[0] = 5.0
    assert cache.lookup("a2", vector=at_cosine(0.95), **BASE) is not None  # alias "a2" of "a"
    # close to "a2" but not to "a": the alias has no vector, so no chain of near duplicates forms
    far = np.array([np.cos(0.6), np.sin(0.6)], dtype=np.float32)  # cosine 0.83 with "a", 0.96 with "a2"
    assert cache.lookup("a3", vector=far, **BASE) is None
    now[0] = 10.5  # "a" expires at 10: its alias too, although made at 5
    assert cache.lookup("a2", **BASE) is None


def test_the_most_similar_entry_answers() -> None:
    cache = SemanticCache(threshold=0.5)
    cache.store("a", "A", vector=at_cosine(0.6), **BASE)
    cache.store("b", "B", vector=at_cosine(0.99), **BASE)
    cache.store("c", "C", vector=at_cosine(0.8), **BASE)
    hit = cache.lookup("q", vector=unit(1, 0), **BASE)
    assert hit is not None and hit.value == "B"


def test_entries_never_cross_principals() -> None:
    cache = SemanticCache(threshold=0.5)
    cache.store("salaries 2025", "alice's results", principal="alice", vector=unit(1, 0), **BASE)
    for other in ("bob", None, ("alice",)):
        assert cache.lookup("salaries 2025", principal=other, vector=unit(1, 0), **BASE) is None
    assert cache.lookup("salaries 2025", principal="alice", **BASE) is not None
    cache.store("q", "for 1", principal=1, vector=unit(0, 1), **BASE)
    assert cache.lookup("q", principal=True, vector=unit(0, 1), **BASE) is None  # 1 == True, but not the same principal
    assert cache.lookup("q", principal=1.0, **BASE) is None


def test_entries_never_cross_filters_and_need_enough_results() -> None:
    cache = SemanticCache(threshold=0.5)
    cache.store("q", "filtered", filters='{"lang":"en"}', vector=unit(1, 0), k=5, generation=1)
    assert cache.lookup("q", filters=None, vector=unit(1, 0), k=5, generation=1) is None
    assert cache.lookup("q", filters='{"lang":"de"}', vector=unit(1, 0), k=5, generation=1) is None
    assert cache.lookup("q", filters='{"lang":"en"}', vector=unit(1, 0), k=6, generation=1) is None  # stored only 5
    assert cache.lookup("q", filters='{"lang":"en"}', vector=unit(1, 0), k=3, generation=1) is not None


def test_a_new_generation_empties_the_cache() -> None:
    cache = SemanticCache()
    cache.store("q", "old", vector=unit(1, 0), k=10, generation=(1, 1))
    assert cache.lookup("q", k=10, generation=(1, 2)) is None
    assert len(cache) == 0 and cache.stats()["invalidations"] == 1
    assert cache.lookup("q", k=10, generation=(1, 1)) is None  # going back does not resurrect anything


def test_least_recently_used_entry_is_evicted() -> None:
    cache = SemanticCache(threshold=0.99, max_entries=2)
    cache.store("a", "A", vector=unit(1, 0, 0), **BASE)
    cache.store("b", "B", vector=unit(0, 1, 0), **BASE)
    assert cache.lookup("a", **BASE) is not None  # a is now the most recent
    cache.store("c", "C", vector=unit(0, 0, 1), **BASE)
    assert cache.lookup("b", vector=unit(0, 1, 0), **BASE) is None
    assert cache.lookup("a", **BASE) is not None and cache.lookup("c", vector=unit(0, 0, 1), **BASE) is not None
    assert cache.stats()["evictions"] == 1 and len(cache) == 2


def test_restoring_a_query_replaces_its_entry() -> None:
    cache = SemanticCache(max_entries=2)
    cache.store("a", "A1", vector=unit(1, 0), **BASE)
    cache.store("a", "A2", vector=unit(1, 0), **BASE)
    assert len(cache) == 1
    hit = cache.lookup("a", **BASE)
    assert hit is not None and hit.value == "A2"


def test_expired_entries_are_not_served() -> None:
    now = [100.0]
    cache = SemanticCache(threshold=0.9, ttl_seconds=10, clock=lambda: now[0])
    cache.store("a", "A", vector=unit(1, 0), **BASE)
    now[0] = 109.0
    assert cache.lookup("a", **BASE) is not None
    now[0] = 110.5
    assert cache.lookup("a", **BASE) is None
    cache.store("b", "B", vector=unit(1, 0), **BASE)
    now[0] = 121.0
    assert cache.lookup("b2", vector=unit(1, 0), **BASE) is None
    assert cache.stats()["expirations"] == 2 and len(cache) == 0


def test_threshold_none_is_exact_only() -> None:
    cache = SemanticCache(threshold=None)
    cache.store("a", "A", vector=unit(1, 0), **BASE)
    assert cache.lookup("a ", vector=unit(1, 0), **BASE) is None
    assert cache.lookup("a", vector=unit(1, 0), **BASE) is not None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        SemanticCache(threshold=1.5)
    with pytest.raises(ConfigError, match="max_entries"):
        SemanticCache(max_entries=0)
    with pytest.raises(ConfigError, match="ttl_seconds"):
        SemanticCache(ttl_seconds=0)
    cache = SemanticCache(threshold=0.9)
    with pytest.raises(InputError, match="hashable"):
        cache.lookup("q", principal=["alice"], **BASE)
    cache.store("q", "Q", vector=unit(1, 0), **BASE)
    with pytest.raises(InputError, match="2-d"):
        cache.lookup("other", vector=unit(1, 0, 0), **BASE)
    with pytest.raises(InputError, match="'k'"):
        cache.store("q", "Q", k=0, generation=1)
