"""The BM25 tokenizer: lower-case, unicode word split, CJK bigrams, stop words, optional Snowball stemming."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.core.errors import ConfigError, InputError, MissingDependencyError
from ragkit.core.validation import as_list, check_choice, check_config, check_str
from ragkit.index.bm25.stopwords import STOPWORDS

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BM25Tokenizer", "LANGUAGES", "CJK_RANGES"]

_STEMMERS = ("english", "porter", "german", "french", "spanish", "italian", "dutch", "portuguese", "russian", "swedish",
             "danish", "norwegian", "finnish")
_SURROGATE = "[\ud800-\udfff]"  # regexes compiled on first use (_compiled): an ASCII text needs neither
_CJK_MODES = ("bigram", "none")
#: Han, Hiragana, Katakana, Bopomofo and Hangul (the scripts Lucene's CJKBigramFilter pairs), as a regex class body.
CJK_RANGES = ("\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f"
              "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f")
_CJK_RUN = f"[{CJK_RANGES}]+"

#: ``BM25Tokenizer.for_language`` presets: language -> (stop list, stemmer). Chinese, Japanese and
#: Korean are read as CJK bigrams (with English stop words for mixed text), as Lucene's CJKAnalyzer does.
LANGUAGES: dict[str, tuple[str | None, str | None]] = {
    "en": ("en", "english"), "de": ("de", "german"), "fr": ("fr", "french"), "es": ("es", "spanish"),
    "it": ("it", "italian"), "nl": ("nl", "dutch"), "pt": ("pt", "portuguese"), "ru": ("ru", "russian"),
    "sv": ("sv", "swedish"), "zh": ("en", None), "ja": ("en", None), "ko": ("en", None), "none": (None, None),
}


@dataclass(frozen=True, kw_only=True)
class BM25Tokenizer:
    """Splits text into index terms. Persisted with the index so queries tokenise identically.

    ``pattern`` is a regular expression whose matches are the tokens (default: runs of
    unicode word characters). ``stopwords`` names a stop list (``"en"``, ``"de"``, ``"fr"``...
    see :data:`~ragkit.index.bm25.stopwords.STOPWORDS`) or is ``None``; ``stemmer`` names a
    Snowball algorithm of PyStemmer (``"english"``...) or is ``None``. ``cjk="bigram"`` (default)
    cuts runs of Chinese, Japanese and Korean characters into overlapping character bigrams
    (``"重置密码"`` -> ``重置 置密 密码``; a lone character stays a unigram), as Lucene's
    CJKAnalyzer does, so a CJK query matches inside a clause; ``"none"`` keeps ``pattern``'s
    tokens (one token per clause), which is how indexes saved before this option read text.
    :meth:`for_language` picks the settings for a language.

    Example:
        >>> BM25Tokenizer(stemmer=None).tokenize(["The Cats are purring!"])
        [['cats', 'purring']]
        >>> BM25Tokenizer().tokenize(["如何重置密码"])
        [['如何', '何重', '重置', '置密', '密码']]

    Raises:
        ConfigError: on an unknown stop list, stemmer, or an invalid pattern.
    """

    pattern: str = r"\w+"
    lowercase: bool = True
    stopwords: str | None = "en"
    stemmer: str | None = "english"
    cjk: str = "bigram"

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
        check_choice(owner, "cjk", self.cjk, _CJK_MODES)
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
        options = check_config(cls.__name__, config, [f.name for f in fields(cls)])
        options.setdefault("cjk", "none")  # saved before CJK bigrams existed: read text as it was indexed
        return cls(**options)

    @classmethod
    def for_language(cls, language: str) -> BM25Tokenizer:
        """The tokenizer for ``language`` (a key of :data:`LANGUAGES`: ``"en"``, ``"de"``, ``"zh"``...).

        Example:
            >>> BM25Tokenizer.for_language("de").stemmer
            'german'

        Raises:
            ConfigError: an unknown language, listing the known ones.
        """
        check_choice(cls.__name__, "language", language, tuple(LANGUAGES))
        stopwords, stemmer = LANGUAGES[language]
        return cls(stopwords=stopwords, stemmer=stemmer, cjk="bigram")

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """Terms of each text, in order (duplicates kept: they are term frequencies).

        A lone surrogate (invalid Unicode, e.g. from ``errors='surrogateescape'``) is read as
        U+FFFD, so every term can be stemmed and stored as UTF-8.

        Raises:
            InputError: ``texts`` is a single str, or holds something that is not a str.
        """
        finish = _finisher(self.stopwords, self.stemmer)
        if finish is None:
            return self.split(texts)
        get = finish.__getitem__
        return [[term for term in map(get, raw) if term is not None] for raw in self.split(texts)]

    def split(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text's tokens before stop words and stemming: lower-cased (when set) matches of ``pattern``,
        CJK runs as bigrams. :meth:`tokenize` and :meth:`term_ids` finish them.

        Raises:
            InputError: as :meth:`tokenize`.
        """
        if isinstance(texts, str):
            raise InputError("BM25Tokenizer.tokenize expects a list of texts, got a single str; wrap it as [text].")
        if not isinstance(texts, (list, tuple)):
            texts = as_list("BM25Tokenizer.tokenize", texts, "a list of texts")
        findall = _compiled(self.pattern).findall
        bigrams = self.cjk == "bigram"
        out: list[list[str]] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"Text {i} is a {type(text).__name__}, not a str. Decode bytes first (data.decode('utf-8')).")
            cjk = False
            if not text.isascii():
                text = _compiled(_SURROGATE).sub("\ufffd", text)
                if bigrams and _compiled(_CJK_RUN).search(text) is not None:
                    text, cjk = _compiled(_CJK_RUN).sub(r" \g<0> ", text), True  # a CJK run is a token of its own
            raw = findall(text.lower() if self.lowercase else text)
            out.append(_cjk_bigrams(raw) if cjk else raw)
        return out

    def term_ids(self, tokens: list[list[str]], vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """The terms :meth:`tokenize` makes of :meth:`split`'s ``tokens``, as ids in ``vocabulary``: all texts' ids
        concatenated (int64) and each text's term count. A new term gets the next id (``vocabulary`` grows, in order
        of first occurrence). Stop words and stemming run once per distinct token, not once per token: on a corpus,
        most of the work after splitting.
        """
        finish = _finisher(self.stopwords, self.stemmer)

        def code(token: str) -> int:
            term = token if finish is None else finish[token]
            return -1 if term is None else vocabulary.setdefault(term, len(vocabulary))

        codes = _TermCodes(code)
        flat = list(chain.from_iterable(tokens))
        ids = np.fromiter(map(codes.__getitem__, flat), dtype=np.int64, count=len(flat))
        counts = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        kept = ids >= 0
        if bool(kept.all()):
            return ids, counts
        owner = np.repeat(np.arange(len(tokens), dtype=np.int64), counts)
        return ids[kept], np.bincount(owner[kept], minlength=len(tokens)).astype(np.int64)


class _TermCodes(dict[str, int]):
    """token -> term id (-1: a stop word), each distinct token's computed once, on first lookup."""

    def __init__(self, code: Callable[[str], int]) -> None:
        super().__init__()
        self._code = code

    def __missing__(self, token: str) -> int:
        value = self[token] = self._code(token)
        return value


def _cjk_bigrams(tokens: list[str]) -> list[str]:
    """Tokens with each run of CJK characters replaced by its overlapping bigrams (a lone character kept)."""
    out: list[str] = []
    for token in tokens:
        if len(token) > 1 and _compiled(_CJK_RUN).fullmatch(token) is not None:
            out.extend(token[i:i + 2] for i in range(len(token) - 1))
        else:
            out.append(token)
    return out


class _Finisher(dict[str, "str | None"]):
    """token -> its index term: ``None`` for a stop word, else the token stemmed. Computed once per distinct
    token (a lookup costs a tenth of stemming it again); emptied when it holds :data:`_FINISHED_MAX` tokens."""

    def __init__(self, stopwords: str | None, stemmer: str | None) -> None:
        super().__init__()
        self._stop = STOPWORDS[stopwords] if stopwords else frozenset()
        self._stemmer = stemmer

    def __missing__(self, token: str) -> str | None:
        if len(self) >= _FINISHED_MAX:
            self.clear()
        term = None if token in self._stop else _stemmer(self._stemmer).stemWord(token) if self._stemmer else token
        self[token] = term
        return term


_FINISHED_MAX = 1 << 16
_FINISHERS: dict[tuple[str | None, str | None], _Finisher] = {}


def _finisher(stopwords: str | None, stemmer: str | None) -> _Finisher | None:
    """The shared token -> term cache of a stop list and stemmer (``None`` when there are neither)."""
    if stopwords is None and stemmer is None:
        return None
    finish = _FINISHERS.get((stopwords, stemmer))
    if finish is None:
        finish = _FINISHERS.setdefault((stopwords, stemmer), _Finisher(stopwords, stemmer))
    return finish


@lru_cache(maxsize=32)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_stem_local = threading.local()


def _stemmer(algorithm: str) -> Any:
    """PyStemmer's stemmer for ``algorithm`` (one object per thread: they are not thread-safe)."""
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
    return stemmer
