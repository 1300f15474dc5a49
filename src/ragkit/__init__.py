"""ragkit: retrieval infrastructure — chunking, embedding, FAISS and BM25 indexes, hybrid search.

Importing ragkit is cheap: torch, sentence-transformers and faiss load on first use.
"""

from ragkit.chunking import MarkdownChunker, RecursiveChunker, SentenceChunker
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
from ragkit.core.version import __version__
from ragkit.embedding import SentenceTransformerEmbedder
from ragkit.index import BM25Index, BM25Tokenizer, FaissIndex
from ragkit.pipeline import BatchConfig, build_collection, index_corpus, read_folder
from ragkit.search import RRF, BM25Retriever, DenseRetriever, HybridRetriever, ScoreFusion
from ragkit.store import Collection, Principal, ShardedCollection, open_collection, register_component

__all__ = [
    "AccessError", "BatchConfig", "ConflictError", "Principal",
    "BM25Index", "BM25Retriever", "BM25Tokenizer", "Chunk", "Collection", "ConfigError", "CorruptIndexError",
    "DenseRetriever", "DimensionMismatchError", "Document", "EmptyCorpusError", "FaissIndex", "FilterError",
    "Hit", "HybridRetriever", "IndexFormatError", "InputError", "MarkdownChunker", "MissingDependencyError",
    "ModelIntegrityError", "ModelMismatchError", "NotBuiltError", "RRF", "RagkitError", "ReadOnlyError", "RecursiveChunker",
    "ScoreFusion", "SentenceChunker", "SentenceTransformerEmbedder", "ShardedCollection", "__version__", "build_collection",
    "index_corpus", "open_collection", "read_folder", "register_component",
]
