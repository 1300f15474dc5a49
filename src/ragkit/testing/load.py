"""A concurrent query load: many threads searching one collection, checked against a single-threaded run.

Shared by ``benchmarks/load_hybrid.py`` and the test suite.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ragkit.core.results import Hit

__all__ = ["LoadReport", "run_load", "fingerprint"]

#: One query of the load: (query text, filters or None, principal or None).
Request = tuple[str, Any, Any]


def fingerprint(hits: Sequence[Hit]) -> tuple[tuple[int, float], ...]:
    """What must match between runs: each hit's row and score."""
    return tuple((h.chunk_row, h.score) for h in hits)


@dataclass(frozen=True)
class LoadReport:
    threads: int
    queries: int
    seconds: float
    throughput_qps: float
    p50_ms: float
    p99_ms: float
    errors: int
    mismatches: int
    first_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_load(search: Callable[[Request], Sequence[Hit]], requests: Sequence[Request], *, threads: int, per_thread: int,
             expected: dict[int, tuple[tuple[int, float], ...]] | None = None) -> LoadReport:
    """Run ``threads`` threads, each sending ``per_thread`` requests (cycling through ``requests``), one at a time.

    ``expected`` maps a request's index to the fingerprint it must produce (from a
    single-threaded run); a different result counts as a mismatch, an exception as an error.
    """
    latencies = np.zeros((threads, per_thread), dtype=np.float64)
    errors = [0] * threads
    mismatches = [0] * threads
    first_error: list[str] = []
    start_gate = threading.Barrier(threads + 1)

    def worker(t: int) -> None:
        start_gate.wait()
        for i in range(per_thread):
            index = (t * 7919 + i) % len(requests)  # threads walk the requests from different places
            began = time.perf_counter()
            try:
                hits = search(requests[index])
            except Exception as exc:  # counted and reported, not raised: the load goes on
                errors[t] += 1
                if not first_error:
                    first_error.append(f"{type(exc).__name__}: {exc}")
                continue
            finally:
                latencies[t, i] = time.perf_counter() - began
            if expected is not None and fingerprint(hits) != expected[index]:
                mismatches[t] += 1

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    start_gate.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - began
    total = threads * per_thread
    return LoadReport(
        threads=threads, queries=total, seconds=round(seconds, 3), throughput_qps=round(total / seconds, 1),
        p50_ms=round(float(np.percentile(latencies, 50)) * 1e3, 3), p99_ms=round(float(np.percentile(latencies, 99)) * 1e3, 3),
        errors=sum(errors), mismatches=sum(mismatches), first_error=first_error[0] if first_error else None,
    )
