"""Turn a build's completed shard files into the output: one collection, or a sharded collection."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.errors import CorruptIndexError, EmptyCorpusError, IndexFormatError, InputError
from ragkit.core.protocols import Embedder
from ragkit.index.building import build_indexes
from ragkit.pipeline.commit import shard_folder
from ragkit.pipeline.shard_work import TextColumn
from ragkit.pipeline.shards import Ledger, read_shard, shard_vectors
from ragkit.store.collection import Collection
from ragkit.store.layout import combine_stats, write_layout
from ragkit.store.manifest import MANIFEST, read_manifest
from ragkit.store.registry import component_config, resolve_component
from ragkit.store.uniqueness import DocumentIds

__all__ = ["merge_shards", "write_sharded", "fresh_indexes"]

logger = logging.getLogger(__name__)


def fresh_indexes(named: Mapping[str, Any]) -> dict[str, Any]:
    """Unbuilt copies of ``named`` (same configuration), one set per shard."""
    out = {}
    for name, idx in named.items():
        config = component_config(idx)
        out[name] = resolve_component(config["type"]).from_config(config)
    return out


def _shard_tables(ledger: Ledger, indices: list[int]) -> list[pa.Table]:
    return [read_shard(ledger.directory, i, ledger.shards[i]) for i in indices]


def _check_unique_ids(chunks: pa.Table) -> None:
    first = chunks.filter(pc.equal(chunks.column("position"), 0)).column("doc_id")
    if pc.count_distinct(first).as_py() != len(first):
        counts = pc.value_counts(first)
        dup = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise InputError(f"Duplicate document id {dup!r} in the source: ids must be unique within a collection.")


def merge_shards(ledger: Ledger, indices: list[int], named: Mapping[str, Any], *, embedder: Embedder | None,
                 chunker_config: dict[str, Any] | None, version: str | None = None) -> Collection:
    """One collection over every shard, rows in shard order: global row = rows of earlier shards + local row.

    ``version``: the collection's version token (the one the ledger planned, so a resumed
    build recognises the saved manifest as its own).

    The vector index is trained once (FAISS samples its training set itself) on all vectors
    and BM25 is built over all texts, so the result equals a single in-memory build.
    """
    tables = [t for t in _shard_tables(ledger, indices) if t.num_rows]
    if not tables:
        raise EmptyCorpusError("The source yielded no documents with text; nothing to index.")
    parts = [shard_vectors(t) for t in tables]
    chunks = pa.concat_tables([t.drop_columns(["vector"]) if "vector" in t.column_names else t for t in tables],
                              promote_options="permissive").combine_chunks()
    _check_unique_ids(chunks)
    vectors = np.concatenate([p for p in parts if p is not None]) if parts[0] is not None else None
    build_indexes(named, TextColumn(chunks.column("text")), vectors)
    return Collection(chunks, named, embedder=embedder, chunker_config=chunker_config, version=version)


def write_sharded(out: Path, ledger: Ledger, indices: list[int], named: Mapping[str, Any], *, embedder: Embedder | None,
                  chunker_config: dict[str, Any] | None, versions: Mapping[str, str] | None = None,
                  progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Save each shard as its own collection under ``out`` and the global BM25 statistics; returns the layout.

    Only one shard is in memory at a time. The layout is searched as one collection by
    :class:`ragkit.store.ShardedCollection`; ``shards.json``, written last and atomically, is
    the commit point. ``versions`` (shard folder name -> version token, as the ledger planned):
    a shard folder already saved with its planned token (by a build killed before the
    layout) is kept as is; any other content of a shard folder (a partial save) is replaced.
    """
    entries, stats = [], []
    bm25_name = next((n for n, i in named.items() if i.kind == "bm25"), None)
    offset = 0
    seen = DocumentIds()  # ids unique across shards, as in a merged build
    for i in indices:
        table = read_shard(ledger.directory, i, ledger.shards[i])
        if table.num_rows == 0:
            continue
        chunks = table.drop_columns(["vector"]) if "vector" in table.column_names else table
        _check_unique_ids(chunks)
        seen.add(pc.unique(chunks.column("doc_id").combine_chunks()))
        name = shard_folder(i)
        version = versions.get(name) if versions is not None else None
        saved = _saved_shard(out / name, version, chunks.num_rows, bm25_name)
        if saved is None:
            indexes = fresh_indexes(named)
            build_indexes(indexes, TextColumn(chunks.column("text")), shard_vectors(table))
            shard = Collection(chunks, indexes, embedder=embedder, chunker_config=chunker_config, version=version)
            shard.save(out / name)
            version = shard.version
            saved = [indexes[bm25_name].statistics()] if bm25_name is not None else []  # type: ignore[attr-defined]
        stats.extend(saved)
        entries.append({"name": name, "chunks": chunks.num_rows, "offset": offset, "version": version})
        offset += chunks.num_rows
        if progress is not None:
            progress(1)
    if not entries:
        raise EmptyCorpusError("The source yielded no documents with text; nothing to index.")
    return write_layout(out, entries, bm25_name, combine_stats(stats) if bm25_name is not None else None)


def _saved_shard(root: Path, version: str | None, rows: int, bm25_name: str | None) -> list[Any] | None:
    """A shard folder this build already saved completely (its manifest holds ``version``): its BM25 statistics
    (an empty list without a BM25 index); ``None`` when the folder must be (re)written.
    """
    if version is None or not (root / MANIFEST).is_file():
        return None
    try:
        if read_manifest(root).get("version") != version:
            return None
        with Collection.open(root, verify=False) as shard:
            if shard.num_rows != rows:
                return None
            return [shard.index(bm25_name).statistics()] if bm25_name is not None else []  # type: ignore[attr-defined]
    except (IndexFormatError, CorruptIndexError):
        return None
