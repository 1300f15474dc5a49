"""``build_collection``: chunk, embed and index documents into a :class:`Collection`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ragkit.core.documents import Document, validate_documents
from ragkit.core.errors import ConfigError, EmptyCorpusError
from ragkit.core.protocols import Chunker, Embedder
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
    named = _name_indexes(indexes if indexes is not None else [FaissIndex("Flat"), BM25Index()])
    needs_vectors = any(getattr(idx, "kind", None) == "vector" for idx in named.values())
    if needs_vectors and embedder is None:
        from ragkit.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()

    chunks = chunker.chunk_many(docs) if hasattr(chunker, "chunk_many") else [c for d in docs for c in chunker.chunk(d)]
    table = chunks_to_table(chunks)
    texts = table.column("text").to_pylist()
    logger.info("chunked %d documents into %d chunks", len(docs), len(texts))
    if needs_vectors:
        assert embedder is not None
        _warn_if_truncating(chunker, embedder)
        vectors = embedder.embed_documents(texts)
    for name, idx in named.items():
        if idx.kind == "vector":
            idx.build(vectors)
        else:
            idx.build(texts)
        logger.info("built index %s (%s)", name, type(idx).__name__)
    return Collection(table, named, embedder=embedder if needs_vectors else None,
                      chunker_config=component_config(chunker))


def _name_indexes(indexes: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(indexes, Mapping):
        named = dict(indexes)
    else:
        named = {}
        for idx in indexes:
            kind = getattr(idx, "kind", None)
            if kind is None:
                raise ConfigError(f"{idx!r} is not a ragkit index (it has no 'kind' attribute).")
            name, n = kind, 1
            while name in named:
                n += 1
                name = f"{kind}_{n}"
            named[name] = idx
    if not named:
        raise ConfigError("build_collection needs at least one index, e.g. indexes=[FaissIndex(), BM25Index()].")
    for name, idx in named.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"Index name {name!r} must be a plain identifier (letters, digits, underscore).")
        if getattr(idx, "kind", None) not in ("vector", "bm25"):
            raise ConfigError(f"Index {name!r} ({type(idx).__name__}) has unknown kind {getattr(idx, 'kind', None)!r}.")
    return named


def _warn_if_truncating(chunker: Any, embedder: Any) -> None:
    limit = getattr(embedder, "max_seq_length", None)
    size = getattr(chunker, "max_tokens", None)
    if isinstance(limit, int) and isinstance(size, int) and size + 2 > limit:
        logger.warning(
            "chunks of up to %d tokens exceed the embedding model's %d-token window (2 are special tokens); "
            "the model will truncate long chunks. Use max_tokens <= %d.", size, limit, limit - 2,
        )
