"""Token counters: where tokens start in a text, so chunkers can measure spans in tokens.

A counter answers one question, ``token_starts(text)``: the ascending character offsets
at which tokens begin. The number of tokens in a span ``[s, e)`` of that text is then the
number of starts inside it, found with two binary searches (see :mod:`ragkit.chunking.spans`).

``tokenizers`` is imported only when a Hugging Face tokenizer is first resolved.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ragkit.core.errors import ConfigError, InputError, MissingDependencyError

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

__all__ = ["RegexTokenCounter", "HFTokenCounter", "get_token_counter", "DEFAULT_TOKENIZER"]

#: The tokenizer chunkers measure with unless told otherwise (the default embedding model's).
DEFAULT_TOKENIZER = "all-MiniLM-L6-v2"

_TOKEN = re.compile(r"\w+|[^\w\s]")
_first = operator.itemgetter(0)
_ACCEPTED_SPECS = (
    "'regex', 'all-MiniLM-L6-v2' (or 'sentence-transformers/all-MiniLM-L6-v2'), "
    "a folder containing tokenizer.json, a path to a tokenizer.json file, "
    "or a Hugging Face hub model id"
)


class RegexTokenCounter:
    """Counts runs of word characters and single punctuation marks as tokens.

    Tokens match ``\\w+|[^\\w\\s]`` (Unicode-aware). Fast and dependency-free; a good
    stand-in when the embedding model's own tokenizer is not needed.

    Example:
        >>> RegexTokenCounter().token_starts("Hi, you!").tolist()
        [0, 2, 4, 7]
    """

    name = "regex"

    def token_starts(self, text: str) -> np.ndarray:
        """Character offsets where each token of ``text`` starts (int64, ascending)."""
        return np.fromiter((m.start() for m in _TOKEN.finditer(text)), dtype=np.int64)

    def token_starts_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        """:meth:`token_starts` for each text."""
        return [self.token_starts(text) for text in texts]

    def __repr__(self) -> str:
        return "RegexTokenCounter()"


class HFTokenCounter:
    """Counts tokens with a Hugging Face ``tokenizers.Tokenizer``.

    Special tokens are not added, and truncation and padding are switched off (on a
    copy, if the given tokenizer has them on), so every token of a long text counts.

    Args:
        tokenizer: a ``tokenizers.Tokenizer``.
        name: how the tokenizer was specified, for display.

    Raises:
        ConfigError: if ``tokenizer`` does not look like a ``tokenizers.Tokenizer``.

    Example:
        >>> counter = get_token_counter("all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> counter.token_starts("Tokenisation!").tolist()  # doctest: +SKIP
        [0, 5, 12]
    """

    def __init__(self, tokenizer: Tokenizer, name: str = "custom") -> None:
        if not (hasattr(tokenizer, "encode") and hasattr(tokenizer, "encode_batch")):
            raise ConfigError(
                "The 'tokenizer' parameter of HFTokenCounter must be a tokenizers.Tokenizer. "
                f"Got {type(tokenizer).__name__} instead."
            )
        if tokenizer.truncation is not None or tokenizer.padding is not None:
            tokenizer = type(tokenizer).from_str(tokenizer.to_str())
            tokenizer.no_truncation()
            tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.name = name

    def token_starts(self, text: str) -> np.ndarray:
        """Character offsets where each token of ``text`` starts (int64, ascending).

        Raises:
            InputError: if the tokenizer refuses the text (e.g. it holds lone surrogates).
        """
        try:
            encoding = self.tokenizer.encode(text, add_special_tokens=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"The text could not be tokenised by {self.name!r}: {exc}") from exc
        return _starts(encoding)

    def token_starts_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        """:meth:`token_starts` for each text, tokenised in one parallel batch.

        Raises:
            InputError: if the tokenizer refuses one of the texts.
        """
        try:
            encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"A text could not be tokenised by {self.name!r}: {exc}") from exc
        return [_starts(encoding) for encoding in encodings]

    def __repr__(self) -> str:
        return f"HFTokenCounter(name={self.name!r})"


def _starts(encoding: Encoding) -> np.ndarray:
    offsets = encoding.offsets
    starts = np.fromiter(map(_first, offsets), dtype=np.int64, count=len(offsets))
    if starts.size > 1 and bool(np.any(starts[1:] < starts[:-1])):
        starts.sort(kind="stable")
    return starts


def get_token_counter(spec: str) -> RegexTokenCounter | HFTokenCounter:
    """Resolve a tokenizer spec to a token counter (cached per spec).

    Accepted specs: ``"regex"``; ``"all-MiniLM-L6-v2"`` or
    ``"sentence-transformers/all-MiniLM-L6-v2"`` (loaded offline from the installed default
    model); a local folder containing ``tokenizer.json``; a path to a ``tokenizer.json``
    file; any other string is looked up on the Hugging Face hub.

    Raises:
        ConfigError: if ``spec`` is not a non-empty string or the tokenizer cannot be loaded.
        MissingDependencyError: if the default model package is not installed.

    Example:
        >>> get_token_counter("regex").token_starts("a b").tolist()
        [0, 2]
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"A tokenizer spec must be a non-empty string: {_ACCEPTED_SPECS}. Got {spec!r} instead.")
    return _resolve(spec)


@functools.lru_cache(maxsize=16)
def _resolve(spec: str) -> RegexTokenCounter | HFTokenCounter:
    if spec == "regex":
        return RegexTokenCounter()
    from ragkit.embedding.default_model import default_model_path, is_default_model

    if is_default_model(spec):
        # Only tokenizer.json is read, so the weights' checksum need not be computed here.
        return HFTokenCounter(_load(spec, file=default_model_path(verify=False) / "tokenizer.json"), spec)
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return HFTokenCounter(_load(spec, file=path / "tokenizer.json"), spec)
    if path.is_file() and path.suffix == ".json":
        return HFTokenCounter(_load(spec, file=path), spec)
    return HFTokenCounter(_load(spec, file=None), spec)


def _load(spec: str, *, file: Path | None) -> Tokenizer:
    """Load ``file`` if given, else ``spec`` from the hub; failures become ConfigError."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:  # pragma: no cover - tokenizers is a core dependency
        raise MissingDependencyError(
            f"Tokenizer {spec!r} needs the package 'tokenizers' (pip install tokenizers), or use tokenizer='regex'."
        ) from exc
    try:
        return Tokenizer.from_file(str(file)) if file is not None else Tokenizer.from_pretrained(spec)
    except Exception as exc:  # tokenizers raises bare Exception for hub and parse failures
        raise ConfigError(
            f"The tokenizer {spec!r} could not be loaded ({type(exc).__name__}: {exc}). "
            f"Accepted specs: {_ACCEPTED_SPECS}."
        ) from exc
