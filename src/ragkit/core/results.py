"""Ranked results: ``Candidates`` (arrays, inside the engine) and ``Hit`` (records, for users)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Candidates", "LegScore", "Hit"]


@dataclass(frozen=True, slots=True)
class Candidates:
    """The ranked rows one query got from one retriever, best first.

    ``rows`` are chunk row numbers in the collection (int64), ``scores`` the matching
    scores (float64, descending). Kept as arrays so fusion and evaluation stay vectorised.
    """

    rows: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        if self.rows.shape != self.scores.shape or self.rows.ndim != 1:
            raise ValueError("Candidates.rows and .scores must be 1-d arrays of equal length")

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class LegScore:
    """Where one retriever leg placed a hit: 1-based rank and raw score."""

    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the chunk, its final score, and the rank/score it had in each leg."""

    score: float
    doc_id: str
    chunk_row: int
    text: str
    start: int
    end: int
    position: int
    metadata: Mapping[str, Any] = field(default_factory=dict)
    legs: Mapping[str, LegScore] = field(default_factory=dict)
