"""``sync_collection``: bring a saved collection up to date with its source, re-embedding only what changed.

Every document's chunks carry ``content_hash`` (sha256 of its text and metadata, set by
:class:`HashedSource`). A sync reads the source once, hashes each document and compares
with the hashes stored in the collection: documents it does not hold are added, documents
whose hash differs are replaced (all their chunks), documents gone from the source are
deleted, and unchanged ones are neither re-chunked nor re-embedded. The changes go through
:meth:`Collection.delete` / :meth:`Collection.add` in memory and one atomic
:meth:`Collection.save`: a crash leaves the previous version whole. Without a collection at
``path`` the first sync is a full (streaming, resumable) build by :func:`index_corpus`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.protocols import Chunker, Embedder
from ragkit.core.validation import as_path
from ragkit.index.building import name_indexes
from ragkit.pipeline.arguments import check_pieces, check_source
from ragkit.pipeline.batch import BatchConfig, index_corpus, skipped_summary
from ragkit.pipeline.sources import ShardSpec, Source, open_source, table_documents, table_skipped
from ragkit.store.collection import Collection
from ragkit.store.registry import component_config

__all__ = ["HASH_FIELD", "HashedSource", "SyncReport", "content_hashes", "sync_collection"]

logger = logging.getLogger(__name__)

#: Chunk metadata field holding the hash of the document the chunk came from.
HASH_FIELD = "content_hash"


def content_hashes(table: pa.Table) -> tuple[pa.Table, pa.Array]:
    """A document table with ``content_hash`` in every metadata, and the hashes (sha256 of text and metadata)."""
    texts = table.column("text").to_pylist()
    metas = table.column("metadata").to_pylist()
    hashes, out = [], []
    for text, raw in zip(texts, metas, strict=True):
        meta = json.loads(raw) if raw else {}
        meta.pop(HASH_FIELD, None)
        digest = hashlib.sha256()
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0" + json.dumps(meta, sort_keys=True).encode("utf-8", "surrogatepass"))
        meta[HASH_FIELD] = digest.hexdigest()
        hashes.append(meta[HASH_FIELD])
        out.append(json.dumps(meta, sort_keys=True))
    hashed = table.set_column(table.schema.get_field_index("metadata"), "metadata", pa.array(out, type=pa.string()))
    return hashed.replace_schema_metadata(table.schema.metadata), pa.array(hashes, type=pa.string())


class HashedSource:
    """A source whose documents carry ``content_hash`` metadata, so later syncs can tell what changed."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def describe(self) -> dict[str, Any]:
        return {**self.source.describe(), "content_hash": HASH_FIELD}

    def plan(self, shard_docs: int) -> list[ShardSpec]:
        return self.source.plan(shard_docs)

    def read(self, spec: ShardSpec) -> pa.Table:
        return content_hashes(self.source.read(spec))[0]


@dataclass
class SyncReport:
    """What a sync did: documents ``added`` / ``changed`` / ``removed`` / ``unchanged``, chunks written and removed."""

    out: Path
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    #: No collection was at ``out``: this sync built it from the whole source.
    built: bool = False
    scan_seconds: float = 0.0
    update_seconds: float = 0.0
    save_seconds: float = 0.0
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.scan_seconds + self.update_seconds + self.save_seconds

    def summary(self) -> str:
        how = "built" if self.built else ("updated" if self.added + self.changed + self.removed else "already up to date:")
        return (f"synced {self.out}: {how} {self.added} added, {self.changed} changed, {self.removed} removed, "
                f"{self.unchanged} unchanged documents ({self.chunks_added} chunks written, {self.chunks_removed} removed) "
                f"in {self.seconds:.1f}s (scan {self.scan_seconds:.1f}s, update {self.update_seconds:.1f}s, "
                f"save {self.save_seconds:.1f}s)" + skipped_summary(self.skipped))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "out": str(self.out), "seconds": self.seconds}


