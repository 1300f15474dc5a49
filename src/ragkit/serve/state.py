"""The served collection: one opened version at a time, swapped for a newer one without dropping requests.

Each request takes a lease on the current :class:`Served` version and searches it to the
end. :meth:`CollectionHolder.refresh` opens a newly saved version (the on-disk snapshot
pinning of :meth:`ragkit.Collection.open` keeps every opened version's files alive),
warms it, and makes it current; the version it replaces is closed when its last lease is
returned. The query model is loaded once: every later version is opened with the same
embedder object.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.core.errors import IndexFormatError
from ragkit.core.validation import as_path
from ragkit.index.bm25 import warm_kernels
from ragkit.store.access import Principal
from ragkit.store.layout import LAYOUT, read_layout
from ragkit.store.manifest import read_manifest
from ragkit.store.sharded import open_collection

__all__ = ["CollectionHolder", "Served", "version_key"]

logger = logging.getLogger(__name__)

RetrieverFactory = Callable[[Any], Any]


def version_key(path: Path) -> tuple[str, ...]:
    """What names the saved version(s) at ``path``: the data folder of the collection, or of each shard.

    Raises:
        IndexFormatError / CorruptIndexError: not a (readable) collection.
    """
    if (path / LAYOUT).is_file():
        return tuple(f"{entry['name']}/{read_manifest(path / entry['name'])['data_dir']}" for entry in read_layout(path).shards)
    return (str(read_manifest(path)["data_dir"]),)


class Served:
    """One opened version: the collection, its retriever, the retrievers bound to each principal, its leases."""

    def __init__(self, collection: Any, retriever: Any, key: tuple[str, ...]) -> None:
        self.collection = collection
        self.retriever = retriever
        self.key = key
        self.opened_at = time.time()
        self.leases = 0
        self.retired = False
        self.closed = False
        self._bound: dict[Principal, Any] = {}
        self._lock = threading.Lock()

    def retriever_for(self, principal: Principal | None) -> Any:
        """The retriever bound to ``principal`` (made once per principal), or the unbound one for ``None``."""
        if principal is None:
            return self.retriever
        with self._lock:
            bound = self._bound.get(principal)
            if bound is None:
                bound = self._bound[principal] = self.retriever.bind(principal)
            return bound

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.collection.close()


class CollectionHolder:
    """Holds the current version of the collection at ``path``; see the module docstring.

    Args:
        path: the collection folder (single or sharded).
        build_retriever: makes the retriever of an opened collection.
        verify: check every file's checksum on open.

    Raises:
        IndexFormatError / CorruptIndexError: from opening the first version.
    """

    def __init__(self, path: str | Path, build_retriever: RetrieverFactory, *, verify: bool = True,
                 opener: Callable[..., Any] | None = None) -> None:
        self.path = as_path("CollectionHolder", path)
        self.build_retriever = build_retriever
        self.verify = verify
        self.opener = opener or open_collection  # opener(path, verify=..., embedder=...) -> a collection
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._current: Served | None = None
        self.reloads = 0

    @property
    def current(self) -> Served | None:
        return self._current

    def load(self) -> Served:
        """Open and warm the current version (idempotent)."""
        with self._refreshing:
            if self._current is None:
                self._current = self._open(None)
            return self._current

    def _open(self, embedder: Any) -> Served:
        key = version_key(self.path)
        options: dict[str, Any] = {"verify": self.verify}
        if embedder is not None:
            options["embedder"] = embedder
        collection = self.opener(self.path, **options)
        try:
            retriever = self.build_retriever(collection)
            warm(collection)
        except BaseException:
            collection.close()
            raise
        return Served(collection, retriever, key)

    def refresh(self) -> bool:
        """Serve the newest saved version if it is not the current one; whether it changed.

        Raises:
            RagkitError: the new version cannot be opened (the current one goes on being served).
        """
        with self._refreshing:
            old = self._current
            if old is None:
                self._current = self._open(None)
                return True
            key = version_key(self.path)
            if key == old.key:
                return False
            new = self._open(getattr(old.collection, "embedder", None))
            with self._lock:
                self._current = new
                old.retired = True
                idle = old.leases == 0
            if idle:
                old.close()
            self.reloads += 1
            logger.info("%s: now serving %s (was %s)", self.path, ",".join(new.key), ",".join(old.key))
            return True

    @contextlib.contextmanager
    def lease(self) -> Iterator[Served]:
        """The current version, kept open until the block ends (even if a newer one becomes current)."""
        with self._lock:
            served = self._current
            if served is None:
                raise IndexFormatError(f"{self.path}: no version is loaded yet.")
            served.leases += 1
        try:
            yield served
        finally:
            with self._lock:
                served.leases -= 1
                done = served.retired and served.leases == 0
            if done:
                served.close()

    def close(self) -> None:
        with self._refreshing, self._lock:
            served, self._current = self._current, None
            if served is not None:
                served.retired = True
                if served.leases == 0:
                    served.close()


def warm(collection: Any) -> None:
    """Do once what the first query would (load the query model, BM25's compiled kernels and score weights)."""
    warm_kernels()  # a single query would take the plain path: load the compiled one now
    every = np.ones(int(collection.num_rows), dtype=bool)  # filtered searches run other compiled kernels
    for index in collection.indexes.values():
        queries: Any = collection.embed_queries(["warm up"]) if index.kind == "vector" else ["warm up"]
        if index.kind in ("vector", "bm25"):
            index.search_rows(queries, 1)
            index.search_rows(queries, 1, every)
