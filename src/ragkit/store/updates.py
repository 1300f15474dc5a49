"""Validation and table work behind ``Collection.add / delete / upsert`` (no index is touched here).

A chunk's id is ``"<doc_id>#<position>"``. Everything is checked before the collection
changes, so a refused update leaves it exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.arrow_io import to_numpy
from ragkit.core.documents import Chunk, Document, check_metadata_item, check_unicode, validate_documents
from ragkit.core.errors import EmptyCorpusError, InputError
from ragkit.core.validation import as_list
from ragkit.store.chunks import chunks_to_table

__all__ = ["append_chunks", "blank_dead_rows", "chunk_ids", "prepare", "refuse_existing", "rows_for_ids", "to_chunks"]

_SHOW = 5


def chunk_ids(table: pa.Table) -> pa.ChunkedArray:
    """``doc_id#position`` of every row."""
    return pc.binary_join_element_wise(table.column("doc_id"), pc.cast(table.column("position"), pa.string()), "#")


def _show(values: Iterable[Any]) -> str:
    values = list(values)
    more = f" and {len(values) - _SHOW} more" if len(values) > _SHOW else ""
    return ", ".join(repr(v) for v in values[:_SHOW]) + more


def _id_list(ids: Any, what: str) -> list[str]:
    if isinstance(ids, str):
        raise InputError(f"{what} must be a list of ids, got a single str {ids!r}; wrap it as [{ids!r}].")
    try:
        out = list(ids)
    except TypeError as exc:
        raise InputError(f"{what} must be a list of str ids. Got {type(ids).__name__}.") from exc
    if not out:
        raise InputError(f"{what} is empty; give at least one id.")
    bad = [v for v in out if not isinstance(v, str) or not v]
    if bad:
        raise InputError(f"{what} must hold non-empty str ids. Got {_show(bad)}.")
    if not "".join(out).isascii():
        for v in out:
            check_unicode(f"{what}: id {v!r}", v)
    if len(set(out)) != len(out):
        seen: set[str] = set()
        dup = [v for v in out if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
        raise InputError(f"{what} contains duplicates: {_show(dict.fromkeys(dup))}. Give each id once.")
    return out


def rows_for_ids(table: pa.Table, alive: np.ndarray, *, chunk_ids_: Any = None, doc_ids: Any = None,
                 missing_ok: bool = False) -> np.ndarray:
    """Live rows of the given chunk ids and/or document ids (sorted).

    Raises:
        InputError: no ids, malformed or duplicated ids, or (unless ``missing_ok``) ids the
            collection does not hold.
    """
    if chunk_ids_ is None and doc_ids is None:
        raise InputError("Name what to delete: delete(chunk_ids=[...]) or delete(doc_ids=[...]).")
    mask = np.zeros(table.num_rows, dtype=bool)
    for what, ids, column in (("chunk_ids", chunk_ids_, None), ("doc_ids", doc_ids, "doc_id")):
        if ids is None:
            continue
        wanted = pa.array(_id_list(ids, what), type=pa.string())
        values = chunk_ids(table) if column is None else table.column(column)
        hit = np.asarray(to_numpy(pc.is_in(values, value_set=wanted)), dtype=bool) & alive
        if not missing_ok:
            live_values = pc.filter(values, pa.array(alive))
            known = np.asarray(to_numpy(pc.is_in(wanted, value_set=live_values.combine_chunks())), dtype=bool)
            if not known.all():
                unknown = np.asarray(wanted.to_pylist(), dtype=object)[~known]
                raise InputError(
                    f"{what}: {_show(unknown)} {'is' if unknown.size == 1 else 'are'} not in this collection (or already "
                    f"deleted); nothing was deleted. Check the ids (chunk ids look like 'doc#0'), or pass only existing ones."
                )
        mask |= hit
    return np.flatnonzero(mask)


def _check_text(where: str, text: Any) -> None:
    if not isinstance(text, str):
        raise InputError(f"{where}: text must be a str, got {type(text).__name__}. Decode bytes first (data.decode('utf-8')).")
    if not text.strip():
        raise InputError(f"{where}: text is empty or whitespace only. Drop it or give it content.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{where}: text is not valid Unicode ({exc.reason} at position {exc.start}); it probably came from "
            "bytes decoded with errors='surrogateescape'. Decode with errors='replace' or fix the source."
        ) from exc


def _check_chunk(i: int, chunk: Chunk) -> None:
    where = f"Chunk {i}"
    if not isinstance(chunk.doc_id, str) or not chunk.doc_id:
        raise InputError(f"{where}: doc_id must be a non-empty str. Got {chunk.doc_id!r}.")
    for name in ("position", "start", "end"):
        value = getattr(chunk, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(f"{where} ({chunk.doc_id!r}): {name} must be an int >= 0. Got {value!r}.")
    if chunk.end < chunk.start:
        raise InputError(f"{where} ({chunk.doc_id!r}): end {chunk.end} is before start {chunk.start}.")
    _check_text(f"{where} ({chunk.doc_id!r})", chunk.text)
    if not isinstance(chunk.metadata, Mapping):
        raise InputError(f"{where} ({chunk.doc_id!r}): metadata must be a mapping of field -> value. "
                         f"Got {type(chunk.metadata).__name__}.")
    for key, value in chunk.metadata.items():
        check_metadata_item(chunk.doc_id, key, value)


def to_chunks(items: Any, chunker: Any) -> tuple[list[Chunk], list[str], bool]:
    """Validate ``items`` (all Documents or all Chunks): the chunks, their document ids, whether they were Documents.

    Raises:
        InputError / EmptyCorpusError: a bare string, no items, mixed or malformed items,
            duplicate ids, or Documents without a chunker.
    """
    if isinstance(items, (str, bytes, Document, Chunk)):
        raise InputError(f"Expected a list of Documents or Chunks, got a single {type(items).__name__}; wrap it in a list.")
    items = as_list("Collection.add / upsert", items, "a list of Documents or Chunks")
    if not items:
        raise EmptyCorpusError("Nothing to add: the list of documents or chunks is empty.")
    if all(isinstance(x, Document) for x in items):
        docs = validate_documents(items)
        for doc in docs:
            _check_text(f"Document {doc.id!r}", doc.text)
        if chunker is None:
            raise InputError("This collection records no chunker; pass chunker=... or add Chunks instead of Documents.")
        from ragkit.chunking.batch import chunk_documents  # the chunkers load when a collection first chunks, not on open

        chunks = chunk_documents(chunker, docs)
        return list(chunks), [d.id for d in docs], True
    if all(isinstance(x, Chunk) for x in items):
        for i, chunk in enumerate(items):
            _check_chunk(i, chunk)
        ids = [f"{c.doc_id}#{c.position}" for c in items]
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            dup = [v for v in ids if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
            raise InputError(f"Duplicate chunk ids in one update: {_show(dict.fromkeys(dup))} (doc_id#position must be unique).")
        return items, list(dict.fromkeys(c.doc_id for c in items)), False
    kinds = sorted({type(x).__name__ for x in items})
    raise InputError(f"Expected a list of only Documents or only Chunks; got {', '.join(kinds)}.")


def append_chunks(table: pa.Table, chunks: Sequence[Chunk]) -> pa.Table:
    """``table`` with ``chunks`` appended as new rows; metadata fields are unified.

    Raises:
        InputError: a metadata field whose type differs from the one already stored.
    """
    new = chunks_to_table(chunks)
    try:
        return pa.concat_tables([table, new], promote_options="default").combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(
            f"The new chunks' metadata does not fit the collection's: {exc}. Give each metadata field the type "
            "it already has in this collection (e.g. always str, or always int)."
        ) from exc


def blank_dead_rows(table: pa.Table, alive: np.ndarray) -> pa.Table:
    """``table`` with the text and metadata of deleted rows erased (row numbers unchanged), for saving."""
    if alive.all():
        return table
    keep = pa.array(alive)
    text = pc.if_else(keep, table.column("text"), pa.scalar("", type=pa.large_string()))
    meta = table.column("metadata")
    meta = pc.if_else(keep, meta, pa.nulls(table.num_rows, type=meta.type))
    out = table.set_column(table.schema.get_field_index("text"), "text", text)
    return out.set_column(out.schema.get_field_index("metadata"), "metadata", meta)


def refuse_existing(table: pa.Table, alive: np.ndarray, chunks: Sequence[Chunk]) -> None:
    """Raise if any of ``chunks`` has the id of a live row of ``table``.

    Raises:
        InputError: naming the clashing ids and pointing to ``upsert``.
    """
    ids = pa.array([f"{c.doc_id}#{c.position}" for c in chunks], type=pa.string())
    live = pc.filter(chunk_ids(table), pa.array(alive)).combine_chunks()
    clash = np.asarray(to_numpy(pc.is_in(ids, value_set=live)), dtype=bool)
    if clash.any():
        shown = _show(np.asarray(ids.to_pylist(), dtype=object)[clash])
        raise InputError(f"Chunk ids already in this collection: {shown}. Use upsert(...) to replace them, or delete them first.")


def prepare(table: pa.Table, chunks: Sequence[Chunk], vectors: np.ndarray | None, vector_indexes: Sequence[Any],
            embedder: Any) -> tuple[pa.Table, list[str], np.ndarray | None]:
    """The chunk table with ``chunks`` appended, their texts, and their checked vectors.

    Embeds the texts with ``embedder`` when vectors are needed and not given. Everything
    that can fail happens here, before any index or the collection changes.

    Raises:
        InputError / DimensionMismatchError: vectors without a vector index, of the wrong
            shape or dimension, not finite; no embedder to embed with.
    """
    from ragkit.index import check_vectors

    if not vector_indexes and vectors is not None:
        raise InputError("vectors were given but this collection has no vector index; leave vectors out.")
    dimension = int(vector_indexes[0].dimension) if vector_indexes else None
    if vectors is not None:
        vectors = check_vectors(vectors, owner="Collection.add", dimension=dimension)
        if vectors.shape[0] != len(chunks):
            raise InputError(f"Got {vectors.shape[0]} vectors for {len(chunks)} chunks; give one vector per chunk, in order.")
    new_table = append_chunks(table, chunks)
    texts = [c.text for c in chunks]
    if vectors is None and vector_indexes:
        if embedder is None:
            raise InputError("This collection has no embedder to embed new chunks; pass vectors=... or embedder.")
        vectors = check_vectors(embedder.embed_documents(texts), owner="Collection.add", dimension=dimension)
    return new_table, texts, vectors
