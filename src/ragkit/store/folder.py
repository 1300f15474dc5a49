"""Atomic, single-writer saves of a collection folder, and reader snapshots.

Layout: ``<root>/manifest.json`` names a data folder ``<root>/data-<id>/`` holding every
file. A save writes a fresh data folder, fsyncs it, then replaces ``manifest.json`` with
one ``os.replace`` (atomic on POSIX) and only then removes older data folders. A crash at
any moment leaves either the old or the new manifest, each pointing at complete files.

Concurrency across processes (POSIX ``flock``; see docs/reliability.md):

* writers take an exclusive lock on ``<root>/.lock``, so saves serialise;
* every data folder is born with an empty ``.readers.lock`` (the writer creates it before
  publishing the folder); a reader (:meth:`Collection.open`) takes a shared lock on it for the
  version it opened, then checks that the manifest still names that version (retrying with
  the new one otherwise), and holds the lock until the collection is closed or collected.
  Readers never create a lock file in a data folder (so none can appear in a folder being
  removed), except under the writer lock for the current version of a folder saved before
  data folders had one;
* a writer deletes an old data folder only when it can take that lock exclusively, i.e.
  when no reader holds the version, and unlinks the lock file first; otherwise the folder
  waits for a later save or :func:`collect_garbage`.

Lock files are opened without following symbolic links and must be regular files.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

from ragkit.core.arrow_io import fsync_path
from ragkit.core.errors import ConflictError, CorruptIndexError, IndexFormatError
from ragkit.core.faults import checkpoint, pause
from ragkit.store.manifest import MANIFEST, READERS_LOCK, read_manifest, resolve_member, seal_manifest

__all__ = ["check_base", "collect_garbage", "commit_manifest", "new_data_dir", "open_snapshot", "publish_version", "remove_stale",
           "writer_lock"]

logger = logging.getLogger(__name__)

_LOCK = ".lock"
_READERS = READERS_LOCK
_TMP_PREFIX = ".tmp-"
_DATA_PREFIX = "data-"
_OPEN_ATTEMPTS = 50

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# never follow a link at a lock file's name; never block opening a FIFO planted there
_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _open_lock(path: Path, *, create: bool) -> IO[bytes]:
    """Open the lock file ``path`` (creating it when ``create``) without following a symbolic link.

    Raises:
        CorruptIndexError: ``path`` is a symbolic link or not a regular file (nothing is created or locked).
        FileNotFoundError: ``path`` does not exist and ``create`` is false.
        OSError: it cannot be opened otherwise (permissions, read-only media).
    """
    def opener(name: str, flags: int) -> int:
        return os.open(name, flags | _OPEN_FLAGS | (os.O_CREAT if create else 0), 0o644)

    try:
        fh = open(path, "rb" if fcntl is not None else "a+b", opener=opener)  # noqa: SIM115 - returned to the caller
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) or os.path.islink(path):
            raise CorruptIndexError(
                f"{path} is a symbolic link: ragkit never follows links for lock files (one could make it create or "
                "lock a file anywhere). Remove the link."
            ) from exc
        raise
    if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
        fh.close()
        raise CorruptIndexError(f"{path} is not a regular file; ragkit keeps its lock there. Remove it.")
    return fh


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
    with _open_lock(root / _LOCK, create=True) as fh:
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
    os.close(os.open(tmp / _READERS, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o644))  # born pinnable
    return tmp, f"{_DATA_PREFIX}{ident}"


def commit_manifest(root: Path, tmp: Path, data_dir: str, manifest: dict[str, Any]) -> None:
    """Publish ``tmp`` as ``data_dir`` and make ``manifest`` current, atomically."""
    for path in sorted(tmp.rglob("*"), reverse=True):  # files, then their folders
        fsync_path(path)
    fsync_path(tmp)
    checkpoint(f"rename {tmp.name}")
    os.replace(tmp, root / data_dir)
    staged = root / f"{_TMP_PREFIX}{MANIFEST}"
    try:
        fsync_path(root)
        checkpoint("write staged manifest")
        with open(staged, "w", encoding="utf-8") as fh:
            json.dump(seal_manifest(manifest), fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            checkpoint("fsync staged manifest")
            os.fsync(fh.fileno())
        checkpoint("replace manifest")
        os.replace(staged, root / MANIFEST)
    except BaseException:  # a full disk, say: the previous version stays current, take back what was published
        _unpublish(root, data_dir, staged)
        raise
    fsync_path(root)


def _unpublish(root: Path, data_dir: str, staged: Path) -> None:
    """Remove the staged manifest and the data folder ``data_dir`` unless ``manifest.json`` names it."""
    staged.unlink(missing_ok=True)
    try:
        current = json.loads((root / MANIFEST).read_text(encoding="utf-8")).get("data_dir")
    except (OSError, ValueError, AttributeError):
        current = None
    if current != data_dir:
        shutil.rmtree(root / data_dir, ignore_errors=True)


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


def _lock_for_removal(folder: Path) -> tuple[bool, IO[bytes] | None]:
    """Whether no reader holds the data folder ``folder``, and the exclusive lock proving it (close it after removing)."""
    try:
        fh = _open_lock(folder / _READERS, create=False)
    except FileNotFoundError:  # a folder saved before data folders had a lock, never opened: nobody can hold it
        return True, None
    except CorruptIndexError:  # a planted link: no reader can lock through it
        logger.warning("%s/%s is not a regular file; removing that old version anyway", folder, _READERS)
        return True, None
    except OSError as exc:  # cleaning up must never fail a save that is already published
        logger.warning("cannot lock %s to remove that old version (%s); leaving it", folder, exc)
        return False, None
    if fcntl is None:  # pragma: no cover
        return True, fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return False, None
    return True, fh


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
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        elif path.name.startswith(_DATA_PREFIX) and path.is_dir() and not path.is_symlink():
            free, lock = _lock_for_removal(path)
            if not free:
                held.append(path.name)
                continue
            try:
                checkpoint(f"remove {path.name}")
                # the lock file goes first: a reader arriving now finds none and reads the new manifest
                (path / _READERS).unlink(missing_ok=True)
                shutil.rmtree(path, ignore_errors=True)
            finally:
                if lock is not None:
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


def _lock_shared(folder: Path) -> IO[bytes] | Literal[False] | None:
    """Shared lock on ``folder``'s reader lock: the handle, ``None`` (cannot lock here) or ``False`` (no lock file there)."""
    path = folder / _READERS
    try:
        fh = _open_lock(path, create=False)  # never created here: the folder may be being removed
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
        now, held = os.stat(path, follow_symlinks=False), os.fstat(fh.fileno())
        same = (now.st_ino, now.st_dev) == (held.st_ino, held.st_dev)
    except FileNotFoundError:
        same = False
    if not same:  # a writer removed the folder between our opening the lock file and locking it
        fh.close()
        return False
    return fh


