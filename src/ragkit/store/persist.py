"""What a collection writes into a new data folder, and how one saved version is read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import column_numpy, read_table, write_table
from ragkit.core.errors import CorruptIndexError, IndexFormatError, ModelMismatchError, RagkitError
from ragkit.core.faults import checkpoint
from ragkit.core.protocols import Embedder, VectorIndex
from ragkit.core.validation import check_role
from ragkit.core.version import __version__
from ragkit.store import updates
from ragkit.store.chunks import check_chunk_table
from ragkit.store.manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    READERS_LOCK,
    check_listing,
    describe_files,
    is_int,
    resolve_member,
    verify_files,
)
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
    written_files = [p.relative_to(tmp).as_posix() for p in sorted(tmp.rglob("*")) if p.is_file()]
    written_files = [r for r in written_files if r != READERS_LOCK]
    files = {f"{data_dir}/{r}": entry for r, entry in zip(written_files, describe_files(tmp, written_files), strict=True)}
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


def read_version(root: Path, manifest: dict[str, Any], embedder: Embedder | None, verify: bool,
                 load_indexes: bool = True) -> dict[str, Any]:
    """Check and load the version ``manifest`` names; returns the ``Collection(...)`` arguments.

    ``load_indexes=False`` reads the chunk table and row states only (the indexes are held elsewhere).

    Raises:
        CorruptIndexError / IndexFormatError / ModelMismatchError: see :meth:`Collection.open`.
    """
    data_dir = manifest["data_dir"]
    counts = manifest["counts"]
    n_rows = counts.get("rows", counts.get("chunks"))
    if not is_int(n_rows) or n_rows < 0:
        raise CorruptIndexError(f"{MANIFEST}: row count {n_rows!r} is not a non-negative int.")
    verify_files(root, manifest["files"], checksums=verify, format_version=manifest["format_version"])
    check_listing(root, data_dir, manifest["files"], _needed_files(manifest))
    data = resolve_member(root, data_dir)
    chunks = read_table(resolve_member(root, f"{data_dir}/{CHUNKS}"))
    check_chunk_table(chunks, n_rows, CHUNKS)
    alive = np.ones(n_rows, dtype=bool)
    if "rows" in counts or f"{data_dir}/{ROWS}" in manifest["files"]:
        alive = column_numpy(read_table(resolve_member(root, f"{data_dir}/{ROWS}")), "alive", source=ROWS).astype(bool)
        if alive.shape != (n_rows,):
            raise CorruptIndexError(f"{ROWS}: {alive.shape[0]} rows, the chunk table has {n_rows}.")
    indexes = {name: _load_index(name, entry, data, chunks.num_rows, int(alive.sum()))
               for name, entry in manifest["indexes"].items()} if load_indexes else {}
    info = manifest.get("embedder")
    _check_dimension(info, indexes)
    access, generation, version, chunker = _optional_entries(manifest)
    return {
        "chunks": chunks, "indexes": indexes, "embedder": _resolve_embedder(info, embedder),
        "chunker_config": chunker, "embedder_info": info, "access_field": access, "alive": alive,
        "version": version or data_dir, "generation": generation,
    }


def _optional_entries(manifest: dict[str, Any]) -> tuple[str | None, int, str | None, dict[str, Any] | None]:
    """The access field, generation, version token and chunker config, each checked for its type (absent in older saves)."""
    access = manifest.get("access")
    field = access.get("field") if isinstance(access, dict) else None
    generation, version, chunker = manifest.get("generation", 0), manifest.get("version"), manifest.get("chunker")
    for key, ok in (("access", access is None or (isinstance(access, dict) and (field is None or isinstance(field, str)))),
                    ("generation", is_int(generation) and generation >= 0), ("version", version is None or isinstance(version, str)),
                    ("chunker", chunker is None or isinstance(chunker, dict))):
        if not ok:
            raise CorruptIndexError(f"{MANIFEST}: entry {key!r} is malformed.")
    return field, generation, version, chunker


def _needed_files(manifest: dict[str, Any]) -> list[str]:
    """The files (relative to the collection folder) the version ``manifest`` describes reads."""
    data_dir = manifest["data_dir"]
    needed = [f"{data_dir}/{CHUNKS}"] + ([f"{data_dir}/{ROWS}"] if "rows" in manifest["counts"] else [])
    for name, entry in manifest["indexes"].items():
        check_index_name(name)
        listed = entry.get("files") if isinstance(entry, dict) else None
        if not isinstance(listed, list) or not all(isinstance(f, str) and f.startswith(f"{name}/") for f in listed):
            raise CorruptIndexError(f"{MANIFEST}: index {name!r} does not list its files (a list of names inside {name}/).")
        needed += [f"{data_dir}/{f}" for f in listed]
    return needed


def _load_index(name: str, entry: Any, data: Path, n_rows: int, n_alive: int) -> Any:
    config = entry.get("config") if isinstance(entry, dict) else None
    if not isinstance(config, dict):
        raise IndexFormatError(f"{MANIFEST}: index {name!r} has no config.")
    cls = resolve_component(config.get("type"))
    try:
        index = cls.load(data / name, config)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, pa.ArrowException) as exc:
        if isinstance(exc, RagkitError):
            raise
        raise CorruptIndexError(f"{name}: the index cannot be loaded from its config in {MANIFEST} and its files "
                                f"({type(exc).__name__}: {exc}).") from exc
    if index.n_docs != n_rows:
        raise CorruptIndexError(f"{name}: the index holds {index.n_docs} rows, the chunk table {n_rows}.")
    live = getattr(index, "n_alive", None)
    if live is not None and live != n_alive:
        raise CorruptIndexError(f"{name}: the index holds {live} live rows, {ROWS} records {n_alive}.")
    return index


def _check_dimension(info: Any, indexes: dict[str, Any]) -> None:
    """The manifest's embedding dimension, when recorded, is that of every vector index."""
    if not isinstance(info, dict) or "dimension" not in info:
        return
    for name, index in indexes.items():
        if getattr(index, "kind", None) == "vector" and (not is_int(info["dimension"]) or index.dimension != info["dimension"]):
            raise CorruptIndexError(f"{name}: vectors of dimension {index.dimension}, {MANIFEST} records {info['dimension']!r}.")


def _resolve_embedder(info: Any, embedder: Embedder | None) -> Embedder | None:
    if info is None:
        return embedder
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise IndexFormatError("manifest.json: the 'embedder' entry is malformed.")
    if embedder is None:
        config = info["config"]
        try:
            return resolve_component(config.get("type")).from_config(config)  # type: ignore[no-any-return]
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            if isinstance(exc, RagkitError):
                raise
            raise IndexFormatError(f"{MANIFEST}: the embedder's config cannot be used ({type(exc).__name__}: {exc}).") from exc
    check_role("open_collection", "embedder", embedder, "query embedder (e.g. SentenceTransformerEmbedder())", ("embed_queries",))
    if embedder.model_id != info.get("model_id"):
        raise ModelMismatchError(
            f"This collection's vectors were made with {info.get('model_id')!r}, but the embedder given "
            f"is {embedder.model_id!r}. Query with the same model, or rebuild the collection."
        )
    return embedder


def check_index_name(name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise IndexFormatError(f"Index name {name!r} must be a plain identifier (letters, digits, underscore).")
