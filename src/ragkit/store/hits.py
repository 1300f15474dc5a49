"""Ranked rows → :class:`Hit` records: one implementation for every storage."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import from_numpy
from ragkit.core.results import Candidates, Hit, LegScore

__all__ = ["hit_records", "leg_scores"]


def leg_scores(rows: np.ndarray, legs: Mapping[str, Candidates] | None) -> list[dict[str, LegScore]]:
    """For each of ``rows``: the 1-based rank and score it had in every leg that returned it."""
    out: list[dict[str, LegScore]] = [{} for _ in range(rows.shape[0])]
    for name, found in (legs or {}).items():
        if len(found) == 0:
            continue
        order = np.argsort(found.rows, kind="stable")
        sorted_rows = found.rows[order]
        at = np.searchsorted(sorted_rows, rows)
        at_clipped = np.minimum(at, sorted_rows.shape[0] - 1)
        hit = sorted_rows[at_clipped] == rows
        for i in np.flatnonzero(hit).tolist():
            j = int(order[at_clipped[i]])
            out[i][name] = LegScore(rank=j + 1, score=float(found.scores[j]))
    return out


def hit_records(chunks: pa.Table, candidates: Candidates, legs: Mapping[str, Candidates] | None = None, *,
                row_ids: np.ndarray | None = None, hidden: str | None = None) -> list[Hit]:
    """:class:`Hit` records for ``candidates`` (rows of ``chunks``), reading only those rows.

    ``row_ids``: the row numbers to report (default ``candidates.rows``; a sharded storage
    reads local rows of a shard and reports global ones). ``legs`` are in reported rows.
    ``hidden``: a metadata field left out of every hit (the access field: it names other principals).
    """
    if len(candidates) == 0:
        return []
    reported = candidates.rows if row_ids is None else row_ids
    records = chunks.take(from_numpy(candidates.rows)).to_pylist()
    per_leg = leg_scores(reported, legs)
    out = []
    for row_id, score, row, leg in zip(reported.tolist(), candidates.scores.tolist(), records, per_leg, strict=True):
        meta = {k: v for k, v in (row["metadata"] or {}).items() if v is not None and k != hidden}
        out.append(Hit(score=score, doc_id=row["doc_id"], chunk_row=row_id, text=row["text"], start=row["start"],
                       end=row["end"], position=row["position"], metadata=meta, legs=leg))
    return out
