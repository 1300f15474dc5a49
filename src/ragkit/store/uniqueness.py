"""Document ids are unique within a collection, single or sharded: one check for every build mode."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.errors import InputError

__all__ = ["check_unique_documents", "DocumentIds"]


def _live_documents(chunks: pa.Table, alive: np.ndarray | None) -> pa.Array:
    ids = chunks.column("doc_id")
    if alive is not None:
        ids = pc.filter(ids, pa.array(alive))
    return pc.unique(ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids)


def check_unique_documents(tables: Sequence[pa.Table], alive: Sequence[np.ndarray | None] | None = None) -> None:
    """Raise if a document id has live chunks in more than one of ``tables`` (shards).

    Raises:
        InputError: naming a duplicated id.
    """
    masks = list(alive) if alive is not None else [None] * len(tables)
    ids = DocumentIds()
    for table, mask in zip(tables, masks, strict=True):
        ids.add(_live_documents(table, mask))


class DocumentIds:
    """Document ids seen so far across shards written one at a time (a build that streams shards)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def add(self, doc_ids: pa.Array | Sequence[str]) -> None:
        """Record one shard's (distinct) document ids.

        Raises:
            InputError: an id already recorded for an earlier shard.
        """
        values = doc_ids.to_pylist() if isinstance(doc_ids, (pa.Array, pa.ChunkedArray)) else list(doc_ids)
        clash = self._seen.intersection(values)
        distinct = set(values)
        if not clash and len(distinct) != len(values):
            clash = {v for v, n in Counter(values).items() if n > 1}
        if clash:
            raise InputError(f"Duplicate document id {min(clash)!r} in the source: ids must be unique within a "
                             "collection (across every shard).")
        self._seen |= distinct
