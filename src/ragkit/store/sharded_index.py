"""One index of a sharded collection: each shard's index of that name searched (concurrently when the shards are
held elsewhere) and merged by one kernel (:func:`ragkit.core.topk.merge_top_k`), BM25 with corpus-wide statistics."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ragkit.core.errors import InputError, ReadOnlyError, ShardUnavailableError
from ragkit.core.protocols import IndexKind, SearchIndex
from ragkit.core.results import Candidates
from ragkit.core.rowsets import check_mask, check_row_ids
from ragkit.core.topk import merge_top_k
from ragkit.index.bm25 import CorpusStats

__all__ = ["ShardedIndex"]

logger = logging.getLogger(__name__)


class ShardedIndex:
    """One index of a sharded collection: the shards' indexes of that name, searched as one.

    Parts held in this process are searched one after the other (each already uses the
    cores through FAISS and numpy). Parts marked ``remote = True`` (held by other processes,
    such as :class:`ragkit.serve.ray_shards.RemoteIndex`) are searched concurrently, one
    thread waiting on each. A part that fails raises :class:`ShardUnavailableError`; the
    search then raises one error naming every failed shard, or, with ``partial=True``,
    merges the shards that answered and records the failures (``last_failures``, and a
    ``shards`` note on the trace): results are never silently missing a shard.
    """

    def __init__(self, kind: IndexKind, parts: Sequence[SearchIndex], offsets: np.ndarray,
                 stats: CorpusStats | None = None, *, names: Sequence[str] | None = None, partial: bool = False) -> None:
        self.kind: IndexKind = kind
        self.parts = list(parts)
        self.offsets = offsets
        self.stats = stats
        self.names = list(names) if names is not None else [f"shard {s}" for s in range(len(self.parts))]
        self.partial = partial
        self.last_timings: list[float] = []
        self.last_failures: dict[str, str] = {}

    @property
    def generation(self) -> int:
        return sum(int(p.generation) for p in self.parts)

    @property
    def num_rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_docs(self) -> int:
        return self.num_rows

    @property
    def dimension(self) -> int:
        return int(self.parts[0].dimension)  # type: ignore[attr-defined]

    def search_rows(self, queries: Any, k: int, allowed: np.ndarray | None = None, *, trace: Any = None) -> list[Candidates]:
        """Each shard's top-``k`` (with the corpus-wide BM25 statistics), merged by score (ties: lower row)."""
        allowed = check_mask(allowed, self.num_rows)
        def one(s: int) -> tuple[list[Candidates] | None, float, ShardUnavailableError | None]:
            part = self.parts[s]
            local = None if allowed is None else allowed[int(self.offsets[s]):int(self.offsets[s + 1])]
            start = time.perf_counter()
            try:
                if self.kind == "bm25":  # tokenising is timed once, in the first shard
                    found = part.search_rows(queries, k, local, stats=self.stats,  # type: ignore[call-arg]
                                             trace=trace if s == 0 and not remote else None)
                else:
                    found = part.search_rows(queries, k, local)
            except ShardUnavailableError as exc:
                return None, time.perf_counter() - start, exc
            return found, time.perf_counter() - start, None

        remote = any(getattr(p, "remote", False) for p in self.parts)
        if remote and len(self.parts) > 1:
            with ThreadPoolExecutor(max_workers=len(self.parts), thread_name_prefix="ragkit-shard") as pool:
                outcomes = list(pool.map(one, range(len(self.parts))))
        else:
            outcomes = [one(s) for s in range(len(self.parts))]
        self.last_timings = [seconds for _, seconds, _ in outcomes]
        errors = {self.names[s]: exc for s, (_, _, exc) in enumerate(outcomes) if exc is not None}
        failures = {name: exc.failures.get(name, str(exc)) for name, exc in errors.items()}
        self.last_failures = failures
        if failures:
            listed = "; ".join(str(exc) for exc in errors.values())
            if not self.partial:
                raise ShardUnavailableError(f"{len(failures)} of {len(self.parts)} shards did not answer the {self.kind} "
                                            f"search ({listed}); no results were returned.", failures)
            note = getattr(trace, "note", None)
            if note is not None:
                note("shards", f"partial {self.kind} results: {listed}")
            logger.warning("partial %s results without %s", self.kind, ", ".join(failures))
        answered = [s for s, (found, _, _) in enumerate(outcomes) if found is not None]
        return merge_top_k([outcomes[s][0] for s in answered], k,  # type: ignore[misc]
                           [int(self.offsets[s]) for s in answered])

    def score_rows(self, queries: Any, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The score of each global row of ``rows[q]`` for query ``q`` (a BM25 index: corpus-wide statistics),
        each row scored by the shard holding it."""
        if self.kind != "bm25":
            raise InputError("score_rows is a BM25 index's; a vector index gives row_vectors.")
        asked = [np.asarray(r, dtype=np.int64).ravel() for r in rows]
        out = [np.zeros(r.shape[0], dtype=np.float64) for r in asked]
        for s, part in enumerate(self.parts):
            lo, hi = int(self.offsets[s]), int(self.offsets[s + 1])
            inside = [(r >= lo) & (r < hi) for r in asked]
            if not any(m.any() for m in inside):
                continue
            local = part.score_rows(queries, [r[m] - lo for r, m in zip(asked, inside, strict=True)],  # type: ignore[attr-defined]
                                    stats=self.stats)
            for q, m in enumerate(inside):
                out[q][m] = local[q]
        return out

    @property
    def alive(self) -> np.ndarray:
        """Boolean mask of the rows that are not deleted, over every shard (a BM25 index)."""
        return np.concatenate([np.asarray(p.alive) for p in self.parts])  # type: ignore[attr-defined]

    def grouped(self, groups: np.ndarray, n_groups: int) -> ShardedIndex:
        """The document-level BM25 index over every shard (see ``BM25Index.grouped``), searched with
        corpus-wide document statistics. A document lies in one shard, so its group numbers
        (first-appearance order over the concatenated rows) form one range per shard.
        """
        if self.kind != "bm25":
            raise InputError("Only a BM25 index has a document-level view.")
        views, starts = [], [0]
        for s, part in enumerate(self.parts):
            local = groups[int(self.offsets[s]):int(self.offsets[s + 1])]
            first = starts[-1]
            count = int(local.max()) + 1 - first if local.size else 0
            views.append(part.grouped(local - first, count))  # type: ignore[attr-defined]
            starts.append(first + count)
        if starts[-1] != n_groups:
            raise InputError(f"grouped() got {n_groups} groups; the shards hold {starts[-1]}.")
        stats = CorpusStats.combine([v.statistics() for v in views])
        return ShardedIndex("bm25", views, np.asarray(starts, dtype=np.int64), stats, names=self.names, partial=self.partial)

    def row_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of global ``rows`` (a vector index), each read from the shard holding it."""
        rows = check_row_ids(rows, self.num_rows, "read the vectors of", unique=False)
        shard_of = np.searchsorted(self.offsets, rows, side="right") - 1
        out = np.empty((rows.size, self.dimension), dtype=np.float32)
        for s in np.unique(shard_of).tolist():
            sel = np.flatnonzero(shard_of == s)
            out[sel] = self.parts[s].row_vectors(rows[sel] - self.offsets[s])  # type: ignore[attr-defined]
        return out

    def get_config(self) -> dict[str, Any]:
        return self.parts[0].get_config()

    def _read_only(self, *_: Any, **__: Any) -> Any:
        raise ReadOnlyError("The index of a sharded collection is read-only; change a shard (Collection.open(shard)) instead.")

    build = add = delete = save = _read_only
