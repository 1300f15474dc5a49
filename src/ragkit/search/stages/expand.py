"""Context expansion ("small to big"): each hit grows into its neighbouring chunks or its whole section.

A chunk's ``start`` / ``end`` are exact offsets into its document's text, so a hit and
its neighbours merge into one span ``[start, end)`` with ``document.text[start:end] ==
hit.text``. Chunks may overlap (the overlap is counted once). Chunkers trim whitespace
between chunks, so two chunks that do not touch leave a gap the chunk table cannot fill:
without ``source`` (the documents' texts) a span stops at such a gap; with it, any
neighbours merge and the text is cut from the source. Hits of one document whose spans
meet merge into one (the better-ranked hit stays, the other leaves the results). A
neighbour the search may not return (filter, access, deleted) is never included.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow.compute as pc

from ragkit.core.arrow_io import from_numpy, to_numpy
from ragkit.core.errors import ConfigError, InputError
from ragkit.core.results import Candidates, Hit
from ragkit.core.validation import check_int, check_str
from ragkit.store.chunks import metadata_fields

if TYPE_CHECKING:
    from ragkit.search.context import SearchContext

__all__ = ["Expand"]

Source = Mapping[str, str] | Callable[[str], str]


@dataclass
class _Doc:
    """One document's chunks that the search may return, in position order."""

    rows: np.ndarray
    positions: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    texts: list[str]
    sections: list[Any]


@dataclass
class _Span:
    doc: str
    lo: int  # first and last index into the _Doc
    hi: int
    own: int  # the hit's own chunk
    row: int
    score: float


