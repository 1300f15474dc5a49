"""What a collection writes into a new data folder, and how one saved version is read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import column_numpy, read_table, write_table
from ragkit.core.errors import CorruptIndexError, IndexFormatError, ModelMismatchError
from ragkit.core.faults import checkpoint
from ragkit.core.protocols import Embedder, VectorIndex
from ragkit.core.version import __version__
from ragkit.store import updates
from ragkit.store.chunks import check_chunk_table
from ragkit.store.manifest import FORMAT, FORMAT_VERSION, describe_file, resolve_member, verify_files
from ragkit.store.registry import component_config, resolve_component

if TYPE_CHECKING:
    from ragkit.store.collection import Collection

__all__ = ["version_manifest", "read_version", "check_index_name"]

CHUNKS = "chunks.arrow"
ROWS = "rows.arrow"


def version_manifest(collection: Collection, tmp: Path, data_dir: str) -> dict[str, Any]:
    """Write every file of ``collection`` into ``tmp``; returns the manifest describing them."""
    alive = collection.alive
    write_table(tmp / CHUNKS, updates.blank_dead_rows(collection.chunks, alive))
    write_table(tmp / ROWS, pa.table({"alive": pa.array(alive)}))
    indexes: dict[str, Any] = {}
    for name, idx in collection.indexes.items():
        check_index_name(name)
        checkpoint(f"mkdir {name}")
        (tmp / name).mkdir()
        written = idx.save(tmp / name)
        checkpoint(f"saved {name}")
        indexes[name] = {"config": component_config(idx), "files": [f"{name}/{f}" for f in written]}
    files = {
        f"{data_dir}/{p.relative_to(tmp).as_posix()}": describe_file(tmp, p.relative_to(tmp).as_posix())
        for p in sorted(tmp.rglob("*")) if p.is_file()
    }
    access = collection.access_field
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ragkit_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data_dir": data_dir,
        "version": collection.version,
        "generation": collection.generation,
        "access": {"field": access} if access else None,
        "counts": {"rows": collection.num_rows, "chunks": collection.num_chunks, "documents": collection.num_documents},
        "chunker": collection.chunker_config,
        "embedder": _embedder_manifest(collection),
        "indexes": indexes,
        "files": files,
    }


def _embedder_manifest(collection: Collection) -> dict[str, Any] | None:
    if collection.embedder is None:
        return collection.embedder_info
    info: dict[str, Any] = {"config": component_config(collection.embedder), "model_id": collection.embedder.model_id}
    vector = [i for i in collection.indexes.values() if i.kind == "vector"]
    if vector:
        info["dimension"] = int(cast(VectorIndex, vector[0]).dimension)
    return info


def read_version(root: Path, manifest: dict[str, Any], embedder: Embedder | None, verify: bool) -> dict[str, Any]:
    """Check and load the version ``manifest`` names; returns the ``Collection(...)`` arguments.

    Raises:
        CorruptIndexError / IndexFormatError / ModelMismatchError: see :meth:`Collection.open`.
    """
    verify_files(root, manifest["files"], checksums=verify)
    data = resolve_member(root, manifest["data_dir"])
    counts = manifest["counts"]
    n_rows = counts.get("rows", counts.get("chunks"))
    if not isinstance(n_rows, int) or n_rows < 0:
        raise CorruptIndexError(f"manifest.json: row count {n_rows!r} is not a non-negative int.")
    chunks = read_table(resolve_member(root, f"{manifest['data_dir']}/{CHUNKS}"))
    check_chunk_table(chunks, n_rows, CHUNKS)
    alive = np.ones(n_rows, dtype=bool)
    rows_file = f"{manifest['data_dir']}/{ROWS}"
    if rows_file in manifest["files"]:
        try:
            alive = column_numpy(read_table(resolve_member(root, rows_file)), "alive").astype(bool)
        except KeyError as exc:
            raise CorruptIndexError(f"{ROWS}: column 'alive' is missing.") from exc
        if alive.shape != (n_rows,):
            raise CorruptIndexError(f"{ROWS}: {alive.shape[0]} rows, the chunk table has {n_rows}.")
    indexes = {}
    for name, entry in manifest["indexes"].items():
        check_index_name(name)
        config = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(config, dict):
            raise IndexFormatError(f"manifest.json: index {name!r} has no config.")
        indexes[name] = resolve_component(config.get("type")).load(data / name, config)
        rows = indexes[name].n_docs
        if rows != chunks.num_rows:
            raise CorruptIndexError(f"{name}: the index holds {rows} rows, the chunk table {chunks.num_rows}.")
        live = getattr(indexes[name], "n_alive", None)
        if live is not None and live != int(alive.sum()):
            raise CorruptIndexError(f"{name}: the index holds {live} live rows, {ROWS} records {int(alive.sum())}.")
    info = manifest.get("embedder")
    access = manifest.get("access")
    generation = manifest.get("generation", 0)
    return {
        "chunks": chunks, "indexes": indexes, "embedder": _resolve_embedder(info, embedder),
        "chunker_config": manifest.get("chunker"), "embedder_info": info,
        "access_field": access.get("field") if isinstance(access, dict) else None, "alive": alive,
        "version": str(manifest.get("version") or manifest["data_dir"]),
        "generation": generation if isinstance(generation, int) else 0,
    }


def _resolve_embedder(info: Any, embedder: Embedder | None) -> Embedder | None:
    if info is None:
        return embedder
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise IndexFormatError("manifest.json: the 'embedder' entry is malformed.")
    if embedder is None:
        config = info["config"]
        return resolve_component(config.get("type")).from_config(config)  # type: ignore[no-any-return]
    if embedder.model_id != info.get("model_id"):
        raise ModelMismatchError(
            f"This collection's vectors were made with {info.get('model_id')!r}, but the embedder given "
            f"is {embedder.model_id!r}. Query with the same model, or rebuild the collection."
        )
    return embedder


def check_index_name(name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise IndexFormatError(f"Index name {name!r} must be a plain identifier (letters, digits, underscore).")
