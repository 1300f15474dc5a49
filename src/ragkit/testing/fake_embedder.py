"""The deterministic fake embedder lives in :mod:`ragkit.embedding.hashing`; re-exported here for tests."""

from ragkit.embedding.hashing import HashEmbedder

__all__ = ["HashEmbedder"]