@dataclass(frozen=True, kw_only=True)
class Expand:
    """The stage that returns each hit with its context: ``window`` neighbours each side, or its section.

    Args:
        window: neighbouring chunks on each side (an int >= 0), by position in the document
            (default 1; 0 with ``section``, which it cannot be combined with).
        section: grow to the whole section instead: the consecutive chunks with the hit's
            value of the metadata field ``section_field`` (``MarkdownChunker``'s heading path).
        section_field: the metadata field naming a chunk's section; the collection searched
            must have it.
        source: the documents' texts (a mapping or a function ``doc_id -> text``): lets spans
            cross the whitespace gaps between chunks. Without it a span stops at a gap.
        max_chars / max_tokens: budget for the total context of a query (the sum of its
            hits' spans). Hits are taken best first while their own chunks fit (the first
            always), then grown best first, one neighbour at a time, while the total fits.
        tokenizer: what ``max_tokens`` counts (see :func:`~ragkit.chunking.get_token_counter`).

    Each hit keeps its score, legs, row and position; its ``start``, ``end`` and ``text``
    become the span's. The stage's time shows in traces as ``expand`` and ``expand.hits``.

    Example:
        >>> Expand(window=1, max_chars=4000).depth(5)
        5

    Raises:
        ConfigError: a parameter out of range, or both ``window`` (>= 1) and ``section``.
        InputError: on search, a ``source`` text that does not hold the hit's chunk at its offsets,
            or (with ``section``) a collection without the metadata field ``section_field``.
    """

    window: int | None = None  # None: 1 neighbour each side, or none with section=True
    section: bool = False
    section_field: str = "headings"
    source: Source | None = field(default=None, compare=False)
    max_chars: int | None = None
    max_tokens: int | None = None
    tokenizer: str = "regex"

    name: ClassVar[str] = "expand"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.section, bool):
            raise ConfigError(f"The 'section' parameter of {owner} must be True or False. Got {self.section!r} instead.")
        default = 0 if self.section else 1
        window = default if self.window is None else check_int(owner, "window", self.window, low=0)
        if self.section and window > 0:
            raise ConfigError(f"The 'window' and 'section' parameters of {owner} are exclusive: a hit grows by 'window' "
                              f"neighbouring chunks or to its whole section, not both. Got window={self.window!r} with "
                              "section=True; leave window out (or 0) with section=True, or pass section=False.")
        object.__setattr__(self, "window", window)
        check_str(owner, "section_field", self.section_field)
        if self.source is not None and not (isinstance(self.source, Mapping) or callable(self.source)):
            raise ConfigError(f"The 'source' parameter of {owner} must be a mapping doc_id -> text, a function, or None. "
                              f"Got {type(self.source).__name__} instead.")
        for name in ("max_chars", "max_tokens"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_int(owner, name, getattr(self, name), low=1))
        check_str(owner, "tokenizer", self.tokenizer)

    def __repr__(self) -> str:
        source = None if self.source is None else f"<{type(self.source).__name__} at {id(self.source):#x}>"
        return (f"Expand(window={self.window}, section={self.section}, section_field={self.section_field!r}, "
                f"source={source}, max_chars={self.max_chars}, max_tokens={self.max_tokens}, tokenizer={self.tokenizer!r})")

    def depth(self, k: int) -> int:
        return k

    # -- rows: which hits stay (overlapping ones merge) -------------------------------------
    def apply(self, context: SearchContext, candidates: list[Candidates], k: int) -> list[Candidates]:
        if self.section:
            _check_section_field(context, self.section_field)
        rows = np.concatenate([c.rows[:k] for c in candidates]) if candidates else np.empty(0, np.int64)
        if rows.size == 0:
            return [Candidates.empty() for _ in candidates]
        docs, where = _documents(context, rows, self.section_field if self.section else None)
        measure = self._measure()
        spans: dict[tuple[int, int], tuple[int, int, str]] = {}
        out = []
        for q, found in enumerate(candidates):
            kept = self._expand_query(found, k, docs, where, measure)
            for span in kept:
                spans[(q, span.row)] = self._span_text(docs[span.doc], span)
            out.append(Candidates(np.asarray([s.row for s in kept], dtype=np.int64),
                                  np.asarray([s.score for s in kept], dtype=np.float64)))
        context.stage_data[self.name] = spans
        return out

    def _measure(self) -> Callable[[str], int] | None:
        if self.max_tokens is not None:
            from ragkit.chunking.tokens import get_token_counter

            counter = get_token_counter(self.tokenizer)
            return lambda text: int(counter.token_starts(text).shape[0])
        if self.max_chars is not None:
            return len
        return None

    def _expand_query(self, found: Candidates, k: int, docs: dict[str, _Doc], where: dict[int, tuple[str, int]],
                      measure: Callable[[str], int] | None) -> list[_Span]:
        budget = self.max_tokens if self.max_tokens is not None else self.max_chars
        spans: list[_Span] = []
        used = 0
        for row, score in zip(found.rows[:k].tolist(), found.scores[:k].tolist(), strict=True):
            doc, i = where[row]
            cost = 0 if measure is None else measure(docs[doc].texts[i])
            if spans and budget is not None and used + cost > budget:
                continue
            spans.append(_Span(doc, i, i, i, row, score))
            used += cost
        for span in spans:  # best first: grow one neighbour at a time, alternating sides
            d, grow, side = docs[span.doc], [True, True], 0  # side 0: right, 1: left
            while any(grow):
                if not grow[side]:
                    side = 1 - side
                lo, hi = (span.lo, span.hi + 1) if side == 0 else (span.lo - 1, span.hi)
                ok = self._joins(d, span.hi, hi) if side == 0 else self._joins(d, lo, span.lo)
                if ok and not self.section:
                    reach = self.window or 0  # an int after __post_init__
                    ok = hi - span.own <= reach and span.own - lo <= reach
                if ok and measure is not None and budget is not None:
                    extra = measure(self._span_text(d, span, lo, hi)[2]) - measure(self._span_text(d, span)[2])
                    ok = used + extra <= budget
                    used += extra if ok else 0
                if ok:
                    span.lo, span.hi = lo, hi
                else:
                    grow[side] = False
                side = 1 - side
        return _merged(spans, docs, self.source is not None)

    def _joins(self, d: _Doc, a: int, b: int) -> bool:
        """Whether chunk ``b`` may follow chunk ``a`` in one span (both indexes into ``d``)."""
        if a < 0 or b >= len(d.texts) or d.positions[b] - d.positions[a] != 1:
            return False
        if self.section and d.sections[b] != d.sections[a]:
            return False
        return self.source is not None or int(d.starts[b]) <= int(d.ends[a])

    def _span_text(self, d: _Doc, span: _Span, lo: int | None = None, hi: int | None = None) -> tuple[int, int, str]:
        """``(start, end, text)`` of chunks ``lo..hi`` of ``d`` (default: the span's)."""
        lo = span.lo if lo is None else lo
        hi = span.hi if hi is None else hi
        start, end = int(d.starts[lo:hi + 1].min()), int(d.ends[lo:hi + 1].max())
        if self.source is None:
            return start, end, _stitch(d, lo, hi)
        try:
            text = self.source[span.doc] if isinstance(self.source, Mapping) else self.source(span.doc)
        except KeyError as exc:
            raise InputError(f"Expand: the source has no text for document {span.doc!r}.") from exc
        own = span.own
        if not isinstance(text, str) or text[int(d.starts[own]):int(d.ends[own])] != d.texts[own]:
            raise InputError(f"Expand: the source text of document {span.doc!r} does not hold its chunk "
                             f"{span.doc}#{int(d.positions[own])} at [{int(d.starts[own])}:{int(d.ends[own])}]; "
                             "give the texts the collection was built from.")
        return start, end, text[start:end]

    # -- hits: the spans' text ---------------------------------------------------------------
    def finish(self, context: SearchContext, hits: list[list[Hit]]) -> list[list[Hit]]:
        spans: dict[tuple[int, int], tuple[int, int, str]] = context.stage_data.get(self.name, {})
        out = []
        for q, per_query in enumerate(hits):
            grown = []
            for h in per_query:
                span = spans.get((q, h.chunk_row))
                grown.append(h if span is None else Hit(score=h.score, doc_id=h.doc_id, chunk_row=h.chunk_row, text=span[2],
                                                        start=span[0], end=span[1], position=h.position,
                                                        metadata=h.metadata, legs=h.legs))
            out.append(grown)
        return out