def sync_collection(source: str | Path | Source, path: str | Path, *, chunker: Chunker | None = None,
                    embedder: Embedder | None = None, indexes: Sequence[Any] | Mapping[str, Any] | None = None,
                    config: BatchConfig | None = None) -> SyncReport:
    """Make the collection at ``path`` match ``source``, re-chunking and re-embedding only changed documents.

    Args:
        source: a :class:`~ragkit.pipeline.sources.Source` or a path for :func:`open_source`.
        path: the collection folder (a merged collection); built from scratch when absent.
        chunker / embedder / indexes: for the first build as for :func:`index_corpus`; on an
            existing collection, checked against the ones it was built with (the collection's
            own are used), so a sync never mixes two settings.
        config: :class:`BatchConfig` of the first build (``shard_docs`` and ``strict`` also apply to the scan).

    Example:
        >>> report = sync_collection("manuals/", "indexes/manuals")     # doctest: +SKIP
        >>> print(report.summary())                                     # doctest: +SKIP

    Raises:
        ConfigError: ``path`` holds a sharded collection, or other chunker/index settings than given.
        ModelMismatchError: ``embedder`` is not the model of the collection's vectors.
        InputError: an unreadable source, duplicate document ids; with ``strict``, a skipped input.
    """
    from ragkit.store.layout import LAYOUT
    from ragkit.store.manifest import MANIFEST

    config = config or BatchConfig()
    check_source("sync_collection", source)
    check_pieces("sync_collection", chunker, embedder)
    src = open_source(source) if isinstance(source, (str, Path)) else source
    out = as_path("sync_collection", path)
    if config.keep_shards or (out / LAYOUT).exists():
        raise ConfigError(f"{out} holds a sharded collection; sync updates a merged one (build without --keep-shards).")
    start = time.perf_counter()
    if not (out / MANIFEST).exists():
        built = index_corpus(HashedSource(src), out, chunker=chunker, embedder=embedder, indexes=indexes, config=config)
        return SyncReport(out=out, added=built.documents, chunks_added=built.chunks, built=True, skipped=built.skipped,
                          update_seconds=built.seconds)
    collection = Collection.open(out, embedder=embedder)
    try:
        _check_settings(collection, chunker, indexes)
        report = SyncReport(out=out)
        old_ids, old_hashes = _stored_hashes(collection)
        documents, seen, changed = _scan(src, config, old_ids, old_hashes, report)
        gone = pc.filter(old_ids, pc.invert(pc.is_in(old_ids, value_set=seen))) if len(old_ids) else old_ids
        report.removed = len(gone)
        report.scan_seconds = time.perf_counter() - start
        start = time.perf_counter()
        replaced = changed + gone.to_pylist()
        if replaced:
            report.chunks_removed = collection.delete(doc_ids=replaced)
        if documents:
            report.chunks_added = len(collection.add(documents))
        report.update_seconds = time.perf_counter() - start
        start = time.perf_counter()
        if replaced or documents:
            collection.save(out)
        report.save_seconds = time.perf_counter() - start
    finally:
        collection.close()
    logger.info("%s", report.summary())
    return report


def _check_settings(collection: Collection, chunker: Chunker | None, indexes: Any) -> None:
    if chunker is not None and collection.chunker_config is not None and component_config(chunker) != collection.chunker_config:
        raise ConfigError(f"The collection was chunked with {collection.chunker_config}, not {component_config(chunker)}; "
                          "sync with the same chunker, or rebuild it (ragkit index without --sync).")
    if indexes is None:
        return
    given = {name: component_config(idx) for name, idx in name_indexes(indexes).items()}
    held = {name: component_config(idx) for name, idx in collection.indexes.items()}
    if given != held:
        raise ConfigError(f"The collection has the indexes {held}, not {given}; sync with the same settings, "
                          "or rebuild it (ragkit index without --sync).")


def _stored_hashes(collection: Collection) -> tuple[pa.Array, pa.Array]:
    """Each stored document's id and content hash (null for documents stored without one), one row per document."""
    table = collection.chunks.filter(pa.array(collection.alive))
    table = table.filter(pc.equal(table.column("position"), 0))
    ids = table.column("doc_id").combine_chunks()
    meta = table.column("metadata").combine_chunks()
    if isinstance(meta.type, pa.StructType) and meta.type.get_field_index(HASH_FIELD) >= 0:
        hashes = pc.struct_field(meta, HASH_FIELD)
    else:
        hashes = pa.nulls(len(ids), type=pa.string())
    return ids, hashes.cast(pa.string())


def _scan(src: Source, config: BatchConfig, old_ids: pa.Array, old_hashes: pa.Array,
          report: SyncReport) -> tuple[list[Any], pa.Array, list[str]]:
    """Read and hash the whole source: the Documents to (re)write, every id seen, the ids of changed documents."""
    documents: list[Any] = []
    seen: list[pa.Array] = []
    changed: list[str] = []
    for spec in src.plan(config.shard_docs):
        table, hashes = content_hashes(src.read(spec))
        skipped = table_skipped(table)
        if skipped and config.strict:
            raise InputError(f"{skipped[0]['path']} was not indexed ({skipped[0]['reason']}): {skipped[0]['detail']}.")
        report.skipped.extend(skipped)
        ids = table.column("id").combine_chunks()
        where = pc.index_in(ids, value_set=old_ids)
        stored = pc.take(old_hashes, where)
        same = pc.fill_null(pc.equal(stored, hashes), False)
        new = pc.is_null(where)
        report.unchanged += pc.sum(same).as_py() or 0
        report.added += pc.sum(new).as_py() or 0
        write = pc.invert(same)
        modified = pc.and_(write, pc.invert(new))
        changed.extend(pc.filter(ids, modified).to_pylist())
        report.changed += pc.sum(modified).as_py() or 0
        if pc.any(write).as_py():
            documents.extend(table_documents(table.filter(write)))
        seen.append(ids)
    all_ids = pa.concat_arrays(seen) if seen else pa.array([], type=pa.string())
    if pc.count_distinct(all_ids).as_py() != len(all_ids):
        counts = pc.value_counts(all_ids)
        dup = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))[0].as_py()
        raise InputError(f"The source has the document id {dup!r} more than once; ids must be unique.")
    return documents, all_ids, changed
