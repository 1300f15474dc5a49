"""Text embedding."""

from ragkit.embedding.default_model import DEFAULT_MODEL, DEFAULT_MODEL_SHA256, default_model_path
from ragkit.embedding.sentence_transformer import SentenceTransformerConfig, SentenceTransformerEmbedder

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_SHA256",
    "SentenceTransformerConfig",
    "SentenceTransformerEmbedder",
    "default_model_path",
]
