"""Parameters of the BM25 index (:class:`~ragkit.index.bm25.index.BM25Index`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ragkit.core.errors import ConfigError
from ragkit.core.validation import check_choice, check_float
from ragkit.index.bm25.scoring import VARIANTS, Variant
from ragkit.index.bm25.tokenizer import BM25Tokenizer

__all__ = ["BM25Config"]


@dataclass(frozen=True, kw_only=True)
class BM25Config:
    """Parameters of :class:`BM25Index`.

    ``variant``: ``"lucene"`` (default; as Lucene and bm25s compute it), ``"okapi"``
    (identical to rank-bm25's ``BM25Okapi``), ``"bm25+"`` or ``"bm25l"``.
    """

    variant: Variant = "lucene"
    k1: float = 1.5
    b: float = 0.75
    delta: float = 0.5
    epsilon: float = 0.25
    tokenizer: BM25Tokenizer = field(default_factory=BM25Tokenizer)

    def __post_init__(self) -> None:
        owner = "BM25Index"
        check_choice(owner, "variant", self.variant, VARIANTS)
        check_float(owner, "k1", self.k1, low=0.0)
        check_float(owner, "b", self.b, low=0.0, high=1.0)
        check_float(owner, "delta", self.delta, low=0.0)
        check_float(owner, "epsilon", self.epsilon, low=0.0)
        if not isinstance(self.tokenizer, BM25Tokenizer):
            raise ConfigError(
                f"The 'tokenizer' parameter of {owner} must be a BM25Tokenizer. Got {self.tokenizer!r} instead."
            )
