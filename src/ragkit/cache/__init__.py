"""Query caches: exact and near-duplicate (semantic) reuse of search results."""

from ragkit.cache.retriever import CachedRetriever
from ragkit.cache.semantic import CacheHit, SemanticCache

__all__ = ["CacheHit", "CachedRetriever", "SemanticCache"]
