"""Helpers for testing ragkit pieces and code built on them."""

from ragkit.testing.fake_embedder import HashEmbedder

__all__ = ["HashEmbedder"]
