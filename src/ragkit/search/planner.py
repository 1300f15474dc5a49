"""The one search path every retriever and every storage goes through.

A search runs, in order: validate the queries and ``k`` → hold one read snapshot of the
storage → compile the filter and access mask once (:class:`SearchContext`) → run the
retriever's legs (each reads the shared mask and, for dense legs, the query vectors
embedded once) → fuse → run the stages after fusion → keep only rows the principal may
see (defence in depth) → materialise hits with every leg's rank and score → let stages
that reshape hits (context expansion) finish them.

Retrievers describe *what* to search (their legs, fusion and stages); this module is
*how*, written once. Storages (single or sharded collections) are reached only through
:class:`ragkit.store.storage.SearchStorage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.core.errors import ConfigError
from ragkit.core.results import Candidates, Hit
from ragkit.core.validation import check_k, check_role, is_int
from ragkit.search.context import SearchContext
from ragkit.search.protocols import HitStage

if TYPE_CHECKING:
    from ragkit.core.tracing import Tracer
    from ragkit.search.protocols import Stage
    from ragkit.store.filters import Filter

__all__ = ["run_leg", "run_search", "stage_depths", "visible_only"]


def run_leg(leg: Any, context: SearchContext, k: int, *, own: bool = False) -> list[Candidates]:
    """Run one leg inside ``context`` and record its candidates under its name.

    A leg is anything with ``candidates(context, k)`` (every built-in retriever). A
    retriever that instead overrides ``retrieve(queries, k, filters)`` (or a wrapper such
    as a cache used as a leg) is called through ``retrieve``; what it returns is cut to
    the rows ``context`` allows, since it may not have applied the mask itself.
    ``own``: call ``candidates`` whatever the leg overrides (``retrieve`` itself does).
    """
    trace = context.trace
    if trace is not None:
        trace.enter(leg.name)
    if own or _uses_context(leg):
        found = leg.candidates(context, k)
    else:
        extra: dict[str, Any] = {}
        if trace is not None:
            extra["trace"] = trace
        if context.query_vectors is not None:
            extra["query_vectors"] = context.query_vectors
        found = [_allowed_only(c, context.mask) for c in leg.retrieve(context.queries, k, context.filters, **extra)]
    if trace is not None:
        trace.leg(leg.name, found)
        trace.enter("")
    context.legs[leg.name] = found
    return found


def _uses_context(leg: Any) -> bool:
    """True for legs that read the shared context; False for ones that only override ``retrieve``."""
    candidates = getattr(type(leg), "candidates", None)
    if candidates is None:
        return False
    from ragkit.search.base import BaseRetriever

    if isinstance(leg, BaseRetriever):
        # a subclass that overrides retrieve() but not candidates() wants its retrieve() used
        return not (type(leg).retrieve is not BaseRetriever.retrieve and candidates is BaseRetriever.candidates)
    return True


def run_search(retriever: Any, queries: Sequence[str], k: int, filters: Filter | None, *,
               trace: Tracer | None, query_vectors: np.ndarray | None, materialise: bool,
               stages: Sequence[Stage] = (), own: bool = False) -> list[list[Hit]] | list[Candidates]:
    """The search of ``retriever`` (its storage is ``retriever.collection``): hits, or rows when not ``materialise``.

    A composite retriever (one with sub-legs, such as hybrid) runs its legs and fuses in
    its ``candidates``; a single-leg retriever is itself the one leg.
    """
    k = check_k(type(retriever).__name__, k)
    storage = retriever.collection
    if trace is not None:
        check_role(type(retriever).__name__, "trace", trace, "Tracer", ("begin", "enter", "lap", "leg", "abandon", "end"))
        trace.begin(retriever.name, len(queries) if not isinstance(queries, str) else 1)
    try:
        with storage.reading():  # one version for the whole search
            context = SearchContext(storage, queries, filters, principal=retriever.principal, trace=trace,
                                    query_vectors=query_vectors)
            _compile_mask(context)
            wants = stage_depths(stages, k)
            composite = getattr(retriever, "composite", False)
            if composite:
                fused = retriever.candidates(context, wants[0])
            else:
                fused = run_leg(retriever, context, wants[0], own=own)
            if stages:  # a stage (a reranker) never sees a row the search may not return
                fused = [_allowed_only(c, context.mask) for c in fused]
                if composite:
                    context.legs.setdefault("fusion", fused)  # hits keep their fused rank and score
            for stage, want in zip(stages, wants[1:], strict=True):
                fused = stage.apply(context, fused, want)
                _lap(trace, stage.name)
            fused = [c if len(c) <= k else Candidates(c.rows[:k], c.scores[:k]) for c in fused]
            if storage.access_field is not None and retriever.principal is not None:
                visible = storage.access_mask(retriever.principal)
                fused = [visible_only(c, visible) for c in fused]
            if not materialise:
                result: list[Any] = fused
            else:
                result = [storage.hits(c, {name: per_query[q] for name, per_query in context.legs.items()})
                          for q, c in enumerate(fused)]
                _lap(trace, "hits")
                for stage in stages:
                    if isinstance(stage, HitStage):
                        result = stage.finish(context, result)
                        _lap(trace, f"{stage.name}.hits")
    except BaseException:
        if trace is not None:
            trace.abandon()
        raise
    if trace is not None:
        trace.end()
    return result


def stage_depths(stages: Sequence[Stage], k: int) -> list[int]:
    """Candidates per query asked of the retriever (first), then what each stage must return.

    Stage ``i`` returns enough for every stage after it: ``max(k, depth(k) of the later stages)``.

    Raises:
        ConfigError: a stage whose ``depth(k)`` is not an int >= k.
    """
    depths = []
    for stage in stages:
        want = stage.depth(k)
        if not is_int(want) or int(want) < k:
            raise ConfigError(f"Stage {getattr(stage, 'name', type(stage).__name__)!r}: depth({k}) must be an int >= k. "
                              f"Got {want!r} instead.")
        depths.append(int(want))
    after = [max([k, *depths[i + 1:]]) for i in range(len(depths))]
    return [max([k, *depths]), *after]


def _compile_mask(context: SearchContext) -> None:
    context.mask  # noqa: B018 - compiled once here, read by every leg
    _lap(context.trace, "filter")


def _lap(trace: Tracer | None, name: str) -> None:
    if trace is not None:
        trace.lap(name)



def visible_only(candidates: Candidates, visible: np.ndarray) -> Candidates:
    """Defence in depth: legs already pre-filter, so this never drops a row in a correct build."""
    return _allowed_only(candidates, visible)


def _allowed_only(candidates: Candidates, allowed: np.ndarray | None) -> Candidates:
    if allowed is None or len(candidates) == 0:
        return candidates
    rows = candidates.rows
    inside = (rows >= 0) & (rows < allowed.shape[0])
    keep = inside.copy()
    keep[inside] = allowed[rows[inside]]
    if keep.all():
        return candidates
    return Candidates(rows[keep], candidates.scores[keep])

