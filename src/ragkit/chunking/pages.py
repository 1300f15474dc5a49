"""Page spans of chunks: documents that came from paged files carry a page map, chunks get their pages.

A paged document (a PDF, a slide deck) has the metadata field ``page_offsets``: the
character offsets in its text where each page starts, space-separated (``"0 1532 3021"``:
page 1 starts at 0, page 2 at 1532...). Every chunk of it then gets ``page_start`` and
``page_end`` (1-based, inclusive) instead of the map.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping
from typing import Any

from ragkit.core.errors import InputError

__all__ = ["PAGE_OFFSETS", "encode_page_offsets", "decode_page_offsets", "page_span", "with_pages"]

#: Document metadata field holding the page map.
PAGE_OFFSETS = "page_offsets"


def encode_page_offsets(offsets: list[int]) -> str:
    """The metadata value of a page map (the offset where each page starts, ascending)."""
    return " ".join(str(int(o)) for o in offsets)


def decode_page_offsets(value: Any, where: str = "page_offsets") -> list[int]:
    """The page map in a metadata value.

    Raises:
        InputError: the value is not a space-separated list of ascending non-negative ints.
    """
    try:
        offsets = [int(v) for v in str(value).split()]
    except ValueError:
        raise InputError(f"{where} must be space-separated character offsets (e.g. '0 1532'). Got {value!r}.") from None
    if not offsets or offsets[0] < 0 or any(b < a for a, b in itertools.pairwise(offsets)):
        raise InputError(f"{where} must be ascending non-negative character offsets. Got {value!r}.")
    return offsets


def page_span(offsets: list[int], start: int, end: int) -> tuple[int, int]:
    """1-based first and last page of the text span ``[start, end)``."""
    first = bisect.bisect_right(offsets, start)
    last = bisect.bisect_right(offsets, max(start, end - 1))
    return max(1, first), max(1, last)


def with_pages(metadata: dict[str, Any], document: Mapping[str, Any], start: int, end: int,
               cache: dict[str, list[int]]) -> dict[str, Any]:
    """A chunk's metadata with ``page_start``/``page_end`` in place of the document's page map."""
    value = document.get(PAGE_OFFSETS)
    if value is None:
        return metadata
    offsets = cache.get(value) if isinstance(value, str) else None
    if offsets is None:
        offsets = decode_page_offsets(value)
        if isinstance(value, str):
            cache[value] = offsets
    metadata.pop(PAGE_OFFSETS, None)
    metadata["page_start"], metadata["page_end"] = page_span(offsets, start, end)
    return metadata
