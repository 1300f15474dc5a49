"""A deterministic, model-free embedder (feature hashing of words) for tests, examples and offline demos."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ragkit.core.validation import check_config, check_int, check_str
from ragkit.embedding.sentence_transformer import check_texts

__all__ = ["HashEmbedder"]

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=65536)
def _word_vector(word: str, dimension: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)


class HashEmbedder:
    """Bag-of-words vectors from SHA-256-seeded word vectors: same text, same vector, everywhere.

    Texts sharing words get similar vectors, so retrieval tests behave sensibly without a
    model. ``calls`` counts how many texts were embedded.

    Example:
        >>> HashEmbedder(dimension=8).embed_documents(["a cat"]).shape
        (1, 8)
    """

    def __init__(self, dimension: int = 64, model: str = "hash-embedder") -> None:
        self.config: dict[str, Any] = {"dimension": check_int("HashEmbedder", "dimension", dimension, low=2),
                                       "model": check_str("HashEmbedder", "model", model)}
        self.calls = 0

    @property
    def dimension(self) -> int:
        return int(self.config["dimension"])

    @property
    def model_id(self) -> str:
        return f"{self.config['model']}-{self.dimension}"

    def get_config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **self.config}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HashEmbedder:
        """Rebuild from :meth:`get_config` output; ConfigError on a non-mapping, unknown keys or bad values."""
        return cls(**check_config(cls.__name__, config, ("dimension", "model")))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[i] += _word_vector(word, self.dimension)
            if not out[i].any():
                out[i] = _word_vector("\0empty", self.dimension)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out
