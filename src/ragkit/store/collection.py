"""A collection: the chunk table, the embedder that made its vectors, and its indexes."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import from_numpy
from ragkit.core.errors import AccessError, IndexFormatError, InputError, ModelMismatchError, RagkitError
from ragkit.core.protocols import Embedder, IndexKind, SearchIndex
from ragkit.core.results import Candidates, Hit
from ragkit.core.validation import as_path
from ragkit.store import folder, persist, updates
from ragkit.store.access import AccessMasks, check_access_field
from ragkit.store.filters import Filter, filter_mask
from ragkit.store.hits import hit_records
from ragkit.store.layout import LAYOUT
from ragkit.store.registry import resolve_component
from ragkit.store.rwlock import ReadWriteLock

if TYPE_CHECKING:
    from ragkit.store.access import Principal

__all__ = ["Collection"]

logger = logging.getLogger(__name__)


def _token() -> str:
    return uuid.uuid4().hex[:16]

class Collection:
    """Chunks plus the indexes built over them, saved as one folder.

    Build one with :func:`ragkit.build_collection`; reopen a saved one with :meth:`Collection.open`.
    Row ``i`` of :attr:`chunks` is row ``i`` of every index. :meth:`add`, :meth:`delete` and :meth:`upsert`
    change it in memory (all indexes together, by chunk id ``"<doc_id>#<position>"``); :meth:`save` persists
    the new version atomically. :attr:`version` changes on every change.

    Thread safety: searches run concurrently; a change waits for running searches and
    holds new ones back until it is complete, so every search sees one whole version.

    Example:
        >>> col = Collection.open("indexes/docs")                    # doctest: +SKIP
        >>> col.num_chunks, sorted(col.indexes)                      # doctest: +SKIP
        (412, ['bm25', 'vector'])

    Raises:
        IndexFormatError / CorruptIndexError: on opening an incomplete, foreign or damaged folder.
        ModelMismatchError: if the embedder given to ``open`` is not the one the vectors came from.
    """

    def __init__(self, chunks: pa.Table, indexes: Mapping[str, SearchIndex], *, embedder: Embedder | None = None,
                 chunker_config: Mapping[str, Any] | None = None, embedder_info: Mapping[str, Any] | None = None,
                 access_field: str | None = None, alive: np.ndarray | None = None, version: str | None = None,
                 generation: int = 0) -> None:
        self.chunks = chunks
        self.indexes: dict[str, SearchIndex] = dict(indexes)
        self.embedder = embedder
        self.chunker_config = dict(chunker_config) if chunker_config else None
        self._embedder_info = dict(embedder_info) if embedder_info else None
        self._dimension_checked = False
        self._alive = np.ones(chunks.num_rows, dtype=bool) if alive is None else np.asarray(alive, dtype=bool).copy()
        self._version = version or _token()
        self._generation = int(generation)
        self._lock = ReadWriteLock()
        self._access_masks = AccessMasks()
        self._access_field: str | None = None
        self._base: dict[str, str] = {}  # real path of a folder -> data folder this object last read/wrote there
        self._snapshot: folder.SnapshotLock | None = None
        self._broken: BaseException | None = None
        self._chunker: Any = None
        if access_field is not None:
            self._access_field = check_access_field(chunks, access_field)

    # -- description ------------------------------------------------------------------
    @property
    def version(self) -> str:
        """Opaque token naming the current content; a new one after every add/delete/upsert."""
        return self._version

    @property
    def generation(self) -> int:
        """How many changes this collection has had since it was built (saved with it)."""
        return self._generation

    @property
    def embedder_info(self) -> dict[str, Any] | None:
        """What the saved manifest recorded about the embedder (model id, dimension), or ``None``."""
        return None if self._embedder_info is None else dict(self._embedder_info)

    @property
    def access_field(self) -> str | None:
        """Metadata field holding who may see each chunk (see :meth:`set_access_field`)."""
        return self._access_field

    @property
    def alive(self) -> np.ndarray:
        """Boolean mask of the rows that are not deleted (a copy)."""
        return self._alive.copy()

    @property
    def num_rows(self) -> int:
        """Rows of the chunk table, deleted ones included (row numbers are never reused)."""
        return int(self.chunks.num_rows)

    @property
    def num_chunks(self) -> int:
        """Chunks that are not deleted."""
        return int(self._alive.sum())

    @property
    def num_documents(self) -> int:
        import pyarrow.compute as pc
        doc_ids = pc.filter(self.chunks.column("doc_id"), from_numpy(self._alive))
        return int(pc.count_distinct(doc_ids).as_py())

    def __len__(self) -> int:
        return self.num_chunks

    def __repr__(self) -> str:
        return f"Collection(chunks={self.num_chunks}, indexes={sorted(self.indexes)})"

    def index(self, name: str) -> SearchIndex:
        """The index called ``name``.

        Raises:
            InputError: listing the index names this collection has.
        """
        if not isinstance(name, str) or name not in self.indexes:
            raise InputError(f"This collection has no index {name!r}; it has: {', '.join(sorted(self.indexes))}.")
        return self.indexes[name]

    def index_of_kind(self, kind: IndexKind) -> str:
        """Name of the first index of ``kind`` (``"vector"`` or ``"bm25"``)."""
        for name, idx in self.indexes.items():
            if idx.kind == kind:
                return name
        raise InputError(f"This collection has no {kind} index; it has: {', '.join(sorted(self.indexes)) or 'none'}.")

    def chunk_ids(self) -> list[str]:
        """Ids (``doc_id#position``) of the live chunks, in row order."""
        import pyarrow.compute as pc

        with self.reading():
            return pc.filter(updates.chunk_ids(self.chunks), from_numpy(self._alive)).to_pylist()  # type: ignore[no-any-return]

    # -- concurrency -------------------------------------------------------------------
    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the current version for the ``with`` body: changes wait until it ends (re-entrant)."""
        with self._lock.read():
            yield

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        with self._lock.write():
            self._check_usable()
            yield

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise RagkitError(
                f"This collection is in an inconsistent state after an update failed midway ({self._broken!r}); "
                "nothing of it was saved. Reopen it from disk with Collection.open."
            ) from self._broken

    def _bump(self) -> None:
        self._version = _token()
        self._generation += 1
        self._access_masks.clear()

    # -- querying helpers -----------------------------------------------------------
    def filter_mask(self, filters: Filter | None, principal: Principal | None = None) -> np.ndarray | None:
        """Rows satisfying ``filters`` and visible to ``principal`` (``None``: every row).

        Raises:
            FilterError: a malformed filter.
            AccessError: the collection has an access field and no principal was given.
        """
        mask = filter_mask(self.chunks, filters)
        if self._access_field is None:
            return mask
        if principal is None:
            raise AccessError(
                f"This collection restricts access by metadata field {self._access_field!r}; bind the retriever "
                "to a principal first: retriever.bind(Principal('user-id', groups=[...]))."
            )
        allowed = self.access_mask(principal)
        return allowed if mask is None else mask & allowed

    def access_mask(self, principal: Principal) -> np.ndarray:
        """Rows ``principal`` may see (all rows when the collection has no access field)."""
        with self.reading():
            return self._access_masks.get(self.chunks, self._access_field, principal)

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Embed queries with the collection's embedder, checking it matches the index."""
        if self.embedder is None:
            raise InputError("This collection has no embedder; vector search needs one (pass embedder=...).")
        vectors = self.embedder.embed_queries(queries)
        if not self._dimension_checked and self._embedder_info is not None:
            expected = self._embedder_info.get("dimension")
            if expected is not None and vectors.shape[1] != expected:
                raise ModelMismatchError(
                    f"The query embedder {self.embedder.model_id!r} gives {vectors.shape[1]}-d vectors but "
                    f"this collection's vectors are {expected}-d ({self._embedder_info.get('model_id')})."
                )
            self._dimension_checked = True
        return vectors

    def hits(self, candidates: Candidates, legs: Mapping[str, Candidates] | None = None) -> list[Hit]:
        """Turn ranked rows into :class:`Hit` records (reads only those rows)."""
        return hit_records(self.chunks, candidates, legs, hidden=self._access_field)

    # -- changes ---------------------------------------------------------------------
    def add(self, items: Sequence[Any], vectors: np.ndarray | None = None, *, chunker: Any = None) -> list[str]:
        """Add Documents (chunked with ``chunker`` or the collection's chunker) or Chunks; returns their chunk ids.

        ``vectors`` (one unit row per chunk) skip embedding; otherwise the collection's
        embedder embeds the new chunks. Every index gets the rows; nothing is written to
        disk until :meth:`save`.

        Raises:
            InputError: malformed items, ids already in the collection (use :meth:`upsert`),
                vectors of the wrong shape or not finite, metadata of another type.
            EmptyCorpusError: nothing to add.
            DimensionMismatchError: vectors of another dimension than the vector index.
        """
        with self._changing():
            chunks, _, _ = updates.to_chunks(items, self._resolve_chunker(chunker))
            updates.refuse_existing(self.chunks, self._alive, chunks)
            return self._append(chunks, *self._prepare(chunks, vectors))

    def delete(self, chunk_ids: Sequence[str] | None = None, *, doc_ids: Sequence[str] | None = None) -> int:
        """Delete chunks by id, and/or every chunk of the given documents; returns how many.

        Raises:
            InputError: no ids, duplicates, or ids the collection does not hold (nothing is deleted).
        """
        with self._changing():
            rows = updates.rows_for_ids(self.chunks, self._alive, chunk_ids_=chunk_ids, doc_ids=doc_ids)
            self._remove(rows)
            self._bump()
            return int(rows.size)

    def upsert(self, items: Sequence[Any], vectors: np.ndarray | None = None, *, chunker: Any = None) -> list[str]:
        """Replace (or add) Documents - all their chunks - or Chunks by chunk id, in one change.

        Raises:
            the errors of :meth:`add`.
        """
        with self._changing():
            chunks, doc_ids, documents = updates.to_chunks(items, self._resolve_chunker(chunker))
            if documents:
                old = updates.rows_for_ids(self.chunks, self._alive, doc_ids=doc_ids, missing_ok=True)
            else:
                ids = [f"{c.doc_id}#{c.position}" for c in chunks]
                old = updates.rows_for_ids(self.chunks, self._alive, chunk_ids_=ids, missing_ok=True)
            prepared = self._prepare(chunks, vectors)  # everything that can fail, before anything changes
            if old.size:
                self._remove(old)
            return self._append(chunks, *prepared)

    def set_access_field(self, field: str | None) -> None:
        """Restrict every search to the chunks the bound principal may see.

        ``field`` is a metadata field holding a str (e.g. a tenant id) or a list of str (ACL
        groups); a principal sees a chunk when one of its tokens (its id or groups) is
        among them. A chunk without the field is visible to nobody. ``None`` lifts the
        restriction. Saved with the collection.

        Raises:
            ConfigError: the field is not a str or list-of-str metadata field of the chunks.
        """
        with self._changing():
            self._access_field = None if field is None else check_access_field(self.chunks, field)
            self._bump()

    def _resolve_chunker(self, chunker: Any) -> Any:
        if chunker is not None:
            return chunker
        if self._chunker is None and self.chunker_config is not None:
            self._chunker = resolve_component(self.chunker_config.get("type")).from_config(self.chunker_config)
        return self._chunker

    def _prepare(self, chunks: Sequence[Any], vectors: np.ndarray | None) -> tuple[pa.Table, list[str], np.ndarray | None]:
        vector_indexes = [i for i in self.indexes.values() if i.kind == "vector"]
        return updates.prepare(self.chunks, chunks, vectors, vector_indexes, self.embedder)  # raises before any change

    def _append(self, chunks: Sequence[Any], table: pa.Table, texts: list[str], vectors: np.ndarray | None) -> list[str]:
        try:
            for idx in self.indexes.values():
                idx.add(vectors if idx.kind == "vector" else texts)
        except BaseException as exc:
            self._broken = exc
            raise
        self.chunks = table
        self._alive = np.concatenate([self._alive, np.ones(len(chunks), dtype=bool)])
        self._bump()
        return [f"{c.doc_id}#{c.position}" for c in chunks]

    def _remove(self, rows: np.ndarray) -> None:
        try:
            for idx in self.indexes.values():
                idx.delete(rows)
        except BaseException as exc:
            self._broken = exc
            raise
        alive = self._alive.copy()
        alive[rows] = False
        self._alive = alive

    # -- persistence -----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the collection to the folder ``path`` atomically; returns the folder.

        Either the whole new version becomes visible or the previous one stays; a folder
        that holds anything but a ragkit collection is refused. Searches go on during a
        save; changes wait for it. Older versions are removed once no reader holds them.

        Raises:
            ConflictError: this collection was opened from ``path`` and another writer has
                saved there since (saving would discard that writer's changes).
        """
        root = as_path("Collection.save", path)
        folder.check_target(root)
        with self._lock.read():
            self._check_usable()
            with folder.writer_lock(root):
                key = os.path.realpath(root)
                folder.check_base(root, self._base.get(key))
                data_dir = folder.publish_version(root, lambda tmp, name: persist.version_manifest(self, tmp, name))
                self._base[key] = data_dir
                self._release_own_snapshot(root)
                folder.remove_stale(root, keep=data_dir)
        logger.info("saved %s (%d chunks)", root, self.num_chunks)
        return root

    def _release_own_snapshot(self, root: Path) -> None:
        """After saving over the version this was opened from, stop pinning it (POSIX: mapped files stay readable)."""
        snapshot = self._snapshot
        if os.name == "posix" and snapshot is not None and snapshot.root == os.path.realpath(root):
            snapshot.close()

    def close(self) -> None:
        """Release this reader's hold on its on-disk version (so a later save may remove it).

        Searching after ``close`` still works while the files exist; close when done.
        """
        if self._snapshot is not None:
            self._snapshot.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def open(cls, path: str | Path, *, embedder: Embedder | None = None, verify: bool = True, load_indexes: bool = True) -> Collection:
        """Open a saved collection (memory-mapped) as an immutable snapshot of its current version.

        The version opened stays on disk while this object is open, even if a writer saves newer ones
        meanwhile; :meth:`close` (or ``with Collection.open(...)``) releases it.

        Args:
            path: the collection folder.
            embedder: the query embedder; by default the one recorded in the manifest (its model loads on
                the first vector query). A given embedder must be of the same model.
            verify: check every file's checksum (sizes are always checked).
            load_indexes: ``False``: only the chunk table and row states (the indexes are held elsewhere).

        Raises:
            IndexFormatError: not a collection (a sharded one: use ``open_collection``), or an unknown format.
            CorruptIndexError: a file is missing, truncated, altered or unreadable.
            ModelMismatchError: ``embedder`` is not the model the vectors were made with.
        """
        root = as_path("Collection.open", path)
        if (root / LAYOUT).is_file():
            raise IndexFormatError(f"{root} holds a sharded collection ({LAYOUT}): open it with ragkit.open_collection(path).")
        manifest, snapshot = folder.open_snapshot(root)
        try:
            collection = cls(**persist.read_version(root, manifest, embedder, verify, load_indexes))
        except BaseException:
            snapshot.close()
            raise
        collection._snapshot = snapshot
        collection._base[os.path.realpath(root)] = manifest["data_dir"]
        weakref.finalize(collection, snapshot.close)
        return collection
