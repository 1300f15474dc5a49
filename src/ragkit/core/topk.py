"""Top-k selection and merging kernels over score arrays (partial selection, ties by lower row)."""

from __future__ import annotations

import numpy as np

from ragkit.core.results import Candidates

__all__ = ["merge_top_k", "top_k", "top_k_block", "top_k_positions", "top_k_sparse"]


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


def merge_top_k(parts: list[list[Candidates]], k: int, offsets: list[int] | None = None) -> list[Candidates]:
    """Per query, the best ``k`` of several ranked lists (ties: lower row).

    ``parts[s][q]`` is list ``s``'s candidates for query ``q``; ``offsets[s]`` (default 0) is
    added to list ``s``'s rows first, so per-shard rows become global rows.
    """
    if not parts:
        return []
    shifts = offsets if offsets is not None else [0] * len(parts)
    out = []
    for q in range(len(parts[0])):
        rows = np.concatenate([p[q].rows + int(s) for p, s in zip(parts, shifts, strict=True)])
        scores = np.concatenate([p[q].scores for p in parts])
        out.append(top_k(scores, k, rows))
    return out
