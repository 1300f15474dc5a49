"""Moved: retrievers and fusion to :mod:`ragkit.search`; filters, access control and sharded collections to :mod:`ragkit.store`.

This package is removed in ragkit 0.3.
"""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.search (retrievers, fusion) and ragkit.store (filters, Principal, ShardedCollection)")

from ragkit.core.results import Candidates, Hit, LegScore  # noqa: E402
from ragkit.search import RRF, BM25Retriever, DenseRetriever, HybridRetriever, ScoreFusion, normalize  # noqa: E402
from ragkit.store import OPERATORS, Filter, Principal, ShardedCollection, filter_mask, open_collection  # noqa: E402

__all__ = [
    "OPERATORS", "RRF", "BM25Retriever", "Candidates", "DenseRetriever", "Filter", "Hit",
    "HybridRetriever", "LegScore", "Principal", "ScoreFusion", "ShardedCollection", "filter_mask", "normalize",
    "open_collection",
]
