"""Replay logged queries against another index version and measure how much the results move.

Run it before switching: ``replay(read_log("logs/queries"), HybridRetriever(new_collection))``
gives the mean overlap@k between what users got and what the new version would return,
and the queries that changed most.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.errors import InputError
from ragkit.core.validation import as_list, check_choice, check_int

__all__ = ["overlap_at_k", "replay"]


def overlap_at_k(old: Sequence[Any], new: Sequence[Any], k: int) -> float:
    """``|old[:k] & new[:k]| / max(|old[:k]|, |new[:k]|)``; 1.0 when both are empty.

    Raises:
        InputError: ``k`` is not an int >= 1 (a bool or a float is refused), or ``old`` or
            ``new`` is a bare string (not read as characters), not iterable, or holds an
            unhashable id.
    """
    k = check_int("overlap_at_k", "k", k, low=1, error=InputError)
    lists = []
    for name, ids in (("old", old), ("new", new)):
        if isinstance(ids, (str, bytes)):
            raise InputError(f"overlap_at_k takes a sequence of ids as {name!r}, not a bare string. Got {ids!r} instead.")
        items = as_list("overlap_at_k", ids, f"a sequence of ids as {name!r}")
        if not _hashable(tuple(items)):  # hashes every id, in C
            bad = next(i for i in items if not _hashable(i))
            raise InputError(f"overlap_at_k: the ids in {name!r} must be hashable (str, int...). Got {bad!r}.")
        lists.append(items)
    return _overlap(lists[0], lists[1], k)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _overlap(old: Sequence[Any], new: Sequence[Any], k: int) -> float:
    """:func:`overlap_at_k` without the checks (``k`` >= 1, ids hashable)."""
    a, b = list(dict.fromkeys(old))[:k], list(dict.fromkeys(new))[:k]
    size = max(len(a), len(b))
    return 1.0 if size == 0 else len(set(a) & set(b)) / size


def replay(log: pa.Table, retriever: Any, *, k: int = 10, key: Literal["doc_id", "row"] = "doc_id",
           batch_size: int = 64, dedupe: bool = True) -> dict[str, Any]:
    """Re-run the logged queries with ``retriever`` and compare with the logged results.

    Args:
        log: a query-log table (:func:`ragkit.observe.read_log`).
        retriever: anything with ``search_batch(queries, k, filters)`` returning hits.
        k: depth compared; queries logged with a smaller ``k`` are compared at their own ``k``.
        key: compare ``doc_id`` (safe across re-chunked versions) or chunk ``row`` (same rows only).
        batch_size: queries per ``search_batch`` call.
        dedupe: replay each distinct (query, filters) once (its most recent log entry).

    Returns:
        ``{"queries", "k", "key", "mean_overlap", "top1_same", "same_set", "per_query"}``
        (``same_set``: share of queries whose top-k set is unchanged);
        ``per_query`` is an Arrow table (query, filters, k, overlap, top1_same) sorted by overlap, lowest first.
    """
    k = check_int("replay", "k", k, low=1, error=InputError)
    check_choice("replay", "key", key, ("doc_id", "row"))
    batch_size = check_int("replay", "batch_size", batch_size, low=1, error=InputError)
    missing = [c for c in ("query", "filters", "k", "doc_ids", "rows") if c not in log.column_names]
    if missing:
        raise InputError(f"The query-log table lacks columns {missing}; pass a table from read_log().")
    queries = log.column("query").to_pylist()
    filters = log.column("filters").to_pylist()
    logged_k = log.column("k").to_pylist()
    old = log.column("doc_ids" if key == "doc_id" else "rows")
    picks = list(range(log.num_rows))
    if dedupe:  # the last entry of each (query, filters)
        picks = sorted({(q, f): i for i, (q, f) in enumerate(zip(queries, filters, strict=True))}.values())
    by_filter: dict[str | None, list[int]] = {}
    for i in picks:
        by_filter.setdefault(filters[i], []).append(i)
    overlap = np.zeros(len(picks))
    same_top = np.zeros(len(picks), dtype=bool)
    position = {i: j for j, i in enumerate(picks)}
    for fkey, members in by_filter.items():
        parsed = json.loads(fkey) if fkey else None
        for start in range(0, len(members), batch_size):
            chunk = members[start:start + batch_size]
            results = retriever.search_batch([queries[i] for i in chunk], k=k, filters=parsed)
            for i, hits in zip(chunk, results, strict=True):
                depth = min(k, int(logged_k[i]))
                was = old[i].as_py()[:depth]
                now = [h.doc_id if key == "doc_id" else h.chunk_row for h in hits][:depth]
                j = position[i]
                overlap[j] = _overlap(was, now, depth)
                same_top[j] = (bool(was) and bool(now) and was[0] == now[0]) or (not was and not now)
    per_query = pa.table({
        "query": [queries[i] for i in picks], "filters": [filters[i] for i in picks],
        "k": [min(k, int(logged_k[i])) for i in picks], "overlap": overlap, "top1_same": same_top,
    })
    per_query = per_query.take(pc.sort_indices(per_query, [("overlap", "ascending")]))
    n = len(picks)
    return {
        "queries": n, "k": k, "key": key,
        "mean_overlap": float(overlap.mean()) if n else float("nan"),
        "top1_same": float(same_top.mean()) if n else float("nan"),
        "same_set": float((overlap == 1.0).mean()) if n else float("nan"),
        "per_query": per_query,
    }
