"""Ctrl-C during a batch build: stop at once, keep what is saved, say how to resume.

:class:`BuildInterrupted` is what :func:`~ragkit.pipeline.index_corpus` raises when a
``KeyboardInterrupt`` stops it; :func:`prefetch` runs the read-and-chunk of the next shard in
a daemon thread, so an interrupted process exits without waiting for it (it writes nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from ragkit.core.wording import count

__all__ = ["BuildInterrupted", "prefetch"]

T = TypeVar("T")


class BuildInterrupted(KeyboardInterrupt):
    """A ``KeyboardInterrupt`` stopped a build; the shards it finished stay for ``resume``.

    Still a ``KeyboardInterrupt``, so code that catches that keeps working. ``shards_done`` of
    ``shards`` (``documents_done`` of ``documents``) are saved in ``staging``; a run with
    ``resume=True`` and the same settings continues from them.
    """

    def __init__(self, out: Path, staging: Path, shards_done: int, shards: int, documents_done: int, documents: int) -> None:
        self.out, self.staging = Path(out), Path(staging)
        self.shards_done, self.shards = shards_done, shards
        self.documents_done, self.documents = documents_done, documents
        super().__init__(self.saved())

    def saved(self) -> str:
        """``"2 of 6 shards (2,000 of 5,183 documents) are saved in OUT/.staging"``."""
        if self.shards_done == 0:
            return f"nothing was saved yet (0 of {count(self.shards, 'shard')})"
        verb = "is" if self.shards_done == 1 else "are"
        return (f"{self.shards_done:,} of {count(self.shards, 'shard')} ({self.documents_done:,} of "
                f"{count(self.documents, 'document')}) {verb} saved in {self.staging}")


def prefetch(work: Callable[[Any], T], item: Any) -> Future[T]:
    """``work(item)`` in a daemon thread; its result (or exception) comes from ``future.result()``."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work(item))
        except BaseException as exc:  # handed to the caller by future.result()
            future.set_exception(exc)

    threading.Thread(target=run, name="ragkit-prepare", daemon=True).start()
    return future
