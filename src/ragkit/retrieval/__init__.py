"""Retrievers, fusion and filters."""

from ragkit.retrieval.access import Principal
from ragkit.retrieval.filters import OPERATORS, Filter, filter_mask
from ragkit.retrieval.fusion import RRF, ScoreFusion, normalize
from ragkit.retrieval.hits import Candidates, Hit, LegScore
from ragkit.retrieval.hybrid import HybridRetriever
from ragkit.retrieval.sharded import ShardedCollection, open_collection
from ragkit.retrieval.single import BM25Retriever, DenseRetriever

__all__ = [
    "OPERATORS", "RRF", "BM25Retriever", "Candidates", "DenseRetriever", "Filter", "Hit",
    "HybridRetriever", "LegScore", "Principal", "ScoreFusion", "ShardedCollection", "filter_mask", "normalize",
    "open_collection",
]
