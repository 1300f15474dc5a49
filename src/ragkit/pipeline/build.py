"""``build_collection``: chunk, embed and index documents into a :class:`Collection`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ragkit.chunking.batch import chunk_documents
from ragkit.core.documents import Document, validate_documents
from ragkit.core.errors import EmptyCorpusError
from ragkit.core.protocols import Chunker, Embedder
from ragkit.index.building import build_indexes, name_indexes
from ragkit.pipeline.checks import warn_if_truncating
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

    Example:
        >>> col = build_collection([Document(id="a", text="BM25 ranks by term statistics.")],
        ...                        indexes=[BM25Index()])                       # doctest: +SKIP

    Raises:
        EmptyCorpusError: no documents.
        InputError: a malformed document or duplicate id.
        ConfigError: no index, or index names that are not identifiers.
    """
    from ragkit.chunking import RecursiveChunker
    from ragkit.index import BM25Index, FaissIndex

    docs = validate_documents(documents)
    if not docs:
        raise EmptyCorpusError("build_collection got no documents; give at least one Document.")
    chunker = chunker if chunker is not None else RecursiveChunker()
    named = name_indexes(indexes if indexes is not None else [FaissIndex("Flat"), BM25Index()])
    needs_vectors = any(idx.kind == "vector" for idx in named.values())
    if needs_vectors and embedder is None:
        from ragkit.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()

    chunks = chunk_documents(chunker, docs)
    table = chunks_to_table(chunks)
    texts = table.column("text").to_pylist()
    logger.info("chunked %d documents into %d chunks", len(docs), len(texts))
    vectors = None
    if needs_vectors:
        assert embedder is not None
        warn_if_truncating(chunker, embedder)
        vectors = embedder.embed_documents(texts)
    build_indexes(named, texts, vectors)
    return Collection(table, named, embedder=embedder if needs_vectors else None,
                      chunker_config=component_config(chunker))

