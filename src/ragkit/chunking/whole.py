"""WholeDocumentChunker: one chunk per document, for corpora whose documents are already passages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ragkit.chunking._base import ChunkerBase, ChunkSpan

__all__ = ["WholeDocumentChunker"]

_NO_TOKENS = np.empty(0, dtype=np.int64)


@dataclass(frozen=True, kw_only=True)
class WholeDocumentChunker(ChunkerBase):
    """Each document becomes one chunk: its text without leading and trailing whitespace.

    For corpora already cut into passages (FAQ entries, product records, BEIR-style
    corpora, vectors computed per document elsewhere). Nothing is tokenised, so chunking
    costs next to nothing; the embedding model still reads at most its own sequence length
    (256 tokens for all-MiniLM-L6-v2) of each document, while BM25 indexes all of it.
    Offsets are exact: ``document.text[c.start:c.end] == c.text``.

    Example:
        >>> from ragkit.core.documents import Document
        >>> [c.text for c in WholeDocumentChunker().chunk(Document(id="d", text="  One.\\n\\nTwo. "))]
        ['One.\\n\\nTwo.']
    """

    def _token_starts(self, texts: list[str]) -> list[np.ndarray]:
        return [_NO_TOKENS] * len(texts)

    def _chunk_spans(self, text: str, starts: np.ndarray) -> list[ChunkSpan]:
        start = len(text) - len(text.lstrip())
        return [(start, len(text.rstrip()), {})]
