"""Search indexes over the chunk rows of a collection."""

from ragkit.index.bm25 import BM25Config, BM25Index, BM25Tokenizer, CorpusStats
from ragkit.index.vector import FaissConfig, FaissIndex, check_vectors

__all__ = ["BM25Config", "BM25Index", "BM25Tokenizer", "CorpusStats", "FaissConfig", "FaissIndex", "check_vectors"]
