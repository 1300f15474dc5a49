"""MarkdownChunker: chunk each heading section on its own and record its heading path."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ragkit.chunking._base import ChunkerBase, ChunkSpan
from ragkit.chunking.recursive import check_overlap
from ragkit.chunking.spans import merge_pieces, split_recursive
from ragkit.chunking.tokens import DEFAULT_TOKENIZER
from ragkit.core.validation import check_int, check_str

__all__ = ["MarkdownChunker", "markdown_sections"]

# An ATX heading ("# Title", up to three spaces of indent) or a code fence line (``` or ~~~).
_BLOCK_LINE = re.compile(
    r"^ {0,3}(?:(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)|(?P<hashes>#{1,6})(?=[ \t\r]|$)(?P<title>[^\n]*))$",
    re.MULTILINE,
)
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")


def markdown_sections(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """Split markdown into ``(start, end, heading_path)`` sections, in order.

    Each ATX heading starts a section that runs to the next heading; lines inside fenced
    code blocks are never headings. Text before the first heading forms a section with an
    empty path. The sections tile ``[0, len(text))``.

    Example:
        >>> markdown_sections("# A\\nx\\n## B\\ny")
        [(0, 6, ('A',)), (6, 12, ('A', 'B'))]
    """
    heads: list[tuple[int, tuple[str, ...]]] = []
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    for m in _BLOCK_LINE.finditer(text):
        marker = m["fence"]
        if fence is not None:  # inside a code block: only a matching bare fence closes it
            if marker and marker[0] == fence[0] and len(marker) >= len(fence) and not m["info"].strip():
                fence = None
            continue
        if marker:
            if not (marker[0] == "`" and "`" in m["info"]):  # backtick info strings hold no backticks
                fence = marker
            continue
        level = len(m["hashes"])
        title = _CLOSING_HASHES.sub("", m["title"].strip()).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        heads.append((m.start(), tuple(t for _, t in stack)))
    sections: list[tuple[int, int, tuple[str, ...]]] = []
    first = heads[0][0] if heads else len(text)
    if first > 0:
        sections.append((0, first, ()))
    ends = [start for start, _ in heads[1:]] + [len(text)] if heads else []
    sections.extend((start, end, path) for (start, path), end in zip(heads, ends, strict=True))
    return sections


@dataclass(frozen=True, kw_only=True)
class MarkdownChunker(ChunkerBase):
    """Markdown-aware chunks that never cross a heading and know their heading path.

    ATX headings (``#`` to ``######``; lines in ````` or ``~~~`` fenced code blocks do not
    count) split the document into sections. Each section, its heading line included so the
    heading stays with its body, is chunked like :class:`RecursiveChunker` does a whole
    document. Chunk metadata gets ``"headings"``: the path of headings above the section,
    e.g. ``["Guide", "Install"]`` (an empty list before the first heading).

    Args:
        max_tokens: most tokens in a chunk (>= 1).
        overlap: most tokens a chunk repeats from the previous one of its section
            (0 <= overlap < max_tokens).
        tokenizer: ``"regex"``, ``"all-MiniLM-L6-v2"``, a folder holding ``tokenizer.json``,
            or a Hugging Face hub id (see :func:`~ragkit.chunking.get_token_counter`).

    Raises:
        ConfigError: if a parameter is out of range or of the wrong type.

    Example:
        >>> from ragkit.core.documents import Document
        >>> chunker = MarkdownChunker(max_tokens=50, overlap=0, tokenizer="regex")
        >>> doc = Document(id="d", text="# Guide\\nIntro.\\n## Install\\nRun pip.")
        >>> [(c.text, c.metadata["headings"]) for c in chunker.chunk(doc)]
        [('# Guide\\nIntro.', ['Guide']), ('## Install\\nRun pip.', ['Guide', 'Install'])]
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
        spans: list[ChunkSpan] = []
        for lo, hi, path in markdown_sections(text):
            pieces = split_recursive(text, lo, hi, starts, self.max_tokens)
            for start, end in merge_pieces(pieces, starts, self.max_tokens, overlap_tokens=self.overlap):
                spans.append((start, end, {"headings": list(path)}))
        return spans
