"""Atomic, single-writer saves of a collection folder.

Layout: ``<root>/manifest.json`` names a data folder ``<root>/data-<id>/`` holding every
file. A save writes a fresh data folder, fsyncs it, then replaces ``manifest.json`` with
one ``os.replace`` (atomic on POSIX) and only then removes older data folders. A crash at
any moment leaves either the old or the new manifest, each pointing at complete files.
Writers take an exclusive ``flock`` on ``<root>/.lock``, so concurrent saves serialise.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragkit.errors import IndexFormatError
from ragkit.store.arrow_io import fsync_path
from ragkit.store.manifest import MANIFEST

__all__ = ["writer_lock", "new_data_dir", "commit_manifest", "remove_stale"]

_LOCK = ".lock"
_TMP_PREFIX = ".tmp-"
_DATA_PREFIX = "data-"


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
        try:
            import fcntl
        except ImportError:  # Windows: lock the lock file's first byte instead
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


def new_data_dir(root: Path) -> tuple[Path, str]:
    """A fresh temporary folder to write into, and the data-folder name it will get."""
    ident = uuid.uuid4().hex[:16]
    tmp = root / f"{_TMP_PREFIX}{ident}"
    tmp.mkdir()
    return tmp, f"{_DATA_PREFIX}{ident}"


def commit_manifest(root: Path, tmp: Path, data_dir: str, manifest: dict[str, Any]) -> None:
    """Publish ``tmp`` as ``data_dir`` and make ``manifest`` current, atomically."""
    for path in sorted(tmp.rglob("*"), reverse=True):  # files, then their folders
        fsync_path(path)
    fsync_path(tmp)
    os.replace(tmp, root / data_dir)
    fsync_path(root)
    staged = root / f"{_TMP_PREFIX}{MANIFEST}"
    with open(staged, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(staged, root / MANIFEST)
    fsync_path(root)


def remove_stale(root: Path, keep: str) -> None:
    """Delete data folders other than ``keep`` and leftovers of interrupted saves."""
    for path in root.iterdir():
        if path.name == keep or path.name == _LOCK or path.name == MANIFEST:
            continue
        if path.name.startswith((_DATA_PREFIX, _TMP_PREFIX)):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
