"""``build_collection``: chunk, embed and index documents into a :class:`Collection`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ragkit.chunking.batch import chunk_documents
from ragkit.core.documents import Document, validate_documents
from ragkit.core.errors import EmptyCorpusError, InputError
from ragkit.core.protocols import Chunker, Embedder
from ragkit.index.building import build_indexes, name_indexes
from ragkit.pipeline.arguments import check_pieces
from ragkit.pipeline.checks import warn_if_truncating
from ragkit.pipeline.vectors import VectorSource, resolve_vectors
from ragkit.store.chunks import chunks_to_table
from ragkit.store.collection import Collection
from ragkit.store.registry import component_config

__all__ = ["build_collection"]

logger = logging.getLogger(__name__)


def build_collection(
    documents: Iterable[Document],
    *,
    chunker: Chunker | None = None,
    embedder: Embedder | None = None,
    indexes: Sequence[Any] | Mapping[str, Any] | None = None,
    vectors: VectorSource | None = None,
) -> Collection:
    """Chunk ``documents``, embed the chunks and build every index over them.

    Args:
        documents: the corpus; ids must be unique.
        chunker: splits documents (default :class:`~ragkit.chunking.RecursiveChunker`).
        embedder: embeds chunks for vector indexes (default
            :class:`~ragkit.embedding.SentenceTransformerEmbedder`, all-MiniLM-L6-v2 offline).
            Not loaded when no vector index is asked for.
        indexes: a list (named after their kind: ``"vector"``, ``"bm25"``, then
            ``"vector_2"``...) or a mapping ``name -> index``. Default: Flat vectors + BM25.
        vectors: document vectors computed elsewhere, used instead of embedding the chunks: an
            array ``(n_chunks, dim)`` in chunk-table order, a mapping ``chunk_id -> vector`` or a
            callable ``f(chunk_ids) -> array`` (see :mod:`ragkit.pipeline.vectors`). ``embedder``
            then only embeds queries (its model is not loaded to build).

    Example:
        >>> col = build_collection([Document(id="a", text="BM25 ranks by term statistics.")],
        ...                        indexes=[BM25Index()])                       # doctest: +SKIP

    Raises:
        EmptyCorpusError: no documents.
        InputError: a malformed document or duplicate id; ``vectors`` of the wrong shape, dtype or
            number of rows, with NaN/infinity or rows that are not unit length.
        DimensionMismatchError: ``vectors`` of another dimension than the given embedder's.
        ConfigError: no index, or index names that are not identifiers.
    """
    from ragkit.chunking import RecursiveChunker
    from ragkit.index import BM25Index, FaissIndex

    docs = validate_documents(documents)
    if not docs:
        raise EmptyCorpusError("build_collection got no documents; give at least one Document.")
    check_pieces("build_collection", chunker, embedder)
    chunker = chunker if chunker is not None else RecursiveChunker()
    named = name_indexes(indexes if indexes is not None else [FaissIndex("Flat"), BM25Index()])
    needs_vectors = any(idx.kind == "vector" for idx in named.values())
    embedder_given = embedder is not None
    if needs_vectors and embedder is None:
        from ragkit.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()

    chunks = chunk_documents(chunker, docs)
    table = chunks_to_table(chunks)
    texts = table.column("text").to_pylist()
    logger.info("chunked %d documents into %d chunks", len(docs), len(texts))
    if vectors is not None and not needs_vectors:
        raise InputError("build_collection got vectors= but no vector index; add a FaissIndex or leave vectors out.")
    if vectors is not None:
        from ragkit.store.updates import chunk_ids

        given = embedder_given  # the default embedder is not loaded just to check the dimension
        rows = resolve_vectors(vectors, chunk_ids(table).to_pylist(), owner="build_collection",
                               dimension=embedder.dimension if given and embedder is not None else None)
    elif needs_vectors:
        assert embedder is not None
        warn_if_truncating(chunker, embedder)
        rows = embedder.embed_documents(texts)
    else:
        rows = None
    build_indexes(named, texts, rows)
    return Collection(table, named, embedder=embedder if needs_vectors else None,
                      chunker_config=component_config(chunker))

