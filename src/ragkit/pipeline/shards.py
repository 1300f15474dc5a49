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
from ragkit.core.faults import checkpoint

__all__ = ["LEDGER", "Ledger", "fingerprint", "read_shard", "remove_path", "shard_name", "shard_vectors", "write_shard"]

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
    """``progress.json``: the build settings' fingerprint, the completed shards and the output being committed.

    ``output`` is ``None`` while shards stream; before the final step writes anything into the
    output folder it becomes ``{"sharded": bool, "versions": {name: token}}``: the version
    token each collection to be saved will carry (name ``"."`` is the output folder itself, a
    merged collection; ``"shard-00042"`` a shard folder of a sharded one). Finding those
    tokens at the output's commit point (``manifest.json`` / ``shards.json``) proves this build
    committed it (see :mod:`ragkit.pipeline.commit`).
    """

    def __init__(self, directory: Path, fingerprint: str, shards: dict[int, dict[str, Any]] | None = None,
                 output: dict[str, Any] | None = None) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.shards: dict[int, dict[str, Any]] = dict(shards or {})
        self.output = output

    @classmethod
    def load(cls, path: Path, directory: Path) -> Ledger | None:
        """The ledger saved at ``path`` (shard files in ``directory``), or ``None`` when there is none.

        Raises:
            CorruptIndexError: the file is not a ledger written by this module.
        """
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            shards = {int(k): dict(v) for k, v in data["shards"].items()}
            found = str(data["fingerprint"])
            output = data.get("output")
            if output is not None and not (isinstance(output.get("sharded"), bool) and isinstance(output.get("versions"), dict)):
                raise ValueError(f"malformed output entry {output!r}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptIndexError(f"{path}: unreadable progress ledger ({exc}); rebuild without --resume.") from exc
        return cls(directory, found, shards, output)

    @classmethod
    def start(cls, directory: Path, fingerprint: str, *, resume: bool) -> Ledger:
        """With ``resume`` the ledger found in ``directory``, else (or when there is none) a fresh one.

        A fresh ledger atomically replaces an earlier one first (from that moment the old shard
        files are listed nowhere), then the folder is swept, so a kill at any moment leaves a
        folder with a valid ledger whose every listed shard has its file.

        Raises:
            ConfigError: ``resume`` over a build made with other settings.
            CorruptIndexError: ``resume`` over an unreadable ledger.
        """
        found = cls.load(directory / LEDGER, directory) if resume else None
        if found is not None:
            if found.fingerprint != fingerprint:
                raise ConfigError(
                    f"Cannot resume the build in {directory}: it was started with other settings (source, chunker, "
                    "embedder, indexes or shard size). Run again without --resume to start over, or with the same settings."
                )
            found.sweep()
            return found
        directory.mkdir(parents=True, exist_ok=True)
        ledger = cls(directory, fingerprint)
        ledger.save()
        ledger.sweep()
        return ledger

    def done(self, index: int) -> bool:
        return index in self.shards

    def record(self, index: int, entry: dict[str, Any]) -> None:
        self.shards[index] = entry
        self.save()

    def data(self) -> dict[str, Any]:
        return {"version": _VERSION, "fingerprint": self.fingerprint, "output": self.output,
                "shards": {str(k): v for k, v in sorted(self.shards.items())}}

    def save(self, path: Path | None = None) -> None:
        """Write the ledger atomically to ``progress.json`` (or to ``path``)."""
        target = path if path is not None else self.directory / LEDGER
        checkpoint(f"write {target.name}")
        write_bytes_atomic(target, json.dumps(self.data(), indent=1, sort_keys=True).encode("utf-8"))

    def sweep(self) -> None:
        """Remove what the ledger does not list: shard files of unfinished writes, temporaries, an older build's shards."""
        listed = {LEDGER} | {shard_name(i) for i in self.shards}
        for path in sorted(self.directory.iterdir()):
            if path.name not in listed:
                remove_path(path)

    def discard(self) -> None:
        """Delete the staging folder: the ledger first (so no ledger ever lists a deleted shard), then the rest."""
        path = self.directory / LEDGER
        if path.exists():
            remove_path(path)
        if self.directory.exists():
            for child in sorted(self.directory.iterdir()):
                remove_path(child)
            remove_path(self.directory)


def remove_path(path: Path) -> None:
    """Delete a file or folder (a crash point before it); already gone is fine."""
    checkpoint(f"remove {path.name}")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
