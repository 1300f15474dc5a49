"""A deterministic stand-in for a cross-encoder: scores from word overlap and SHA-256, no model."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ragkit.core.errors import InputError
from ragkit.core.validation import check_float

__all__ = ["FakeReranker"]

_WORD = re.compile(r"\w+")


class FakeReranker:
    """A :class:`~ragkit.core.protocols.Reranker` for tests: the same pair always gets the same score.

    A pair scores the number of distinct query words found in the passage (lowercased),
    plus a fraction in ``[0, 0.5)`` from the SHA-256 of the pair, so ties are rare and
    orders differ from the legs'. Every pair scored is kept in :attr:`seen` (in order);
    ``seconds_per_pair`` makes each call sleep that long per pair (for time-budget tests).

    Example:
        >>> r = FakeReranker()
        >>> s = r.score(["cats purr", "cats purr"], ["A cat purrs.", "Cats purr loudly."])
        >>> bool(s[1] > s[0])
        True
    """

    def __init__(self, *, seconds_per_pair: float = 0.0) -> None:
        self.seconds_per_pair = check_float("FakeReranker", "seconds_per_pair", seconds_per_pair, low=0.0)
        self.seen: list[tuple[str, str]] = []
        self.calls = 0

    @property
    def model_id(self) -> str:
        return "fake-reranker"

    def get_config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "seconds_per_pair": self.seconds_per_pair}

    @staticmethod
    def pair_score(query: str, text: str) -> float:
        """The score of one pair (what :meth:`score` returns for it)."""
        words = set(_WORD.findall(query.lower()))
        found = set(_WORD.findall(text.lower()))
        digest = hashlib.sha256(f"{query}\x00{text}".encode()).digest()
        return float(len(words & found)) + int.from_bytes(digest[:8], "big") / 2**64 / 2

    def score(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        if isinstance(queries, str) or isinstance(texts, str) or len(queries) != len(texts):
            raise InputError("FakeReranker.score takes two lists of equal length (queries, texts).")
        self.calls += 1
        pairs = list(zip(queries, texts, strict=True))
        self.seen.extend(pairs)
        if self.seconds_per_pair:
            time.sleep(self.seconds_per_pair * len(pairs))
        return np.fromiter((self.pair_score(q, t) for q, t in pairs), dtype=np.float64, count=len(pairs))

    def __repr__(self) -> str:
        return f"FakeReranker(seconds_per_pair={self.seconds_per_pair!r})"