def _stitch(d: _Doc, lo: int, hi: int) -> str:
    """The text of chunks ``lo..hi`` (each touching or overlapping the one before), overlaps counted once."""
    parts = [d.texts[lo]]
    end = int(d.ends[lo])
    for i in range(lo + 1, hi + 1):
        if int(d.ends[i]) > end:
            parts.append(d.texts[i][end - int(d.starts[i]):])
            end = int(d.ends[i])
    return "".join(parts)


def _merged(spans: list[_Span], docs: dict[str, _Doc], bridge: bool) -> list[_Span]:
    """Spans of one document that meet become one, at the better-ranked one's place (``spans`` are best first)."""
    kept: list[_Span] = []
    for span in spans:
        kept.append(span)
        merging = True
        while merging:
            merging = False
            for i, j in itertools.combinations(range(len(kept)), 2):
                x, y = kept[i], kept[j]
                if x.doc == y.doc and _meet(docs[x.doc], x, y, bridge):
                    x.lo, x.hi = min(x.lo, y.lo), max(x.hi, y.hi)
                    del kept[j]
                    merging = True
                    break
    return kept


def _meet(d: _Doc, x: _Span, y: _Span, bridge: bool) -> bool:
    """Whether two spans of one document overlap or adjoin (across a gap only with the source text).

    Chunks are in position order, their starts and ends ascending, so the spans' texts overlap or touch exactly
    when the later span's first chunk starts by the end of the earlier one's last: with a large chunk overlap,
    chunks positions apart share text (and the chunks between them then touch, so the merged span is whole)."""
    a, b = (x, y) if x.lo <= y.lo else (y, x)
    if b.lo <= a.hi or int(d.starts[b.lo]) <= int(d.ends[a.hi]):
        return True
    return bridge and b.lo == a.hi + 1 and d.positions[b.lo] - d.positions[a.hi] == 1


def _documents(context: SearchContext, rows: np.ndarray, section_field: str | None) -> tuple[dict[str, _Doc], dict[int, tuple[str, int]]]:
    """The chunks the search may return of every document in ``rows``, and where each of ``rows`` is among them."""
    storage = context.storage
    chunks = storage.chunks
    own = chunks.select(["doc_id"]).take(from_numpy(np.asarray(rows, dtype=np.int64))).column("doc_id")
    members = np.flatnonzero(to_numpy(pc.is_in(chunks.column("doc_id"), value_set=pc.unique(own))))
    allowed = np.ones(members.size, dtype=bool)
    alive = getattr(storage, "alive", None)
    if alive is not None:
        allowed &= np.asarray(alive)[members]
    if context.mask is not None:
        allowed &= context.mask[members]
    members = members[allowed]
    columns = ["doc_id", "position", "start", "end", "text"] + (["metadata"] if section_field is not None else [])
    table = chunks.select(columns).take(from_numpy(np.asarray(members, dtype=np.int64)))
    doc_ids = np.asarray(table.column("doc_id").to_pylist(), dtype=object)
    positions = to_numpy(table.column("position")).astype(np.int64)
    order = np.lexsort((positions, doc_ids.astype(str)))
    starts, ends = to_numpy(table.column("start")), to_numpy(table.column("end"))
    texts = table.column("text").to_pylist()
    metas = table.column("metadata").to_pylist() if section_field is not None else None
    docs: dict[str, _Doc] = {}
    where: dict[int, tuple[str, int]] = {}
    bounds = np.flatnonzero(np.r_[True, doc_ids[order][1:] != doc_ids[order][:-1], True])
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        sel = order[a:b]
        name = str(doc_ids[sel[0]])
        sections = [_section_key((metas[i] or {}).get(section_field)) for i in sel.tolist()] if metas is not None and \
            section_field is not None else [None] * sel.size
        docs[name] = _Doc(members[sel], positions[sel], starts[sel], ends[sel], [texts[i] for i in sel.tolist()], sections)
        for j, row in enumerate(members[sel].tolist()):
            where[row] = (name, j)
    return docs, where


def _check_section_field(context: SearchContext, section_field: str) -> None:
    """Refuse a ``section_field`` that the searched collection's chunks have no metadata field of."""
    fields = metadata_fields(context.storage.chunks.schema)
    if section_field not in fields:
        known = ", ".join(repr(f) for f in sorted(fields)) or "none"
        raise InputError(f"The 'section_field' parameter of Expand must name a metadata field of the collection searched "
                         f"(its fields: {known}). Got {section_field!r} instead. Sections need a field such as "
                         "MarkdownChunker's 'headings'.")


def _section_key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
