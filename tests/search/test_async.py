"""asearch / asearch_batch: the sync search in a worker thread, bounded, cancellable, same results."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

import ragkit
from ragkit import BM25Retriever, DenseRetriever, HybridRetriever, Principal
from ragkit.cache import CachedRetriever, SemanticCache
from ragkit.core.results import Candidates
from ragkit.observe import Metrics, ObservedRetriever, QueryLog, Trace, read_log
from ragkit.search.aio import AsyncLimit, AsyncRetriever, run_off_loop
from ragkit.search.context import SearchContext

QUERIES = ["cats purr", "dogs bark at strangers", "fish swim in rivers", "horses sleep standing"]

BASES: dict[str, Callable[[Any], Any]] = {
    "bm25": BM25Retriever,
    "dense": DenseRetriever,
    "hybrid": HybridRetriever,
    "hybrid-score": lambda c: HybridRetriever(c, fusion="score", candidates=5),
}
WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "plain": lambda r: r,
    "cached": lambda r: CachedRetriever(r, SemanticCache(threshold=0.95)),
    "observed": lambda r: ObservedRetriever(r, metrics=Metrics()),
    "observed(cached)": lambda r: ObservedRetriever(CachedRetriever(r)),
}


class Gate:
    """A stage that records its threads and concurrency and, when closed, waits to be opened."""

    name = "gate"

    def __init__(self, *, closed: bool = False) -> None:
        self.open = threading.Event()
        if not closed:
            self.open.set()
        self.entered = threading.Semaphore(0)
        self.threads: list[str] = []
        self.calls = 0
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def depth(self, k: int) -> int:
        return k

    def apply(self, context: SearchContext, candidates: list[Candidates], k: int) -> list[Candidates]:
        with self._lock:
            self.calls += 1
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.threads.append(threading.current_thread().name)
        self.entered.release()
        try:
            assert self.open.wait(10), "gate never opened"
        finally:
            with self._lock:
                self.now -= 1
        return candidates


def _rows(results: list[list[ragkit.Hit]]) -> list[list[tuple[int, float]]]:
    return [[(h.chunk_row, h.score) for h in hits] for hits in results]


async def _entered(gate: Gate, times: int = 1) -> None:
    for _ in range(times):
        assert await asyncio.to_thread(gate.entered.acquire, True, 10)


@pytest.mark.parametrize("wrap", list(WRAPPERS))
@pytest.mark.parametrize("base", list(BASES))
def test_async_equals_sync(animal_collection: ragkit.Collection, base: str, wrap: str) -> None:
    sync = WRAPPERS[wrap](BASES[base](animal_collection))
    awaited = WRAPPERS[wrap](BASES[base](animal_collection))
    assert isinstance(awaited, AsyncRetriever)
    expected = sync.search_batch(QUERIES, 4, {"kind": "mammal"})

    async def main() -> tuple[list[list[ragkit.Hit]], list[list[ragkit.Hit]]]:
        batch = await awaited.asearch_batch(QUERIES, 4, {"kind": "mammal"})
        singles = await asyncio.gather(*(awaited.asearch(q, 4, {"kind": "mammal"}, limit=None) for q in QUERIES))
        return batch, list(singles)

    batch, singles = asyncio.run(main())
    assert _rows(batch) == _rows(expected)  # exactly: a batch of one may differ from a batch of four in the last ulp
    assert _rows(singles) == _rows([sync.search(q, 4, {"kind": "mammal"}) for q in QUERIES])
    assert [[h.legs for h in hits] for hits in batch] == [[h.legs for h in hits] for hits in expected]


def test_bound_retrievers_search_as_their_principal(animal_collection: ragkit.Collection) -> None:
    animal_collection.set_access_field("tags")
    plain = CachedRetriever(HybridRetriever(animal_collection))
    with pytest.raises(ragkit.AccessError):
        asyncio.run(plain.asearch("cats"))
    wild = plain.bind(Principal("u", groups=["wild"]))
    hits = asyncio.run(wild.asearch("cats dogs birds fish", k=10))
    tags = animal_collection.chunks.column("metadata")
    assert hits and all("wild" in tags[h.chunk_row].as_py()["tags"] for h in hits)
    assert _rows([hits]) == _rows([wild.search("cats dogs birds fish", k=10)])


def test_search_runs_off_the_event_loop_and_the_loop_stays_responsive(animal_collection: ragkit.Collection) -> None:
    gate = Gate(closed=True)
    retriever = BM25Retriever(animal_collection).then(gate)

    async def main() -> int:
        task = asyncio.create_task(retriever.asearch("cats", k=2))
        await _entered(gate)
        ticks = 0
        for _ in range(5):  # the loop keeps running while the search is blocked in its thread
            await asyncio.sleep(0.001)
            ticks += 1
        gate.open.set()
        hits = await task
        assert hits
        return ticks

    assert asyncio.run(main()) == 5
    assert gate.threads and gate.threads[0] != threading.main_thread().name


def test_a_limit_bounds_the_searches_running_at_once(animal_collection: ragkit.Collection) -> None:
    gate = Gate(closed=True)
    retriever = ObservedRetriever(HybridRetriever(animal_collection).then(gate))
    limit = AsyncLimit(2)

    async def main() -> list[list[ragkit.Hit]]:
        tasks = [asyncio.create_task(retriever.asearch(q, k=3, limit=limit)) for q in QUERIES * 2]
        await _entered(gate, 2)
        await asyncio.sleep(0.05)
        assert (limit.running, limit.waiting) == (2, len(tasks) - 2)
        gate.open.set()
        return list(await asyncio.gather(*tasks))

    try:
        got = asyncio.run(main())
    finally:
        limit.close()
    assert gate.peak == 2 and gate.calls == len(QUERIES) * 2
    assert all(t.startswith("ragkit-search") for t in gate.threads)
    assert _rows(got) == _rows([HybridRetriever(animal_collection).search(q, 3) for q in QUERIES * 2])


def test_cancellation_drops_waiting_searches_and_lets_running_ones_finish_whole(animal_collection: ragkit.Collection,
                                                                              tmp_path: Any) -> None:
    gate = Gate(closed=True)
    log = QueryLog(tmp_path / "log")
    retriever = ObservedRetriever(BM25Retriever(animal_collection).then(gate), query_log=log)
    limit = AsyncLimit(1)
    trace = Trace()

    async def main() -> None:
        running = asyncio.create_task(retriever.asearch_batch(QUERIES, k=2, trace=trace, limit=limit))
        await _entered(gate)
        waiting = asyncio.create_task(retriever.asearch("never runs", k=2, limit=limit))
        await asyncio.sleep(0.02)
        assert (limit.running, limit.waiting) == (1, 1)
        waiting.cancel()
        running.cancel()
        for task in (waiting, running):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert limit.waiting == 0
        assert limit.running == 1  # the started search still holds its slot: the limit counts real threads
        gate.open.set()
        for _ in range(500):
            if limit.running == 0:
                break
            await asyncio.sleep(0.01)
        assert limit.running == 0
        again = await retriever.asearch("cats purr", k=2, limit=limit)  # the limit is free again
        assert _rows([again]) == _rows([BM25Retriever(animal_collection).search("cats purr", 2)])

    try:
        asyncio.run(main())
    finally:
        limit.close()
    log.close()
    assert gate.calls == 2  # the cancelled waiting search never ran
    assert trace.total is not None and len(trace.legs["bm25"].candidates) == len(QUERIES)  # finished whole, not abandoned
    logged = read_log(tmp_path / "log").column("query").to_pylist()
    assert logged == [*QUERIES, "cats purr"]  # the cancelled-but-running batch logged whole; nothing of the dropped one


def test_a_timeout_around_asearch_leaves_the_cache_consistent(animal_collection: ragkit.Collection) -> None:
    gate = Gate(closed=True)
    inner = HybridRetriever(animal_collection).then(gate)
    cached = CachedRetriever(inner)

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(cached.asearch("cats purr", k=3), 0.05)
        gate.open.set()
        await asyncio.sleep(0)

    asyncio.run(main())
    for _ in range(500):  # the timed-out search completes in its thread and caches a whole answer
        if gate.now == 0 and len(cached.cache) == 1:
            break
        threading.Event().wait(0.01)
    assert _rows([cached.search("cats purr", 3)]) == _rows([HybridRetriever(animal_collection).search("cats purr", 3)])
    assert cached.last_sources == ["exact"]


def test_errors_come_back_from_the_thread(animal_collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(animal_collection)
    with pytest.raises(ragkit.InputError):
        asyncio.run(retriever.asearch("cats", k=0))
    with pytest.raises(ragkit.InputError):
        asyncio.run(retriever.asearch_batch(["cats", ""], k=2))
    with pytest.raises(ragkit.InputError, match="AsyncLimit"):
        asyncio.run(retriever.asearch("cats", limit=4))  # type: ignore[arg-type]
    with pytest.raises(ragkit.ConfigError, match="max_concurrent"):
        AsyncLimit(0)


def test_traces_and_context_reach_the_worker_thread(animal_collection: ragkit.Collection) -> None:
    import contextvars

    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")
    seen: list[str] = []

    def read() -> str:
        seen.append(marker.get())
        return marker.get()

    async def main() -> Trace:
        marker.set("request-7")
        assert await run_off_loop(None, read) == "request-7"
        limit = AsyncLimit(1)
        try:
            assert await run_off_loop(limit, read) == "request-7"
        finally:
            limit.close()
        trace = Trace()
        await HybridRetriever(animal_collection).asearch_batch(QUERIES, 3, trace=trace)
        return trace

    trace = asyncio.run(main())
    assert seen == ["request-7", "request-7"]
    assert {"bm25", "dense"} <= set(trace.legs) and trace.total is not None
