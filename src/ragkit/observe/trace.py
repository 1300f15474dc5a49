"""Per-search traces: how long each stage took, and what each leg found.

A :class:`Trace` is passed to ``search``/``search_batch`` (``trace=Trace()``); the
retrievers record consecutive *laps* into it (filter, tokenize, embed, search per leg,
fusion, hits), so the stage times add up to the time of the call. Without a trace the
retrievers do one ``is not None`` check per stage and take no timestamps.

Example:
    >>> trace = Trace()
    >>> hits = HybridRetriever(collection).search("fusion", k=5, trace=trace)   # doctest: +SKIP
    >>> print(trace.table())                                                      # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragkit.core.results import Candidates

__all__ = ["LegTrace", "Stage", "StageHook", "Trace"]


@dataclass(frozen=True, slots=True)
class Stage:
    """One timed step of a search: ``name`` is ``"<leg>.<step>"`` inside a leg (``"bm25.tokenize"``)."""

    name: str
    start: float  # seconds after the trace began
    seconds: float


@dataclass(frozen=True, slots=True)
class LegTrace:
    """What one leg returned for each query it searched (before fusion).

    Behind a cache only the missed queries are searched: then ``candidates`` has fewer
    entries than the call had queries.
    """

    name: str
    candidates: tuple[Candidates, ...]

    @property
    def counts(self) -> np.ndarray:
        """Candidates per query (int64)."""
        return np.fromiter((len(c) for c in self.candidates), dtype=np.int64, count=len(self.candidates))

    @property
    def top_scores(self) -> np.ndarray:
        """Best score per query (float64; NaN where the leg found nothing)."""
        return np.fromiter((c.scores[0] if len(c) else np.nan for c in self.candidates), dtype=np.float64,
                           count=len(self.candidates))


StageHook = Callable[[Stage], None]


class Trace:
    """Stage timings and per-leg candidates of one ``search`` / ``search_batch`` call.

    Args:
        hook: called once with each :class:`Stage` as soon as it is recorded (e.g.
            :meth:`ragkit.observe.Metrics.stage_hook`).

    A trace describes the last call it was given to; passing it to a new call starts it afresh.
    """

    def __init__(self, hook: StageHook | None = None) -> None:
        self.hook = hook
        self.scope = ""  # the leg being run (set by enter()): prefixes stage names
        self.retriever = ""
        self.n_queries = 0
        self.stages: list[Stage] = []
        self.legs: dict[str, LegTrace] = {}
        self.notes: dict[str, str] = {}  # what a stage wants known (a reranker's time budget cut it short)
        self.total: float | None = None
        self.wall_start_ns = time.time_ns()
        self._origin = self._last = time.perf_counter()
        self._depth = 0  # nested begin/end (a wrapper and the retriever it calls) share one timeline

    # -- recording (called by retrievers) -----------------------------------------------
    def begin(self, retriever: str, n_queries: int) -> None:
        """Start timing a call of ``retriever`` over ``n_queries`` queries (clears earlier records).

        Inside an unfinished call (a wrapper such as ``CachedRetriever`` calling its retriever) it only
        nests: the inner call's stages join the outer timeline.
        """
        self._depth += 1
        if self._depth > 1:
            return
        self.retriever, self.n_queries, self.scope = retriever, n_queries, ""
        self.stages, self.legs, self.notes, self.total = [], {}, {}, None
        self.wall_start_ns = time.time_ns()
        self._origin = self._last = time.perf_counter()

    def enter(self, scope: str) -> None:
        """The stages recorded next belong to leg ``scope`` (``""``: to the search as a whole)."""
        self.scope = scope

    def lap(self, name: str) -> None:
        """Close the stage ``name``: the time since the previous lap (or the start)."""
        now = time.perf_counter()
        stage = Stage(f"{self.scope}.{name}" if self.scope else name, self._last - self._origin, now - self._last)
        self._last = now
        self.stages.append(stage)
        if self.hook is not None:
            self.hook(stage)

    def leg(self, name: str, candidates: Sequence[Candidates]) -> None:
        """Record what leg ``name`` returned for each query."""
        self.legs[name] = LegTrace(name, tuple(candidates))

    def note(self, name: str, message: str) -> None:
        """Stage ``name`` reports something about this call (e.g. it degraded to meet a time budget)."""
        self.notes[name] = message

    def abandon(self) -> None:
        """The call failed: close every open level (the trace stays unfinished, ``total`` None)."""
        self._depth, self.scope = 0, ""

    def end(self) -> None:
        """Stop the clock (at the outermost call): :attr:`total` is the time since :meth:`begin`."""
        self.scope = ""
        self._depth = max(self._depth - 1, 0)
        if self._depth == 0:
            self.total = time.perf_counter() - self._origin

    # -- reading -------------------------------------------------------------------------
    @property
    def stage_seconds(self) -> dict[str, float]:
        """Seconds per stage name (summed if a name repeats)."""
        out: dict[str, float] = {}
        for s in self.stages:
            out[s.name] = out.get(s.name, 0.0) + s.seconds
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-data view (JSON-serialisable): stages, per-leg counts and top scores, total."""
        return {
            "retriever": self.retriever,
            "n_queries": self.n_queries,
            "total_seconds": self.total,
            "stages": [{"name": s.name, "start": s.start, "seconds": s.seconds} for s in self.stages],
            "legs": {
                name: {"counts": leg.counts.tolist(),
                       "top_scores": [None if np.isnan(x) else float(x) for x in leg.top_scores]}
                for name, leg in self.legs.items()
            },
            "notes": dict(self.notes),
        }

    def table(self) -> str:
        """A text table of the stages (milliseconds and share of the total) and the legs."""
        total = self.total if self.total else sum(s.seconds for s in self.stages)
        lines = [f"trace: {self.retriever} over {self.n_queries} quer{'y' if self.n_queries == 1 else 'ies'}",
                 f"  {'stage':<22} {'ms':>9} {'share':>7}"]
        for s in self.stages:
            share = s.seconds / total if total else 0.0
            lines.append(f"  {s.name:<22} {s.seconds * 1e3:>9.2f} {share:>7.1%}")
        lines.append(f"  {'total':<22} {total * 1e3:>9.2f}")
        for name, leg in self.legs.items():
            counts, tops = leg.counts, leg.top_scores
            best = "n/a" if np.isnan(tops).all() else f"{np.nanmean(tops):.4f}"
            lines.append(f"  leg {name}: {int(counts.sum())} candidates over {len(counts)} quer"
                         f"{'y' if len(counts) == 1 else 'ies'}, mean top-1 score {best}")
        lines.extend(f"  note {name}: {message}" for name, message in self.notes.items())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Trace(retriever={self.retriever!r}, stages={len(self.stages)}, total={self.total})"
