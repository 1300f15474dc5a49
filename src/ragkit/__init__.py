"""ragkit: retrieval infrastructure — chunking, embedding, FAISS and BM25 indexes, hybrid search.

Importing ragkit is cheap: each public name below is imported from its module on first use
(so ``ragkit search`` on a BM25 collection never loads the embedding or pipeline code), and
torch, sentence-transformers and faiss load only when a model or vector index is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ragkit.core.version import __version__

if TYPE_CHECKING:
    from ragkit.chunking import MarkdownChunker, RecursiveChunker, SentenceChunker, WholeDocumentChunker
    from ragkit.core.documents import Chunk, Document
    from ragkit.core.errors import (
        AccessError,
        ConfigError,
        ConflictError,
        CorruptIndexError,
        DimensionMismatchError,
        EmptyCorpusError,
        FilterError,
        IndexFormatError,
        InputError,
        MissingDependencyError,
        ModelIntegrityError,
        ModelMismatchError,
        NotBuiltError,
        RagkitError,
        ReadOnlyError,
    )
    from ragkit.core.results import Hit
    from ragkit.embedding import SentenceTransformerEmbedder
    from ragkit.index import BM25Index, BM25Tokenizer, FaissIndex
    from ragkit.pipeline import BatchConfig, build_collection, index_corpus, read_folder
    from ragkit.search import RRF, BM25Retriever, DenseRetriever, HybridRetriever, ScoreFusion
    from ragkit.store import Collection, Principal, ShardedCollection, open_collection, register_component

#: Where each public name lives; imported on first access (PEP 562).
_EXPORTS = {
    **dict.fromkeys(("MarkdownChunker", "RecursiveChunker", "SentenceChunker", "WholeDocumentChunker"), "ragkit.chunking"),
    **dict.fromkeys(("Chunk", "Document"), "ragkit.core.documents"),
    **dict.fromkeys(("AccessError", "ConfigError", "ConflictError", "CorruptIndexError", "DimensionMismatchError",
                     "EmptyCorpusError", "FilterError", "IndexFormatError", "InputError", "MissingDependencyError",
                     "ModelIntegrityError", "ModelMismatchError", "NotBuiltError", "RagkitError", "ReadOnlyError"),
                    "ragkit.core.errors"),
    "Hit": "ragkit.core.results",
    "SentenceTransformerEmbedder": "ragkit.embedding",
    **dict.fromkeys(("BM25Index", "BM25Tokenizer", "FaissIndex"), "ragkit.index"),
    **dict.fromkeys(("BatchConfig", "build_collection", "index_corpus", "read_folder"), "ragkit.pipeline"),
    **dict.fromkeys(("RRF", "BM25Retriever", "DenseRetriever", "HybridRetriever", "ScoreFusion"), "ragkit.search"),
    **dict.fromkeys(("Collection", "Principal", "ShardedCollection", "open_collection", "register_component"), "ragkit.store"),
}

__all__ = [
    "AccessError", "BatchConfig", "ConflictError", "Principal",
    "BM25Index", "BM25Retriever", "BM25Tokenizer", "Chunk", "Collection", "ConfigError", "CorruptIndexError",
    "DenseRetriever", "DimensionMismatchError", "Document", "EmptyCorpusError", "FaissIndex", "FilterError",
    "Hit", "HybridRetriever", "IndexFormatError", "InputError", "MarkdownChunker", "MissingDependencyError",
    "ModelIntegrityError", "ModelMismatchError", "NotBuiltError", "RRF", "RagkitError", "ReadOnlyError", "RecursiveChunker",
    "ScoreFusion", "SentenceChunker", "SentenceTransformerEmbedder", "ShardedCollection", "WholeDocumentChunker", "__version__",
    "build_collection", "index_corpus", "open_collection", "read_folder", "register_component",
]


#: Subpackages reachable as attributes (``ragkit.pipeline.JsonlSource``) without importing them first.
_SUBPACKAGES = frozenset({"adapters", "cache", "chunking", "core", "embedding", "eval", "index", "observe", "pipeline",
                          "search", "serve", "store", "testing"})


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        if name in _SUBPACKAGES:
            return importlib.import_module(f"ragkit.{name}")
        raise AttributeError(f"module 'ragkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
