"""SentenceChunker: whole sentences packed into chunks, overlap counted in sentences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ragkit.chunking._base import ChunkerBase, ChunkSpan
from ragkit.chunking.spans import merge_pieces, split_sentences
from ragkit.chunking.tokens import DEFAULT_TOKENIZER
from ragkit.core.validation import check_int, check_str

__all__ = ["SentenceChunker"]


@dataclass(frozen=True, kw_only=True)
class SentenceChunker(ChunkerBase):
    """Chunks made of whole sentences, at most ``max_tokens`` tokens each.

    Sentences end at ``.``, ``!``, ``?`` (or ``…``, optionally followed by closing quotes or
    brackets) before whitespace and a character that is not a lowercase ASCII letter, at
    CJK full stops, and at paragraph breaks. Consecutive sentences are packed greedily; a
    sentence longer than ``max_tokens`` is split at line breaks, then words, then token
    boundaries, and its parts are packed like sentences. Each chunk after the first repeats
    the last ``overlap_sentences`` sentences of the previous chunk (fewer if they would
    leave no room for the next sentence).

    Args:
        max_tokens: most tokens in a chunk (>= 1).
        overlap_sentences: sentences a chunk repeats from the previous one (>= 0).
        tokenizer: ``"regex"``, ``"all-MiniLM-L6-v2"``, a folder holding ``tokenizer.json``,
            or a Hugging Face hub id (see :func:`~ragkit.chunking.get_token_counter`).

    Raises:
        ConfigError: if a parameter is out of range or of the wrong type.

    Example:
        >>> from ragkit.core.documents import Document
        >>> chunker = SentenceChunker(max_tokens=6, overlap_sentences=1, tokenizer="regex")
        >>> [c.text for c in chunker.chunk(Document(id="d", text="A b. C d. E f."))]
        ['A b. C d.', 'C d. E f.']
    """

    max_tokens: int = 254
    overlap_sentences: int = 0
    tokenizer: str = DEFAULT_TOKENIZER

    def __post_init__(self) -> None:
        owner = type(self).__name__
        # ints are stored as int: a numpy integer would not survive the manifest's JSON
        object.__setattr__(self, "max_tokens", check_int(owner, "max_tokens", self.max_tokens, low=1))
        object.__setattr__(self, "overlap_sentences", check_int(owner, "overlap_sentences", self.overlap_sentences, low=0))
        check_str(owner, "tokenizer", self.tokenizer)

    def _chunk_spans(self, text: str, starts: np.ndarray) -> list[ChunkSpan]:
        sentences = split_sentences(text, 0, len(text), starts, self.max_tokens)
        merged = merge_pieces(sentences, starts, self.max_tokens, overlap_pieces=self.overlap_sentences)
        return [(start, end, {}) for start, end in merged]