def _add_reader_lock(root: Path, data_dir: str) -> bool:
    """Give the current version's folder, saved before data folders had one, its lock file; whether it now has one.

    Under the writer lock, so that the folder cannot stop being current (and be removed) meanwhile.
    """
    try:
        with writer_lock(root):
            folder = resolve_member(root, data_dir)
            if read_manifest(root).get("data_dir") == data_dir and folder.is_dir():
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(folder / _READERS, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o644))
    except (OSError, IndexFormatError) as exc:  # read-only media, say: open it unpinned
        logger.debug("cannot add a reader lock to %s (%s)", root / data_dir, exc)
        return False
    return True


def open_snapshot(root: Path) -> tuple[dict[str, Any], SnapshotLock]:
    """Read the current manifest and pin its data folder against garbage collection.

    Pins the folder the manifest names, then re-reads the manifest: only a version that was
    current before and after pinning is certain to be whole (a writer removes only versions
    that are no longer current, and never one that is pinned). Otherwise it tries again
    with the new manifest, at most ``_OPEN_ATTEMPTS`` times.

    Raises:
        IndexFormatError / CorruptIndexError: from reading the manifest, or a planted link at a lock file.
        ConflictError: the collection kept changing for every attempt.
    """
    for _ in range(_OPEN_ATTEMPTS):
        manifest = read_manifest(root)
        data_dir = manifest["data_dir"]
        folder = resolve_member(root, data_dir)
        pause("open: manifest read")
        handle = _lock_shared(folder)
        if handle is None:
            return manifest, SnapshotLock(None, root, data_dir)
        current = read_manifest(root).get("data_dir") == data_dir
        if handle is False:
            if not current:
                continue  # superseded meanwhile: read the new manifest
            if not folder.is_dir() or not _add_reader_lock(root, data_dir):
                return manifest, SnapshotLock(None, root, data_dir)  # really missing (verify_files names it), or read-only
            continue
        if not current:  # pinned too late: the version may have been removed before we pinned it
            handle.close()
            continue
        return manifest, SnapshotLock(handle, root, data_dir)
    raise ConflictError(f"{root} kept changing while being opened ({_OPEN_ATTEMPTS} saves in a row); try again.")
