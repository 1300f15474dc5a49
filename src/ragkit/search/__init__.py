"""Search: the planner, retrievers, fusion, and the stages after fusion."""

from ragkit.search.fusion import RRF, ScoreFusion, normalize
from ragkit.search.hybrid import HybridRetriever
from ragkit.search.single import BM25Retriever, DenseRetriever

__all__ = ["RRF", "BM25Retriever", "DenseRetriever", "HybridRetriever", "ScoreFusion", "normalize"]
