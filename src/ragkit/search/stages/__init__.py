"""Stages after fusion: reranking, diversity, context expansion (``retriever.then(...)``)."""

from ragkit.search.stages.diversity import MMR
from ragkit.search.stages.expand import Expand
from ragkit.search.stages.rerank import DEFAULT_RERANK_DEPTH, Rerank

__all__ = ["DEFAULT_RERANK_DEPTH", "MMR", "Expand", "Rerank"]
