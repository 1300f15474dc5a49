"""Paged text to one document: repeated headers and footers dropped, hyphenation undone, headings marked.

Input: the lines of each page, each with its font size (``0.0`` when unknown) and an
optional heading level. Output: the document text, Markdown headings on lines of their
own, pages separated by a blank line, and the offset where each page starts in it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

__all__ = ["Line", "join_pages", "drop_running_lines", "heading_levels"]

_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_HYPHENATED = re.compile(r"[^\W\d_]-$")  # a letter then a hyphen at the end of a line
#: How many lines at the top and at the bottom of a page can be running headers/footers.
EDGE_LINES = 2


@dataclass
class Line:
    """One line of a page: its text, font size (points, 0.0 unknown) and heading level (0: body)."""

    text: str
    size: float = 0.0
    level: int = 0


def _key(line: Line, body: float = 0.0) -> str:
    """What a line must share with others to be running: its text, numbers blanked unless set large.

    "Page 3 of 9" and "Page 4 of 9" share a key; "Chapter 3" in a heading size keeps its number.
    """
    text = _SPACE.sub(" ", line.text.strip().lower())
    return text if body and line.size > body else _DIGITS.sub("#", text)


def drop_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """Pages without their running headers and footers.

    A line among the first or last :data:`EDGE_LINES` of a page is running when the same
    line sits at an edge of at least half the pages (and of two pages at least). Lines that
    differ only in their numbers ("Page 3 of 9", "Page 4 of 9") count as the same when they
    are not set larger than the body text, so numbered headings ("Chapter 3") stay; lines
    the outline marks as headings always stay.
    """
    if len(pages) < 2:
        return pages
    body = _body_size(pages)
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_key(line, body) for line in _edges(lines) if not line.level})
    need = max(2, (len(pages) + 1) // 2)
    running = {key for key, n in counts.items() if n >= need and key}
    if not running:
        return pages
    out = []
    for lines in pages:
        edges = {id(line) for line in _edges(lines)}
        out.append([line for line in lines if id(line) not in edges or line.level or _key(line, body) not in running])
    return out


def _body_size(pages: list[list[Line]]) -> float:
    """The font size most characters have (0.0 when sizes are unknown)."""
    weight: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            if line.size > 0:
                weight[round(line.size, 1)] += len(line.text)
    return weight.most_common(1)[0][0] if weight else 0.0


def _edges(lines: list[Line]) -> list[Line]:
    body = [line for line in lines if line.text.strip()]
    return body[:EDGE_LINES] + body[EDGE_LINES:][-EDGE_LINES:]


def heading_levels(pages: list[list[Line]], *, max_levels: int = 3, ratio: float = 1.15, max_chars: int = 120) -> None:
    """Mark as headings (in place) the short lines set larger than the body text.

    The body size is the size most characters have; each larger size of a short line
    becomes a heading level, the largest ``#``, the next ``##``... (at most ``max_levels``).
    Lines that already have a level (from the PDF outline) keep it.
    """
    body = _body_size(pages)
    if not body:
        return
    sizes = sorted({round(line.size, 1) for lines in pages for line in lines
                    if _heading_like(line, body * ratio, max_chars)}, reverse=True)
    level_of = {size: min(i + 1, max_levels) for i, size in enumerate(sizes)}
    for lines in pages:
        for line in lines:
            if not line.level and _heading_like(line, body * ratio, max_chars):
                line.level = level_of[round(line.size, 1)]


def _heading_like(line: Line, min_size: float, max_chars: int) -> bool:
    text = line.text.strip()
    return line.size >= min_size and 0 < len(text) <= max_chars and any(c.isalpha() for c in text)


def join_pages(pages: list[list[Line]]) -> tuple[str, list[int]]:
    """``(text, page_offsets)``: every page's lines, hyphenation undone, headings as Markdown lines."""
    parts: list[str] = []
    offsets: list[int] = []
    size = 0
    for lines in pages:
        page = _page_text(lines)
        if parts:
            parts.append("\n\n")
            size += 2
        offsets.append(size)
        parts.append(page)
        size += len(page)
    return "".join(parts), offsets


def _page_text(lines: list[Line]) -> str:
    blocks: list[str] = []  # paragraphs and headings, each a string
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append("\n".join(current))
            current.clear()

    for line in lines:
        text = " ".join(line.text.split())
        if not text:
            flush()
            continue
        if line.level:
            flush()
            blocks.append("#" * line.level + " " + text)
            continue
        if current and _HYPHENATED.search(current[-1]) and text[0].islower():
            current[-1] = current[-1][:-1] + text  # "configu-" + "ration" -> "configuration"
        else:
            current.append(text)
    flush()
    return "\n\n".join(blocks)
