"""The BM25 tokenizer: lower-case, unicode word split, stop words, optional Snowball stemming."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ragkit.core.errors import ConfigError, InputError, MissingDependencyError
from ragkit.core.validation import check_choice, check_config, check_str
from ragkit.index.bm25.stopwords import STOPWORDS

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BM25Tokenizer"]

_STEMMERS = ("english", "porter", "german", "french", "spanish", "italian", "dutch", "portuguese")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, kw_only=True)
class BM25Tokenizer:
    """Splits text into index terms. Persisted with the index so queries tokenise identically.

    ``pattern`` is a regular expression whose matches are the tokens (default: runs of
    unicode word characters). ``stopwords`` names a stop list (``"en"``) or is ``None``;
    ``stemmer`` names a Snowball algorithm of PyStemmer (``"english"``...) or is ``None``.

    Example:
        >>> BM25Tokenizer(stemmer=None).tokenize(["The Cats are purring!"])
        [['cats', 'purring']]

    Raises:
        ConfigError: on an unknown stop list, stemmer, or an invalid pattern.
    """

    pattern: str = r"\w+"
    lowercase: bool = True
    stopwords: str | None = "en"
    stemmer: str | None = "english"

    def __post_init__(self) -> None:
        owner = "BM25Tokenizer"
        check_str(owner, "pattern", self.pattern)
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ConfigError(f"The 'pattern' parameter of {owner} is not a valid regex: {exc}") from exc
        if self.stopwords is not None:
            check_choice(owner, "stopwords", self.stopwords, tuple(STOPWORDS))
        if self.stemmer is not None:
            check_choice(owner, "stemmer", self.stemmer, _STEMMERS)
        if not isinstance(self.lowercase, bool):
            raise ConfigError(f"The 'lowercase' parameter of {owner} must be a bool. Got {self.lowercase!r} instead.")

    def get_config(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BM25Tokenizer:
        """Rebuild a tokenizer from :meth:`get_config` output.

        Raises:
            ConfigError: ``config`` is not a mapping, has unknown keys (e.g. written by a
                newer ragkit) or holds bad values.
        """
        return cls(**check_config(cls.__name__, config, [f.name for f in fields(cls)]))

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """Terms of each text, in order (duplicates kept: they are term frequencies).

        A lone surrogate (invalid Unicode, e.g. from ``errors='surrogateescape'``) is read as
        U+FFFD, so every term can be stemmed and stored as UTF-8.

        Raises:
            InputError: ``texts`` is a single str, or holds something that is not a str.
        """
        if isinstance(texts, str):
            raise InputError("BM25Tokenizer.tokenize expects a list of texts, got a single str; wrap it as [text].")
        findall = _compiled(self.pattern).findall
        stop = STOPWORDS[self.stopwords] if self.stopwords else frozenset()
        stem = _stem_function(self.stemmer) if self.stemmer else None
        out: list[list[str]] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"Text {i} is a {type(text).__name__}, not a str. Decode bytes first (data.decode('utf-8')).")
            if not text.isascii():
                text = _SURROGATE.sub("\ufffd", text)
            raw = findall(text.lower() if self.lowercase else text)
            terms = [t for t in raw if t not in stop] if stop else raw
            out.append(stem(terms) if stem is not None else terms)
        return out


@lru_cache(maxsize=32)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_stem_local = threading.local()


def _stem_function(algorithm: str) -> Callable[[list[str]], list[str]]:
    """PyStemmer's ``stemWords`` for ``algorithm`` (one stemmer object per thread: they are not thread-safe)."""
    cache: dict[str, Any] = getattr(_stem_local, "stemmers", None) or {}
    _stem_local.stemmers = cache
    stemmer = cache.get(algorithm)
    if stemmer is None:
        try:
            import Stemmer
        except ImportError as exc:  # pragma: no cover - PyStemmer is a core dependency
            raise MissingDependencyError("Stemming needs PyStemmer: pip install PyStemmer") from exc
        stemmer = Stemmer.Stemmer(algorithm)
        stemmer.maxCacheSize = 100_000
        cache[algorithm] = stemmer
    return stemmer.stemWords  # type: ignore[no-any-return]
