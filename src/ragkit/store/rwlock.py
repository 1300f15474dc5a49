"""A readers-writer lock: many concurrent searches, one mutation at a time, writers first."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = ["ReadWriteLock"]


class ReadWriteLock:
    """Shared (read) / exclusive (write) lock for one in-memory collection.

    Reads are re-entrant per thread (a search may call helpers that read again). A
    waiting writer blocks new readers from other threads, so a steady stream of
    searches cannot starve an update; a thread already reading may read again.
    Writes are not re-entrant and a thread holding a read must not ask to write.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0
        self._local = threading.local()

    def _depth(self) -> int:
        return getattr(self._local, "depth", 0)

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        depth = self._depth()
        if depth == 0:
            with self._cond:
                while self._writer or self._waiting_writers:
                    self._cond.wait()
                self._readers += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._cond:
                    self._readers -= 1
                    if self._readers == 0:
                        self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        if self._depth():
            raise RuntimeError("A thread holding a collection read lock cannot start a write (it would deadlock).")
        with self._cond:
            self._waiting_writers += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()
