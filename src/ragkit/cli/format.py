"""How the command line writes a hit: one line, with its heading path and its rank in each leg."""

from __future__ import annotations

from typing import Any

__all__ = ["heading_path", "hit_line", "legs_text"]


def heading_path(hit: Any) -> str:
    """The Markdown headings above a hit, ``"Persistence > Opening"`` (empty without headings)."""
    return " > ".join((getattr(hit, "metadata", None) or {}).get("headings") or [])


def legs_text(hit: Any) -> str:
    """The rank and score of a hit in each leg: ``"bm25 #1 12.3, dense #4 0.61"``."""
    return ", ".join(f"{name} #{leg.rank} {leg.score:.3g}" for name, leg in sorted(hit.legs.items()))


def hit_line(rank: int, hit: Any, width: int = 100) -> str:
    """One line: rank, score, ``doc_id [start:end]``, heading path, legs, and the start of the text."""
    heading = heading_path(hit)
    legs = legs_text(hit)
    snippet = " ".join(hit.text.split())
    snippet = snippet if len(snippet) <= width else snippet[: width - 3].rstrip() + "..."
    where = f"{hit.doc_id} [{hit.start}:{hit.end}]" + (f" {heading}" if heading else "")
    return f"{rank:>3}. {hit.score:.4f}  {where}  [{legs}]  {snippet}" if legs else f"{rank:>3}. {hit.score:.4f}  {where}  {snippet}"
