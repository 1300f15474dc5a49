"""Shard files and the progress ledger of a resumable build.

A build's staging folder holds one Arrow IPC file per completed shard
(``shard-00042.arrow``: the chunk table plus a ``vector`` column when vectors are made)
and ``progress.json``, the ledger listing completed shards. Both are written to a
temporary name, fsynced and renamed, so a kill leaves either the old or the new
version: a shard is complete exactly when the ledger names it and its file checks out.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import read_table
from ragkit.core.atomic import write_bytes_atomic, write_table_atomic
from ragkit.core.errors import ConfigError, CorruptIndexError

__all__ = ["Ledger", "shard_name", "write_shard", "read_shard", "shard_vectors", "fingerprint"]

LEDGER = "progress.json"
_VERSION = 1


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.arrow"


def fingerprint(settings: dict[str, Any]) -> str:
    """A stable hash of everything that decides a build's output (source, chunker, embedder, shard size)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:32]


def write_shard(directory: Path, index: int, chunks: pa.Table, vectors: np.ndarray | None) -> dict[str, Any]:
    """Write shard ``index`` atomically; returns its ledger entry (rows, file size)."""
    table = chunks
    if vectors is not None:
        if vectors.shape[0] != chunks.num_rows:
            raise ValueError(f"shard {index}: {vectors.shape[0]} vectors for {chunks.num_rows} chunks")
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel())
        table = table.append_column("vector", pa.FixedSizeListArray.from_arrays(flat, int(vectors.shape[1])))
    final = directory / shard_name(index)
    write_table_atomic(final, table)
    return {"chunks": chunks.num_rows, "bytes": final.stat().st_size}


def read_shard(directory: Path, index: int, entry: dict[str, Any]) -> pa.Table:
    """Open shard ``index`` memory-mapped, checking it against its ledger entry.

    Raises:
        CorruptIndexError: the file is missing, of another size or row count than recorded.
    """
    path = directory / shard_name(index)
    if not path.is_file() or path.stat().st_size != entry["bytes"]:
        raise CorruptIndexError(f"{path}: missing or not the size the ledger records; rebuild without --resume.")
    table = read_table(path)
    if table.num_rows != entry["chunks"]:
        raise CorruptIndexError(f"{path}: holds {table.num_rows} chunks, the ledger records {entry['chunks']}.")
    return table


def shard_vectors(table: pa.Table) -> np.ndarray | None:
    """The ``vector`` column as a float32 (rows, dimension) array (zero-copy when possible), or None."""
    if "vector" not in table.column_names:
        return None
    column = table.column("vector")
    dim = column.type.list_size
    if column.num_chunks == 0:
        return np.empty((0, dim), dtype=np.float32)
    arrays = [c.flatten().to_numpy(zero_copy_only=False) for c in column.chunks]
    flat = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    return flat.reshape(-1, dim)


class Ledger:
    """``progress.json``: the build settings' fingerprint and the completed shards."""

    def __init__(self, directory: Path, fingerprint: str, shards: dict[int, dict[str, Any]] | None = None) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.shards: dict[int, dict[str, Any]] = dict(shards or {})

    @classmethod
    def start(cls, directory: Path, fingerprint: str, *, resume: bool) -> Ledger:
        """A fresh ledger (clearing the folder), or with ``resume`` the one found there.

        Raises:
            ConfigError: ``resume`` over a build made with other settings.
        """
        path = directory / LEDGER
        if resume and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                shards = {int(k): v for k, v in data["shards"].items()}
                found = data["fingerprint"]
            except (ValueError, KeyError, TypeError) as exc:
                raise CorruptIndexError(f"{path}: unreadable progress ledger ({exc}); rebuild without --resume.") from exc
            if found != fingerprint:
                raise ConfigError(
                    f"Cannot resume the build in {directory}: it was started with other settings (source, chunker, "
                    "embedder, indexes or shard size). Run again without --resume to start over, or with the same settings."
                )
            return cls(directory, fingerprint, shards)
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        ledger = cls(directory, fingerprint)
        ledger.save()
        return ledger

    def done(self, index: int) -> bool:
        return index in self.shards

    def record(self, index: int, entry: dict[str, Any]) -> None:
        self.shards[index] = entry
        self.save()

    def save(self) -> None:
        data = {"version": _VERSION, "fingerprint": self.fingerprint,
                "shards": {str(k): v for k, v in sorted(self.shards.items())}}
        write_bytes_atomic(self.directory / LEDGER, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
