"""Atomic, single-writer saves of a collection folder, and reader snapshots.

Layout: ``<root>/manifest.json`` names a data folder ``<root>/data-<id>/`` holding every
file. A save writes a fresh data folder, fsyncs it, then replaces ``manifest.json`` with
one ``os.replace`` (atomic on POSIX) and only then removes older data folders. A crash at
any moment leaves either the old or the new manifest, each pointing at complete files.

Concurrency across processes (POSIX ``flock``; see docs/reliability.md):

* writers take an exclusive lock on ``<root>/.lock``, so saves serialise;
* a reader (:meth:`Collection.open`) takes a shared lock on ``<data folder>/.readers.lock``
  of the version it opened and holds it until the collection is closed or collected;
* a writer deletes an old data folder only when it can take that lock exclusively, i.e.
  when no reader holds the version; otherwise the folder waits for a later save or
  :func:`collect_garbage`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ragkit.core.arrow_io import fsync_path
from ragkit.core.errors import ConflictError, IndexFormatError
from ragkit.core.faults import checkpoint
from ragkit.store.manifest import MANIFEST, read_manifest, resolve_member, seal_manifest

__all__ = ["check_base", "collect_garbage", "commit_manifest", "new_data_dir", "open_snapshot", "publish_version", "remove_stale",
           "writer_lock"]

logger = logging.getLogger(__name__)

_LOCK = ".lock"
_READERS = ".readers.lock"
_TMP_PREFIX = ".tmp-"
_DATA_PREFIX = "data-"
_OPEN_ATTEMPTS = 50

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def check_target(root: Path) -> None:
    """Refuse to save into a folder that exists, is not empty and is not a collection."""
    if root.exists() and not root.is_dir():
        raise IndexFormatError(f"Cannot save a collection to {root}: it is a file.")
    if root.is_dir() and not (root / MANIFEST).exists():
        foreign = [p.name for p in root.iterdir() if not p.name.startswith((".", _DATA_PREFIX))]
        if foreign:
            raise IndexFormatError(
                f"Cannot save a collection to {root}: the folder holds other files ({', '.join(sorted(foreign)[:5])}). "
                "Choose an empty or new folder."
            )


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Hold the collection's exclusive writer lock (blocking) for the ``with`` body."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LOCK, "a+b") as fh:
        if fcntl is None:  # pragma: no cover - Windows: lock the lock file's first byte instead
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
            try:
                yield
            finally:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def check_base(root: Path, base: str | None) -> None:
    """Refuse to overwrite a version this writer did not start from (a lost update).

    ``base`` is the data folder the collection was opened from (or last saved to) at
    ``root``; ``None`` means the collection did not come from ``root``.

    Raises:
        ConflictError: another writer saved a newer version since.
    """
    if base is None or not (root / MANIFEST).is_file():
        return
    current = read_manifest(root).get("data_dir")
    if current != base:
        raise ConflictError(
            f"{root} changed since this collection was opened: another writer saved version {current}, this one "
            f"started from {base}. Saving would discard that writer's changes; reopen the collection "
            "with Collection.open and apply your changes again."
        )


def new_data_dir(root: Path) -> tuple[Path, str]:
    """A fresh temporary folder to write into, and the data-folder name it will get."""
    ident = uuid.uuid4().hex[:16]
    tmp = root / f"{_TMP_PREFIX}{ident}"
    checkpoint(f"mkdir {tmp.name}")
    tmp.mkdir()
    return tmp, f"{_DATA_PREFIX}{ident}"


def commit_manifest(root: Path, tmp: Path, data_dir: str, manifest: dict[str, Any]) -> None:
    """Publish ``tmp`` as ``data_dir`` and make ``manifest`` current, atomically."""
    for path in sorted(tmp.rglob("*"), reverse=True):  # files, then their folders
        fsync_path(path)
    fsync_path(tmp)
    checkpoint(f"rename {tmp.name}")
    os.replace(tmp, root / data_dir)
    fsync_path(root)
    staged = root / f"{_TMP_PREFIX}{MANIFEST}"
    checkpoint("write staged manifest")
    with open(staged, "w", encoding="utf-8") as fh:
        json.dump(seal_manifest(manifest), fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        checkpoint("fsync staged manifest")
        os.fsync(fh.fileno())
    checkpoint("replace manifest")
    os.replace(staged, root / MANIFEST)
    fsync_path(root)


def publish_version(root: Path, write: Callable[[Path, str], dict[str, Any]]) -> str:
    """Write a new version with ``write(tmp_folder, data_dir_name) -> manifest`` and commit it; returns its data folder.

    On any failure the partial folder is removed and the previous version stays current.
    """
    tmp, data_dir = new_data_dir(root)
    try:
        commit_manifest(root, tmp, data_dir, write(tmp, data_dir))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data_dir


def _try_exclusive(path: Path) -> IO[bytes] | None:
    """An exclusive lock on ``path`` without waiting, or ``None`` when a reader holds it (or it cannot be locked)."""
    try:
        fh = open(path, "a+b")  # noqa: SIM115 - returned to the caller, which closes it
    except OSError as exc:  # cleaning up must never fail a save that is already published
        logger.warning("cannot lock %s to remove that old version (%s); leaving it", path.parent, exc)
        return None
    if fcntl is None:  # pragma: no cover
        return fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


def remove_stale(root: Path, keep: str) -> list[str]:
    """Delete data folders other than ``keep`` that no reader holds, and leftovers of interrupted saves.

    Call with the writer lock held. Returns the names of the data folders kept because a
    reader still uses them.
    """
    held = []
    for path in sorted(root.iterdir()):
        if path.name in (keep, _LOCK, MANIFEST):
            continue
        if path.name.startswith(_TMP_PREFIX):
            checkpoint(f"remove {path.name}")
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        elif path.name.startswith(_DATA_PREFIX) and path.is_dir():
            lock = _try_exclusive(path / _READERS)
            if lock is None:
                held.append(path.name)
                continue
            try:
                checkpoint(f"remove {path.name}")
                shutil.rmtree(path, ignore_errors=True)
            finally:
                lock.close()
    if held:
        logger.info("kept %d older version(s) of %s still open by readers: %s", len(held), root, ", ".join(held))
    return held


def collect_garbage(root: str | Path) -> list[str]:
    """Remove old versions of the collection at ``root`` that no reader holds any more.

    Saves do this themselves; call it after long-lived readers of old versions closed.
    Returns the data folders still held by readers.
    """
    root = Path(root)
    with writer_lock(root):
        keep = read_manifest(root)["data_dir"]
        return remove_stale(root, keep=keep)


class SnapshotLock:
    """A reader's shared lock on one data folder (released by :meth:`close`)."""

    def __init__(self, handle: IO[bytes] | None, root: Path, data_dir: str) -> None:
        self._handle = handle
        self.root = os.path.realpath(root)
        self.data_dir = data_dir

    @property
    def held(self) -> bool:
        return self._handle is not None

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()  # closing the descriptor releases the flock


