"""Text embedding."""

from ragkit.embedding.cache import CachedEmbedder, EmbeddingCache, default_cache_dir
from ragkit.embedding.default_model import DEFAULT_MODEL, DEFAULT_MODEL_SHA256, default_model_path
from ragkit.embedding.hashing import HashEmbedder
from ragkit.embedding.prompts import default_prompts
from ragkit.embedding.sentence_transformer import SentenceTransformerConfig, SentenceTransformerEmbedder

__all__ = [
    "CachedEmbedder",
    "EmbeddingCache",
    "HashEmbedder",
    "default_cache_dir",
    "default_prompts",
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_SHA256",
    "SentenceTransformerConfig",
    "SentenceTransformerEmbedder",
    "default_model_path",
]
