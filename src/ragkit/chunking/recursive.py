"""RecursiveChunker: split coarse-to-fine until pieces fit, then merge pieces greedily with overlap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ragkit.chunking._base import ChunkerBase, ChunkSpan
from ragkit.chunking.spans import merge_pieces, split_recursive
from ragkit.chunking.tokens import DEFAULT_TOKENIZER
from ragkit.core.errors import ConfigError
from ragkit.core.validation import check_int, check_str

__all__ = ["RecursiveChunker"]


def check_overlap(owner: str, overlap: int, max_tokens: int) -> int:
    """Validate a token overlap, which must stay below ``max_tokens``; returns it as an ``int``."""
    value = check_int(owner, "overlap", overlap, low=0)
    if value >= max_tokens:
        raise ConfigError(
            f"The 'overlap' parameter of {owner} must be an int < max_tokens ({max_tokens}). Got {overlap!r} instead."
        )
    return value


@dataclass(frozen=True, kw_only=True)
class RecursiveChunker(ChunkerBase):
    """Chunks of at most ``max_tokens`` tokens that break at the coarsest boundary possible.

    The text is split into paragraphs (blank lines); a paragraph over ``max_tokens`` into
    sentences, a sentence over it into lines, then words, then token boundaries. Adjacent
    pieces are then merged greedily into chunks of at most ``max_tokens`` tokens; each chunk
    after the first starts with the trailing pieces of the previous one that total at most
    ``overlap`` tokens (fewer if needed to make room for new text).

    Tokens are counted with ``tokenizer`` on one tokenisation of the whole document, and
    ``document.text[c.start:c.end] == c.text`` holds for every chunk.

    Args:
        max_tokens: most tokens in a chunk (>= 1).
        overlap: most tokens a chunk repeats from the previous one (0 <= overlap < max_tokens).
        tokenizer: ``"regex"``, ``"all-MiniLM-L6-v2"``, a folder holding ``tokenizer.json``,
            or a Hugging Face hub id (see :func:`~ragkit.chunking.get_token_counter`).

    Raises:
        ConfigError: if a parameter is out of range or of the wrong type.

    Example:
        >>> from ragkit.core.documents import Document
        >>> chunker = RecursiveChunker(max_tokens=4, overlap=0, tokenizer="regex")
        >>> [c.text for c in chunker.chunk(Document(id="d", text="One two.\\n\\nThree four five."))]
        ['One two.', 'Three four five.']
    """

    max_tokens: int = 254
    overlap: int = 32
    tokenizer: str = DEFAULT_TOKENIZER

    def __post_init__(self) -> None:
        owner = type(self).__name__
        # ints are stored as int: a numpy integer would not survive the manifest's JSON
        object.__setattr__(self, "max_tokens", check_int(owner, "max_tokens", self.max_tokens, low=1))
        object.__setattr__(self, "overlap", check_overlap(owner, self.overlap, self.max_tokens))
        check_str(owner, "tokenizer", self.tokenizer)

    def _chunk_spans(self, text: str, starts: np.ndarray) -> list[ChunkSpan]:
        pieces = split_recursive(text, 0, len(text), starts, self.max_tokens)
        merged = merge_pieces(pieces, starts, self.max_tokens, overlap_tokens=self.overlap)
        return [(start, end, {}) for start, end in merged]
