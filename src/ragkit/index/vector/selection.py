"""Choosing a FAISS index type from corpus size, dimension and a memory budget.

Follows FAISS's own guidelines ("Guidelines to choose an index"): exact ``Flat`` below
~10k vectors; ``HNSW32`` when its memory fits; otherwise an inverted file with 4-16*sqrt(N)
lists (an HNSW quantizer from 4096 lists, as FAISS suggests at 1M+ vectors), storing full
vectors, 8-bit scalar codes or product-quantised codes, whichever fits the budget.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ragkit.core.errors import ConfigError
from ragkit.core.validation import check_int

__all__ = ["IndexChoice", "choose_factory", "estimate_bytes"]

#: Below this many vectors, exact search is fast enough and needs no training.
FLAT_BELOW = 10_000
_HNSW_M = 32


@dataclass(frozen=True, slots=True)
class IndexChoice:
    """The chosen factory string, its estimated memory, and why."""

    factory: str
    bytes: int
    reason: str


def _ivf_lists(n: int) -> int:
    """Power of two nearest to 8 * sqrt(n), kept inside FAISS's 4..16 * sqrt(n) band."""
    target = 8 * math.sqrt(n)
    lists = 2 ** round(math.log2(max(target, 1)))
    return int(min(max(lists, 4 * math.sqrt(n)), 16 * math.sqrt(n), n // 39 or 1)) if lists else 1


def _pq_bytes(d: int, budget_per_vector: float) -> int | None:
    """Largest PQ code size (bytes) that divides ``d``, fits the budget and leaves >= 2 dims per code."""
    for m in (64, 48, 32, 24, 16, 12, 8, 4):
        if d % m == 0 and d // m >= 2 and m <= budget_per_vector:
            return m
    return None


def estimate_bytes(factory: str, n: int, d: int) -> int:
    """Rough memory of ``n`` vectors of dimension ``d`` in a ``factory`` index (codes + links + lists)."""
    ivf = re.match(r"IVF(\d+)", factory)
    lists = int(ivf.group(1)) if ivf else 0
    overhead = lists * d * 4 + (lists * _HNSW_M * 8 if "_HNSW" in factory else 0) + (8 * n if ivf else 0)
    if "PQ" in factory:
        m = int(re.search(r"PQ(\d+)", factory).group(1))  # type: ignore[union-attr]
        return n * m + overhead + 256 * d * 4
    if "SQ8" in factory:
        return n * d + overhead
    if factory.startswith("HNSW"):
        m = int(re.match(r"HNSW(\d+)", factory).group(1))  # type: ignore[union-attr]
        return n * (4 * d + 2 * m * 4 + 16)
    return n * 4 * d + overhead


def choose_factory(n: int, d: int, memory_budget: int | None = None) -> IndexChoice:
    """Pick a FAISS factory string for ``n`` vectors of dimension ``d``.

    Example:
        >>> choose_factory(5_000, 384).factory
        'Flat'
        >>> choose_factory(200_000, 384).factory
        'HNSW32'
        >>> choose_factory(2_000_000, 384, memory_budget=1 << 30).factory
        'IVF8192_HNSW32,SQ8'

    Raises:
        ConfigError: on a non-positive ``n``, ``d`` or budget, or a budget too small even for PQ codes.
    """
    check_int("choose_factory", "n", n, low=1, error=ConfigError)
    check_int("choose_factory", "d", d, low=1, error=ConfigError)
    if memory_budget is not None:
        check_int("choose_factory", "memory_budget", memory_budget, low=1, error=ConfigError)
    budget = memory_budget if memory_budget is not None else math.inf

    def fits(factory: str) -> bool:
        return estimate_bytes(factory, n, d) <= budget

    if n < FLAT_BELOW and fits("Flat"):
        return IndexChoice("Flat", estimate_bytes("Flat", n, d), f"{n} < {FLAT_BELOW} vectors: exact search")
    hnsw = f"HNSW{_HNSW_M}"
    if n < 1_000_000 and fits(hnsw):
        return IndexChoice(hnsw, estimate_bytes(hnsw, n, d), "graph search; vectors and links fit the budget")
    lists = _ivf_lists(n)
    quantizer = f"IVF{lists}_HNSW{_HNSW_M}" if lists >= 4096 else f"IVF{lists}"
    for codes, why in (("Flat", "full vectors"), ("SQ8", "8-bit scalar codes (4x smaller)")):
        factory = f"{quantizer},{codes}"
        if fits(factory):
            return IndexChoice(factory, estimate_bytes(factory, n, d), f"{lists} inverted lists (~8*sqrt(N)); {why}")
    per_vector = (budget - estimate_bytes(f"{quantizer},PQ4", 0, d)) / n
    m = _pq_bytes(d, per_vector)
    if m is None:
        raise ConfigError(
            f"A memory_budget of {memory_budget} bytes cannot hold {n} vectors of dimension {d} even as "
            f"4-byte PQ codes; raise the budget to at least {estimate_bytes(f'{quantizer},PQ4', n, d)} bytes."
        )
    factory = f"{quantizer},PQ{m}"
    return IndexChoice(factory, estimate_bytes(factory, n, d), f"{lists} inverted lists; {m}-byte PQ codes fit the budget")
