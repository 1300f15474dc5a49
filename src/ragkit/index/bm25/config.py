"""Parameters of the BM25 index (:class:`~ragkit.index.bm25.index.BM25Index`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ragkit.core.errors import ConfigError
from ragkit.core.validation import check_choice, check_config, check_float
from ragkit.index.bm25.scoring import VARIANTS, Variant
from ragkit.index.bm25.tokenizer import BM25Tokenizer

__all__ = ["BM25Config", "config_options"]


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
        for name, high in (("k1", None), ("b", 1.0), ("delta", None), ("epsilon", None)):
            # stored as float: a numpy number would not survive the manifest's JSON
            object.__setattr__(self, name, check_float(owner, name, getattr(self, name), low=0.0, high=high))
        if not isinstance(self.tokenizer, BM25Tokenizer):
            raise ConfigError(
                f"The 'tokenizer' parameter of {owner} must be a BM25Tokenizer. Got {self.tokenizer!r} instead."
            )


def config_options(owner: str, config: Any) -> dict[str, Any]:
    """The keyword arguments of ``BM25Index(...)`` that a :meth:`BM25Index.get_config` mapping records.

    Raises:
        ConfigError: ``config`` is not a mapping or has unknown keys (e.g. written by a newer
            ragkit); its ``tokenizer`` entry is not a mapping (or a BM25Tokenizer) or is invalid.
    """
    options = check_config(owner, config, [f.name for f in fields(BM25Config)])
    tokenizer = options.get("tokenizer", {})
    if not isinstance(tokenizer, BM25Tokenizer):
        if not isinstance(tokenizer, Mapping):
            raise ConfigError(
                f"The 'tokenizer' parameter of {owner}.from_config must be a mapping (what BM25Tokenizer.get_config() "
                f"returns). Got {type(tokenizer).__name__} instead."
            )
        options["tokenizer"] = BM25Tokenizer.from_config(tokenizer)
    return options
