"""Search indexes over the chunk rows of a collection."""

from ragkit.index.bm25 import BM25Config, BM25Index, BM25Tokenizer
from ragkit.index.faiss_index import FaissConfig, FaissIndex

__all__ = ["BM25Config", "BM25Index", "BM25Tokenizer", "FaissConfig", "FaissIndex"]
