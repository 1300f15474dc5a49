"""The interface search stages report to; :class:`ragkit.observe.Trace` implements it.

Retrievers and wrappers call these methods and nothing else, so a tracer can be any
object with them (a no-op, a metrics bridge, an OpenTelemetry span builder). Without a
tracer, a stage does one ``is not None`` check and takes no timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ragkit.core.results import Candidates

__all__ = ["Tracer"]


@runtime_checkable
class Tracer(Protocol):
    """Receives the timeline of one ``search`` / ``search_batch`` call.

    A tracer may also have ``note(name, message)``: stages after fusion call it, when
    present, to say how a call went (a reranker cut short by its time budget).
    """

    def begin(self, retriever: str, n_queries: int) -> None:
        """A call starts (nested calls, such as a wrapper and the retriever it wraps, join one timeline)."""
        ...

    def enter(self, scope: str) -> None:
        """The stages that follow belong to leg ``scope`` (``""``: to the whole search)."""
        ...

    def lap(self, name: str) -> None:
        """Stage ``name`` ended now: it took the time since the previous lap."""
        ...

    def leg(self, name: str, candidates: Sequence[Candidates]) -> None:
        """What leg ``name`` returned for each query, before fusion."""
        ...

    def abandon(self) -> None:
        """The call failed: close every open level."""
        ...

    def end(self) -> None:
        """The call finished."""
        ...
