"""Ranked results: ``Candidates`` (arrays, inside the engine) and ``Hit`` (records, for users)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Candidates", "LegScore", "Hit", "top_k", "top_k_block", "top_k_positions", "top_k_sparse"]


@dataclass(frozen=True, slots=True)
class Candidates:
    """The ranked rows one query got from one retriever, best first.

    ``rows`` are chunk row numbers in the collection (int64), ``scores`` the matching
    scores (float64, descending). Kept as arrays so fusion and evaluation stay vectorised.
    """

    rows: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        if self.rows.shape != self.scores.shape or self.rows.ndim != 1:
            raise ValueError("Candidates.rows and .scores must be 1-d arrays of equal length")

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class LegScore:
    """Where one retriever leg placed a hit: 1-based rank and raw score."""

    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the chunk, its final score, and the rank/score it had in each leg."""

    score: float
    doc_id: str
    chunk_row: int
    text: str
    start: int
    end: int
    position: int
    metadata: Mapping[str, Any] = field(default_factory=dict)
    legs: Mapping[str, LegScore] = field(default_factory=dict)


def top_k_positions(scores: np.ndarray, k: int, ids: np.ndarray | None = None) -> np.ndarray:
    """Positions of the ``k`` largest ``scores``, best first, ties broken by lower id.

    ``ids`` (default: the positions) decides ties. Partial selection, O(n); a full scan
    for ties happens only when equal scores straddle the k-th place.
    """
    n = scores.shape[0]
    tiebreak = np.arange(n) if ids is None else ids
    if k >= n:
        return np.lexsort((tiebreak, -scores))
    part = np.argpartition(-scores, k)[: k + 1]  # the k best plus the next one
    vals = scores[part]
    order = np.lexsort((tiebreak[part], -vals))
    part, vals = part[order], vals[order]
    threshold = vals[k - 1]
    if vals[k] == threshold:  # a tie crosses the boundary: keep the lowest ids among the tied
        above = np.flatnonzero(scores > threshold)
        tied = np.flatnonzero(scores == threshold)
        tied = tied[np.argsort(tiebreak[tied], kind="stable")][: k - above.shape[0]]
        chosen = np.concatenate([above, tied])
        return chosen[np.lexsort((tiebreak[chosen], -scores[chosen]))]
    return part[:k]


def top_k(scores: np.ndarray, k: int, rows: np.ndarray | None = None) -> Candidates:
    """Best ``k`` entries of ``scores`` (ties: lower row first), as :class:`Candidates`."""
    if rows is None:
        rows = np.arange(scores.shape[0], dtype=np.int64)
    if scores.shape[0] == 0:
        return Candidates.empty()
    sel = top_k_positions(scores, k, rows)
    return Candidates(rows[sel].astype(np.int64, copy=False), scores[sel].astype(np.float64, copy=False))


def top_k_block(scores: np.ndarray, k: int, floor: float = -np.inf) -> list[Candidates]:
    """:func:`top_k` for each row of a 2-d score block, in one partial selection.

    Entries not above ``floor`` are excluded (e.g. ``-inf`` for masked cells, or 0 where
    every real score is positive).
    """
    nq, n = scores.shape
    if n == 0:
        return [Candidates.empty() for _ in range(nq)]
    kk = min(k, n)
    if kk < n:
        part = np.argpartition(-scores, kk, axis=1)[:, : kk + 1]
    else:
        part = np.broadcast_to(np.arange(n), (nq, n))
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    out = []
    for i in range(nq):
        if kk < n and vals[i, kk] == vals[i, kk - 1] and vals[i, kk] > floor:
            sel = top_k_positions(scores[i], kk)  # a tie straddles the k-th place: resolve by row
            row_vals = scores[i, sel]
        else:
            sel, row_vals = part[i, :kk], vals[i, :kk]
        keep = row_vals > floor
        out.append(Candidates(sel[keep].astype(np.int64, copy=False), row_vals[keep].astype(np.float64, copy=False)))
    return out


def top_k_sparse(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, k: int) -> list[Candidates]:
    """:func:`top_k` for each row of a CSR matrix, over its stored entries only (ties: lower index)."""
    out = []
    for start, end in zip(indptr[:-1].tolist(), indptr[1:].tolist(), strict=True):
        ids, vals = indices[start:end], data[start:end]
        if end - start <= k:  # few matches (the common case for short queries): sort them all
            order = np.lexsort((ids, -vals))
            out.append(Candidates(ids[order], vals[order]))
        else:
            sel = top_k_positions(vals, k, ids)
            out.append(Candidates(ids[sel], vals[sel]))
    return out
