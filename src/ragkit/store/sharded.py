"""A collection made of shards that searches as one: a second storage behind the one search planner.

Global row ``offsets[s] + r`` is row ``r`` of shard ``s`` (offsets count rows, dead ones
included). Every index is a :class:`ShardedIndex`: each query runs against every shard's
index and the per-shard top-k lists are merged by one kernel
(:func:`ragkit.core.topk.merge_top_k`). BM25 runs as :class:`~ragkit.index.BM25Index`
with the corpus-wide statistics (``stats=``), so its scores equal those of one index
built over the whole corpus. Filters, access control, read snapshots, traces and
every retriever work as on a :class:`~ragkit.Collection`.

A shard may be changed on its own (``Collection.open(shard)``, ``add``/``delete``/
``upsert``, ``save``): opening the sharded collection then notices the shard's new
version, recomputes the corpus-wide statistics from the shards and checks that
document ids are still unique across shards. The sharded collection itself is
read-only (its ``add``/``delete``/``upsert``/``save`` raise :class:`ReadOnlyError`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.errors import CorruptIndexError, IndexFormatError, InputError, ReadOnlyError
from ragkit.core.protocols import Embedder, IndexKind
from ragkit.core.results import Candidates, Hit
from ragkit.core.validation import as_path
from ragkit.index.bm25 import CorpusStats
from ragkit.store.access import Principal
from ragkit.store.collection import Collection
from ragkit.store.filters import Filter
from ragkit.store.hits import hit_records
from ragkit.store.layout import LAYOUT, combine_stats, read_layout
from ragkit.store.sharded_index import ShardedIndex
from ragkit.store.uniqueness import check_unique_documents

__all__ = ["OpenedShards", "ShardedCollection", "ShardedIndex", "open_collection"]

logger = logging.getLogger(__name__)


def open_collection(path: str | Path, **options: Any) -> Collection | ShardedCollection:
    """Open ``path`` as a :class:`ShardedCollection` when it has ``shards.json``, else as a :class:`Collection`."""
    if (as_path("open_collection", path) / LAYOUT).is_file():
        return ShardedCollection.open(path, **options)
    return Collection.open(path, **options)


class ShardedCollection:
    """Shards saved as collections, searched as one collection (see the module docs).

    Example:
        >>> with ShardedCollection.open("indexes/big") as col:                   # doctest: +SKIP
        ...     HybridRetriever(col).search("global bm25 statistics", k=5)
        >>> col.timings()                                                      # doctest: +SKIP
        {'vector': [0.0011, 0.0009], 'bm25': [0.0004, 0.0005]}

    Raises:
        IndexFormatError / CorruptIndexError: a missing or inconsistent layout or shard;
            shards that disagree on their indexes, embedder or access field.
    """

    def __init__(self, root: Path, shards: Sequence[Collection], stats: CorpusStats | None, bm25_index: str | None,
                 indexes: Mapping[str, ShardedIndex] | None = None) -> None:
        """``indexes``: the sharded indexes, when they are held elsewhere (default: built from the shards' own)."""
        if not shards:
            raise IndexFormatError(f"{root}: a sharded collection needs at least one shard.")
        self.root = Path(root)
        self.shards = list(shards)
        _check_agreement(self.root, self.shards)
        self.offsets = self.row_offsets(self.shards)
        self.stats = stats
        self.indexes: dict[str, ShardedIndex] = dict(indexes) if indexes is not None else {}
        for name, first in self.shards[0].indexes.items() if indexes is None else ():
            parts = [s.index(name) for s in self.shards]
            use_stats = stats if first.kind == "bm25" and name == bm25_index else None
            if first.kind == "bm25" and use_stats is None:
                use_stats = _corpus_stats(parts)
            self.indexes[name] = ShardedIndex(first.kind, parts, self.offsets, use_stats)
        self._chunks: pa.Table | None = None

    @staticmethod
    def row_offsets(shards: Sequence[Collection]) -> np.ndarray:
        """Global row of each shard's first row, and the total: ``offsets[s] + r`` is row ``r`` of shard ``s``."""
        return np.concatenate([[0], np.cumsum([s.num_rows for s in shards])]).astype(np.int64)

    @classmethod
    def open(cls, path: str | Path, **options: Any) -> ShardedCollection:
        """Open every shard (memory-mapped); ``options`` go to :meth:`Collection.open` (``embedder``, ``verify``)."""
        opened = cls.open_shards(path, **options)
        return cls(opened.root, opened.shards, opened.stats, opened.bm25_index)

    @staticmethod
    def open_shards(path: str | Path, **options: Any) -> OpenedShards:
        """Open every shard of the layout at ``path`` and check them against it (see :meth:`open`).

        The corpus-wide statistics come from the layout, or are ``None`` when a shard changed
        since it was written (then recomputed from the shards, whose document ids are checked
        to be unique across shards).
        """
        root = as_path("ShardedCollection.open", path)
        layout = read_layout(root)
        shards: list[Collection] = []
        changed = False
        try:
            for entry in layout.shards:
                shard = Collection.open(root / entry["name"], **options)
                shards.append(shard)
                recorded = entry.get("version")
                if recorded is not None and shard.version == recorded and shard.num_rows != entry["chunks"]:
                    raise CorruptIndexError(f"{entry['name']}: holds {shard.num_rows} rows, {LAYOUT} records "
                                            f"{entry['chunks']} for the same version.")
                changed |= shard.num_rows != entry["chunks"] if recorded is None else shard.version != recorded
            stats = layout.stats
            if stats is not None and sum(s.num_chunks for s in shards) != stats.n_docs:
                changed = True
            if changed:
                logger.info("%s: a shard changed since the layout was written; recomputing corpus statistics", root)
                check_unique_documents([s.chunks for s in shards], [s.alive for s in shards])
                stats = None  # recomputed from the shards' own statistics
            return OpenedShards(root, shards, [str(entry["name"]) for entry in layout.shards], stats, layout.bm25_index)
        except BaseException:
            for shard in shards:
                shard.close()
            raise

    # -- what the search planner uses (ragkit.store.storage.SearchStorage) ----------------------
    @property
    def chunks(self) -> pa.Table:
        """Every shard's chunk table, concatenated (memory-mapped, nothing copied)."""
        if self._chunks is None:
            self._chunks = pa.concat_tables([s.chunks for s in self.shards], promote_options="permissive")
        return self._chunks

    @property
    def num_rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def num_chunks(self) -> int:
        """Live chunks over every shard."""
        return sum(s.num_chunks for s in self.shards)

    @property
    def num_documents(self) -> int:
        return sum(s.num_documents for s in self.shards)  # document ids are unique across shards

    @property
    def alive(self) -> np.ndarray:
        return np.concatenate([s.alive for s in self.shards])

    @property
    def generation(self) -> int:
        return sum(int(s.generation) for s in self.shards)

    @property
    def version(self) -> str:
        return "+".join(s.version for s in self.shards)

    @property
    def access_field(self) -> str | None:
        return self.shards[0].access_field

    @property
    def embedder(self) -> Embedder | None:
        return self.shards[0].embedder

    @property
    def embedder_info(self) -> dict[str, Any] | None:
        return self.shards[0].embedder_info

    def __len__(self) -> int:
        return self.num_chunks

    def __repr__(self) -> str:
        return f"ShardedCollection(shards={len(self.shards)}, chunks={self.num_chunks}, indexes={sorted(self.indexes)})"

    def index(self, name: str) -> ShardedIndex:
        if name not in self.indexes:
            raise InputError(f"This sharded collection has no index {name!r}; it has: {', '.join(sorted(self.indexes))}.")
        return self.indexes[name]

    def index_of_kind(self, kind: IndexKind) -> str:
        for name, idx in self.indexes.items():
            if idx.kind == kind:
                return name
        raise InputError(f"This sharded collection has no {kind} index; it has: {', '.join(sorted(self.indexes)) or 'none'}.")

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold every shard's current version for the ``with`` body."""
        with contextlib.ExitStack() as stack:
            for shard in self.shards:
                stack.enter_context(shard.reading())
            yield

    def access_mask(self, principal: Principal) -> np.ndarray:
        return np.concatenate([s.access_mask(principal) for s in self.shards])

    def filter_mask(self, filters: Filter | None, principal: Principal | None = None) -> np.ndarray | None:
        """Rows satisfying ``filters`` and visible to ``principal``, over all shards (``None``: every row)."""
        masks = [s.filter_mask(filters, principal=principal) for s in self.shards]
        if all(m is None for m in masks):
            return None
        return np.concatenate([m if m is not None else np.ones(s.num_rows, dtype=bool) for m, s in zip(masks, self.shards, strict=True)])

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        return self.shards[0].embed_queries(queries)

    def hits(self, candidates: Candidates, legs: Mapping[str, Candidates] | None = None) -> list[Hit]:
        """:class:`Hit` records for global rows (each read from its shard, leg ranks over the whole ranking)."""
        if len(candidates) == 0:
            return []
        shard_of = np.searchsorted(self.offsets, candidates.rows, side="right") - 1
        out: list[Hit | None] = [None] * len(candidates)
        for s in np.unique(shard_of).tolist():
            sel = np.flatnonzero(shard_of == s)
            local = Candidates(candidates.rows[sel] - self.offsets[s], candidates.scores[sel])
            found = hit_records(self.shards[s].chunks, local, legs, row_ids=candidates.rows[sel], hidden=self.access_field)
            for i, hit in zip(sel.tolist(), found, strict=True):
                out[i] = hit
        return [h for h in out if h is not None]

    def timings(self) -> dict[str, list[float]]:
        """Seconds each shard took in the last search, per index."""
        return {name: list(idx.last_timings) for name, idx in self.indexes.items()}

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        """Release every shard's hold on its on-disk version."""
        for shard in self.shards:
            shard.close()

    def __enter__(self) -> ShardedCollection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_only(self, *_: Any, **__: Any) -> Any:
        raise ReadOnlyError(
            "A sharded collection is read-only. Change a shard on its own (Collection.open(<root>/<shard>), then "
            "add/delete/upsert and save); opening the sharded collection again picks the change up."
        )

    add = delete = upsert = save = set_access_field = _read_only


@dataclass(frozen=True)
class OpenedShards:
    """The shards of a sharded layout, opened and checked (:meth:`ShardedCollection.open_shards`)."""

    root: Path
    shards: list[Collection]
    names: list[str]  # each shard's folder name under root
    stats: CorpusStats | None  # the layout's corpus-wide BM25 statistics (None: recompute from the shards)
    bm25_index: str | None  # the BM25 index those statistics belong to


def _check_agreement(root: Path, shards: Sequence[Collection]) -> None:
    """Every shard must have the same indexes (names and kinds), embedder model and access field."""
    first = shards[0]
    names = {n: i.kind for n, i in first.indexes.items()}
    model = (first.embedder_info or {}).get("model_id")
    for i, shard in enumerate(shards[1:], start=1):
        if {n: x.kind for n, x in shard.indexes.items()} != names:
            raise IndexFormatError(f"{root}: shard {i} has indexes {sorted(shard.indexes)}, shard 0 has {sorted(names)}.")
        if shard.access_field != first.access_field:
            raise IndexFormatError(
                f"{root}: shards disagree on the access field (shard 0: {first.access_field!r}, shard {i}: "
                f"{shard.access_field!r}); every shard must restrict access by the same field (set_access_field)."
            )
        other = (shard.embedder_info or {}).get("model_id")
        if other != model:
            raise IndexFormatError(f"{root}: shard {i} was embedded with {other!r}, shard 0 with {model!r}.")


def _corpus_stats(parts: Sequence[Any]) -> CorpusStats:
    return combine_stats([part.statistics() for part in parts])

