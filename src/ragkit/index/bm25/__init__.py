"""BM25 lexical index."""

from ragkit.index.bm25.config import BM25Config
from ragkit.index.bm25.index import BM25Index
from ragkit.index.bm25.query import warm_kernels
from ragkit.index.bm25.scoring import VARIANTS
from ragkit.index.bm25.stats import CorpusStats
from ragkit.index.bm25.tokenizer import BM25Tokenizer

__all__ = ["BM25Config", "BM25Index", "BM25Tokenizer", "CorpusStats", "VARIANTS", "warm_kernels"]
