"""Searching from an event loop: the sync search runs in a worker thread, at most ``n`` at once.

A search is CPU work (tokenising, the query model, FAISS and numpy kernels, all of which
release the GIL), so an ``async`` caller must not run it on the event loop. Every
retriever and wrapper has ``asearch`` / ``asearch_batch``: the same call as
``search`` / ``search_batch``, run through :func:`run_off_loop`.

Cancellation: a search that has not started yet is dropped (it never runs); one that has
started runs to its end in its thread (a search only reads one snapshot, and caches and
query logs are written only after it completed), its result is discarded, and its
:class:`AsyncLimit` slot is released only when the thread is done, so the limit always
bounds the threads really running.

Example:
    >>> limit = AsyncLimit(4)                                                # doctest: +SKIP
    >>> hits = await retriever.asearch("reset my password", k=5, limit=limit)  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from ragkit.core.errors import InputError
from ragkit.core.validation import check_int

if TYPE_CHECKING:  # asyncio and the thread pool load on first use: importing them costs a new process ~10 ms
    import asyncio

    import numpy as np

    from ragkit.core.results import Hit
    from ragkit.core.tracing import Tracer
    from ragkit.store.filters import Filter

__all__ = ["AsyncLimit", "AsyncRetriever", "run_off_loop"]

T = TypeVar("T")


class AsyncLimit:
    """At most ``max_concurrent`` searches running at once, each in a thread of its own pool.

    Share one between every retriever of a service to bound its CPU work; searches past
    the limit wait (in order) for a free thread. :meth:`close` shuts the pool down after the
    running searches.

    Raises:
        ConfigError: ``max_concurrent < 1``.
    """

    def __init__(self, max_concurrent: int = 4) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.max_concurrent = check_int("AsyncLimit", "max_concurrent", max_concurrent, low=1)
        self._executor = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="ragkit-search")
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0

    @property
    def running(self) -> int:
        """Searches running in the pool now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Searches submitted and not started yet."""
        return self._waiting

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``fn`` in the pool; the future of the running loop that gets its result."""
        import asyncio

        with self._lock:
            self._waiting += 1
        started = threading.Event()

        def call() -> T:
            with self._lock:
                self._waiting -= 1
                self._running += 1
            started.set()
            try:
                return fn()
            finally:
                with self._lock:
                    self._running -= 1

        inner = self._executor.submit(call)

        def forget(done: Any) -> None:  # cancelled before it started: it no longer waits
            if done.cancelled() and not started.is_set():
                with self._lock:
                    self._waiting -= 1

        inner.add_done_callback(forget)
        return asyncio.wrap_future(inner)

    def close(self) -> None:
        """Stop accepting searches; waits for the running ones."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return f"AsyncLimit({self.max_concurrent})"


async def run_off_loop(limit: AsyncLimit | None, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread (``limit``'s pool, or the loop's default executor).

    The caller's context variables go along (as with :func:`asyncio.to_thread`).

    Raises:
        InputError: ``limit`` is not an :class:`AsyncLimit`.
    """
    import asyncio

    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    if limit is None:
        return await asyncio.get_running_loop().run_in_executor(None, call)
    if not isinstance(limit, AsyncLimit):
        raise InputError(f"The 'limit' of an async search must be a ragkit AsyncLimit. Got {type(limit).__name__}.")
    return await limit.submit(call)


@runtime_checkable
class AsyncRetriever(Protocol):
    """A retriever that can also be awaited (every built-in retriever and wrapper)."""

    async def asearch(self, query: str, k: int = 10, filters: Filter | None = None, *, trace: Tracer | None = None,
                      query_vectors: np.ndarray | None = None, limit: AsyncLimit | None = None) -> list[Hit]: ...

    async def asearch_batch(self, queries: Sequence[str], k: int = 10, filters: Filter | None = None, *,
                            trace: Tracer | None = None, query_vectors: np.ndarray | None = None,
                            limit: AsyncLimit | None = None) -> list[list[Hit]]: ...
