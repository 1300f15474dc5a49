"""Stop-word lists for the BM25 tokenizer."""

from __future__ import annotations

__all__ = ["STOPWORDS"]

#: Lucene's English stop set (``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET``), as used by
#: Pyserini and bm25s, so ragkit's BM25 figures are comparable with theirs.
_LUCENE_EN = frozenset(
    [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
        "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
        "these", "they", "this", "to", "was", "will", "with",
    ]
)

STOPWORDS: dict[str, frozenset[str]] = {"en": _LUCENE_EN}
