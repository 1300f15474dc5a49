"""Atomic file writes: a uniquely named temporary file beside the target, fsynced, then renamed over it.

A crash leaves either the old file or the new one, never a partial file under the target's name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from ragkit.core.arrow_io import fsync_path, write_table

__all__ = ["write_bytes_atomic", "write_table_atomic"]


@contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A temporary path to write; on success it replaces ``path`` and the folder is fsynced."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (durable once this returns)."""
    with _staged(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_table_atomic(path: Path, table: pa.Table) -> None:
    """Replace ``path`` with ``table`` as an Arrow IPC file atomically (durable once this returns)."""
    with _staged(path) as tmp:
        write_table(tmp, table)
