"""Search: the planner, retrievers, fusion, and the stages after fusion."""

from ragkit.search.aio import AsyncLimit
from ragkit.search.fusion import RRF, ScoreFusion, normalize
from ragkit.search.hybrid import HybridRetriever
from ragkit.search.single import BM25Retriever, DenseRetriever
from ragkit.search.stages import MMR, Expand, Rerank

__all__ = ["MMR", "RRF", "AsyncLimit", "BM25Retriever", "DenseRetriever", "Expand", "HybridRetriever", "Rerank", "ScoreFusion", "normalize"]
