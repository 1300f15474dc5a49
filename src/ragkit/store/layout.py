"""The on-disk layout of a sharded collection: ``shards.json`` and the corpus-wide BM25 statistics.

``<root>/shards.json`` lists the shard folders (each a saved collection) with the rows
each held when the layout was written (and, since 0.2, its version); ``bm25_stats.arrow``
holds every term's document frequency over all shards, the live row count and total
length are in ``shards.json``. The statistics file is written first, then ``shards.json``
atomically: the layout names a complete set or nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.core.arrow_io import read_table
from ragkit.core.atomic import write_bytes_atomic, write_table_atomic
from ragkit.core.errors import CorruptIndexError, IndexFormatError
from ragkit.index.bm25 import CorpusStats

__all__ = ["LAYOUT", "STATS_FILE", "Layout", "combine_stats", "read_layout", "write_layout"]

LAYOUT = "shards.json"
_FORMAT = "ragkit-sharded-collection"
STATS_FILE = "bm25_stats.arrow"


@dataclass(frozen=True)
class Layout:
    """What ``shards.json`` says: the shard entries, the BM25 index name and the statistics saved with them."""

    shards: list[dict[str, Any]]
    bm25_index: str | None
    stats: CorpusStats | None


def write_layout(root: Path, shards: list[dict[str, Any]], bm25_index: str | None,
                 stats: CorpusStats | None) -> dict[str, Any]:
    """Write the statistics file, then ``shards.json`` atomically; returns the layout written.

    ``shards``: one ``{"name", "chunks" (rows), "offset", "version"}`` entry per shard folder, in row order.
    """
    layout: dict[str, Any] = {"format": _FORMAT, "format_version": 1, "shards": shards, "bm25": None}
    if bm25_index is not None and stats is not None:
        write_table_atomic(root / STATS_FILE, stats.to_table())
        layout["bm25"] = {"index": bm25_index, "n_docs": stats.n_docs, "total_len": stats.total_len, "stats": STATS_FILE}
    write_bytes_atomic(root / LAYOUT, json.dumps(layout, indent=2, sort_keys=True).encode("utf-8"))
    return layout


def read_layout(root: Path) -> Layout:
    """Read and check ``root/shards.json`` and the statistics it names.

    Raises:
        IndexFormatError: no layout, or not a ragkit sharded-collection layout.
        CorruptIndexError: a malformed entry or statistics file.
    """
    try:
        raw = json.loads((root / LAYOUT).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"{root}: no readable {LAYOUT}; is this a sharded collection? ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT or not raw.get("shards"):
        raise IndexFormatError(f"{root / LAYOUT} is not a ragkit sharded-collection layout.")
    shards = raw["shards"]
    for entry in shards:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            raise CorruptIndexError(f"{root / LAYOUT}: a shard entry has no valid folder name ({entry!r}).")
        if not isinstance(entry.get("chunks"), int) or entry["chunks"] < 0:
            raise CorruptIndexError(f"{root / LAYOUT}: shard {name!r} has no valid row count.")
    info = raw.get("bm25")
    stats = None
    if info:
        if not isinstance(info, dict) or info.get("stats") != STATS_FILE:
            raise CorruptIndexError(f"{root / LAYOUT}: the BM25 statistics entry must name {STATS_FILE!r}.")
        try:
            table = read_table(root / STATS_FILE)
            stats = CorpusStats.from_table(table, int(info["n_docs"]), int(info["total_len"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptIndexError(f"{root / LAYOUT}: malformed BM25 statistics entry ({exc}).") from exc
    return Layout(list(shards), info["index"] if info else None, stats)



def combine_stats(parts: list[CorpusStats]) -> CorpusStats:
    """The statistics of the union of disjoint row sets (terms in first-appearance order, as one index has them)."""
    return CorpusStats.combine(parts)
