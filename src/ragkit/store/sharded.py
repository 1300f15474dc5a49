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
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.errors import CorruptIndexError, IndexFormatError, InputError, ReadOnlyError, ShardUnavailableError
from ragkit.core.protocols import Embedder, IndexKind, SearchIndex
from ragkit.core.results import Candidates, Hit
from ragkit.core.topk import merge_top_k
from ragkit.index.bm25 import CorpusStats
from ragkit.store.access import Principal
from ragkit.store.collection import Collection
from ragkit.store.filters import Filter
from ragkit.store.hits import hit_records
from ragkit.store.layout import LAYOUT, combine_stats, read_layout
from ragkit.store.uniqueness import check_unique_documents

__all__ = ["OpenedShards", "ShardedCollection", "ShardedIndex", "open_collection"]

logger = logging.getLogger(__name__)


def open_collection(path: str | Path, **options: Any) -> Collection | ShardedCollection:
    """Open ``path`` as a :class:`ShardedCollection` when it has ``shards.json``, else as a :class:`Collection`."""
    if (Path(path) / LAYOUT).is_file():
        return ShardedCollection.open(path, **options)
    return Collection.open(path, **options)


class ShardedIndex:
    """One index of a sharded collection: the shards' indexes of that name, searched as one.

    Parts held in this process are searched one after the other (each already uses the
    cores through FAISS and numpy). Parts marked ``remote = True`` (held by other processes,
    such as :class:`ragkit.serve.ray_shards.RemoteIndex`) are searched concurrently, one
    thread waiting on each. A part that fails raises :class:`ShardUnavailableError`; the
    search then raises one error naming every failed shard, or, with ``partial=True``,
    merges the shards that answered and records the failures (``last_failures``, and a
    ``shards`` note on the trace): results are never silently missing a shard.
    """

    def __init__(self, kind: IndexKind, parts: Sequence[SearchIndex], offsets: np.ndarray,
                 stats: CorpusStats | None = None, *, names: Sequence[str] | None = None, partial: bool = False) -> None:
        self.kind: IndexKind = kind
        self.parts = list(parts)
        self.offsets = offsets
        self.stats = stats
        self.names = list(names) if names is not None else [f"shard {s}" for s in range(len(self.parts))]
        self.partial = partial
        self.last_timings: list[float] = []
        self.last_failures: dict[str, str] = {}

    @property
    def generation(self) -> int:
        return sum(int(p.generation) for p in self.parts)

    @property
    def num_rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_docs(self) -> int:
        return self.num_rows

    @property
    def dimension(self) -> int:
        return int(self.parts[0].dimension)  # type: ignore[attr-defined]

    def search_rows(self, queries: Any, k: int, allowed: np.ndarray | None = None, *, trace: Any = None) -> list[Candidates]:
        """Each shard's top-``k`` (with the corpus-wide BM25 statistics), merged by score (ties: lower row)."""
        if allowed is not None and allowed.shape != (self.num_rows,):
            raise InputError(f"allowed mask has shape {allowed.shape}, expected ({self.num_rows},).")
        def one(s: int) -> tuple[list[Candidates] | None, float, ShardUnavailableError | None]:
            part = self.parts[s]
            local = None if allowed is None else allowed[int(self.offsets[s]):int(self.offsets[s + 1])]
            start = time.perf_counter()
            try:
                if self.kind == "bm25":  # tokenising is timed once, in the first shard
                    found = part.search_rows(queries, k, local, stats=self.stats,  # type: ignore[call-arg]
                                             trace=trace if s == 0 and not remote else None)
                else:
                    found = part.search_rows(queries, k, local)
            except ShardUnavailableError as exc:
                return None, time.perf_counter() - start, exc
            return found, time.perf_counter() - start, None

        remote = any(getattr(p, "remote", False) for p in self.parts)
        if remote and len(self.parts) > 1:
            with ThreadPoolExecutor(max_workers=len(self.parts), thread_name_prefix="ragkit-shard") as pool:
                outcomes = list(pool.map(one, range(len(self.parts))))
        else:
            outcomes = [one(s) for s in range(len(self.parts))]
        self.last_timings = [seconds for _, seconds, _ in outcomes]
        errors = {self.names[s]: exc for s, (_, _, exc) in enumerate(outcomes) if exc is not None}
        failures = {name: exc.failures.get(name, str(exc)) for name, exc in errors.items()}
        self.last_failures = failures
        if failures:
            listed = "; ".join(str(exc) for exc in errors.values())
            if not self.partial:
                raise ShardUnavailableError(f"{len(failures)} of {len(self.parts)} shards did not answer the {self.kind} "
                                            f"search ({listed}); no results were returned.", failures)
            note = getattr(trace, "note", None)
            if note is not None:
                note("shards", f"partial {self.kind} results: {listed}")
            logger.warning("partial %s results without %s", self.kind, ", ".join(failures))
        answered = [s for s, (found, _, _) in enumerate(outcomes) if found is not None]
        return merge_top_k([outcomes[s][0] for s in answered], k,  # type: ignore[misc]
                           [int(self.offsets[s]) for s in answered])

    def score_rows(self, queries: Any, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The score of each global row of ``rows[q]`` for query ``q`` (a BM25 index: corpus-wide statistics),
        each row scored by the shard holding it."""
        if self.kind != "bm25":
            raise InputError("score_rows is a BM25 index's; a vector index gives row_vectors.")
        asked = [np.asarray(r, dtype=np.int64).ravel() for r in rows]
        out = [np.zeros(r.shape[0], dtype=np.float64) for r in asked]
        for s, part in enumerate(self.parts):
            lo, hi = int(self.offsets[s]), int(self.offsets[s + 1])
            inside = [(r >= lo) & (r < hi) for r in asked]
            if not any(m.any() for m in inside):
                continue
            local = part.score_rows(queries, [r[m] - lo for r, m in zip(asked, inside, strict=True)],  # type: ignore[attr-defined]
                                    stats=self.stats)
            for q, m in enumerate(inside):
                out[q][m] = local[q]
        return out

    @property
    def alive(self) -> np.ndarray:
        """Boolean mask of the rows that are not deleted, over every shard (a BM25 index)."""
        return np.concatenate([np.asarray(p.alive) for p in self.parts])  # type: ignore[attr-defined]

    def grouped(self, groups: np.ndarray, n_groups: int) -> ShardedIndex:
        """The document-level BM25 index over every shard (see ``BM25Index.grouped``), searched with
        corpus-wide document statistics. A document lies in one shard, so its group numbers
        (first-appearance order over the concatenated rows) form one range per shard.
        """
        if self.kind != "bm25":
            raise InputError("Only a BM25 index has a document-level view.")
        views, starts = [], [0]
        for s, part in enumerate(self.parts):
            local = groups[int(self.offsets[s]):int(self.offsets[s + 1])]
            first = starts[-1]
            count = int(local.max()) + 1 - first if local.size else 0
            views.append(part.grouped(local - first, count))  # type: ignore[attr-defined]
            starts.append(first + count)
        if starts[-1] != n_groups:
            raise InputError(f"grouped() got {n_groups} groups; the shards hold {starts[-1]}.")
        stats = CorpusStats.combine([v.statistics() for v in views])
        return ShardedIndex("bm25", views, np.asarray(starts, dtype=np.int64), stats, names=self.names, partial=self.partial)

    def row_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of global ``rows`` (a vector index), each read from the shard holding it."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if rows.size and (rows.min() < 0 or rows.max() >= self.num_rows):
            raise InputError(f"Cannot read the vectors of row {int(rows[(rows < 0) | (rows >= self.num_rows)][0])}: "
                             f"the index has rows 0..{self.num_rows - 1}.")
        shard_of = np.searchsorted(self.offsets, rows, side="right") - 1
        out = np.empty((rows.size, self.dimension), dtype=np.float32)
        for s in np.unique(shard_of).tolist():
            sel = np.flatnonzero(shard_of == s)
            out[sel] = self.parts[s].row_vectors(rows[sel] - self.offsets[s])  # type: ignore[attr-defined]
        return out

    def get_config(self) -> dict[str, Any]:
        return self.parts[0].get_config()

    def _read_only(self, *_: Any, **__: Any) -> Any:
        raise ReadOnlyError("The index of a sharded collection is read-only; change a shard (Collection.open(shard)) instead.")

    build = add = delete = save = _read_only


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
        root = Path(path)
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

