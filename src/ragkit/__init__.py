"""ragkit: retrieval infrastructure — chunking, embedding, FAISS and BM25 indexes, hybrid search.

Importing ragkit is cheap: torch, sentence-transformers and faiss load on first use.
"""

from ragkit._version import __version__
from ragkit.chunking import MarkdownChunker, RecursiveChunker, SentenceChunker
from ragkit.documents import Chunk, Document
from ragkit.embedding import SentenceTransformerEmbedder
from ragkit.errors import (
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
)
from ragkit.index import BM25Index, BM25Tokenizer, FaissIndex
from ragkit.pipeline import BatchConfig, build_collection, index_corpus, read_folder
from ragkit.retrieval import (
    RRF,
    BM25Retriever,
    DenseRetriever,
    Hit,
    HybridRetriever,
    Principal,
    ScoreFusion,
    ShardedCollection,
    open_collection,
)
from ragkit.store import Collection, register_component

__all__ = [
    "AccessError", "BatchConfig", "ConflictError", "Principal",
    "BM25Index", "BM25Retriever", "BM25Tokenizer", "Chunk", "Collection", "ConfigError", "CorruptIndexError",
    "DenseRetriever", "DimensionMismatchError", "Document", "EmptyCorpusError", "FaissIndex", "FilterError",
    "Hit", "HybridRetriever", "IndexFormatError", "InputError", "MarkdownChunker", "MissingDependencyError",
    "ModelIntegrityError", "ModelMismatchError", "NotBuiltError", "RRF", "RagkitError", "RecursiveChunker",
    "ScoreFusion", "SentenceChunker", "SentenceTransformerEmbedder", "ShardedCollection", "__version__", "build_collection",
    "index_corpus", "open_collection", "read_folder", "register_component",
]