def _lock_shared(folder: Path) -> IO[bytes] | bool | None:
    """Shared lock on ``folder``'s reader lock file: the handle, ``None`` (cannot lock) or ``False`` (folder gone)."""
    path = folder / _READERS
    try:
        fh = open(path, "a+b")  # noqa: SIM115 - kept open while the snapshot is in use
    except FileNotFoundError:
        return False
    except OSError as exc:  # read-only media: no garbage collection can happen there either
        logger.debug("no reader lock on %s (%s)", folder, exc)
        return None
    if fcntl is None:  # pragma: no cover
        fh.close()
        return None
    fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
    try:
        same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
    except FileNotFoundError:
        same = False
    if not same:  # a writer removed the folder between our reading the manifest and locking
        fh.close()
        return False
    return fh


def open_snapshot(root: Path) -> tuple[dict[str, Any], SnapshotLock]:
    """Read the current manifest and pin its data folder against garbage collection.

    Raises:
        IndexFormatError / CorruptIndexError: from reading the manifest.
    """
    for _ in range(_OPEN_ATTEMPTS):
        manifest = read_manifest(root)
        folder = resolve_member(root, manifest["data_dir"])
        handle = _lock_shared(folder)
        if handle is False:
            again = read_manifest(root)
            if again.get("data_dir") == manifest["data_dir"]:  # really missing: verify_files names it
                return manifest, SnapshotLock(None, root, manifest["data_dir"])
            continue
        return manifest, SnapshotLock(handle if not isinstance(handle, bool) else None, root, manifest["data_dir"])
    raise ConflictError(f"{root} kept changing while being opened ({_OPEN_ATTEMPTS} saves in a row); try again.")
