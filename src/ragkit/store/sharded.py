"""A collection made of shards that searches as one.

Layout: ``<root>/shards.json`` lists shard folders (each a saved :class:`Collection`), their
row counts and offsets, and the BM25 statistics of the whole corpus (``bm25_stats.arrow``:
every term's document frequency; row count and total length in ``shards.json``).

:class:`ShardedCollection` offers what retrievers use from a collection (``index``,
``filter_mask``, ``embed_queries``, ``hits``, ``chunks``), so :class:`DenseRetriever`,
:class:`BM25Retriever`, :class:`HybridRetriever` and evaluation work on it unchanged.
Global row ``offset[s] + r`` is row ``r`` of shard ``s``. Each query is run against
every shard's index; per-shard top-k lists are merged by score. BM25 scores use the
global statistics, so they equal the scores of one index built over the whole corpus.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.arrow_io import column_numpy, read_table
from ragkit.core.atomic import write_bytes_atomic, write_table_atomic
from ragkit.core.errors import CorruptIndexError, IndexFormatError, InputError
from ragkit.core.results import Candidates, Hit
from ragkit.core.topk import top_k, top_k_sparse
from ragkit.store.filters import Filter

__all__ = ["ShardedCollection", "GlobalBM25Stats", "write_layout", "open_collection", "LAYOUT"]

LAYOUT = "shards.json"
_FORMAT = "ragkit-sharded-collection"
_STATS = "bm25_stats.arrow"


@dataclass(frozen=True)
class GlobalBM25Stats:
    """Document frequency of every term over all shards, the live row count and total length."""

    terms: pa.Array
    df: np.ndarray
    n_docs: int
    total_len: int

    @classmethod
    def empty(cls) -> GlobalBM25Stats:
        return cls(pa.array([], type=pa.string()), np.empty(0, dtype=np.int64), 0, 0)

    @classmethod
    def of_index(cls, index: Any) -> GlobalBM25Stats:
        """The statistics of one built :class:`~ragkit.index.BM25Index`."""
        state = index._require_state()
        n_terms = state.postings.n_terms
        terms = index._terms
        terms = terms.slice(0, n_terms) if isinstance(terms, pa.Array) else pa.array(terms[:n_terms], type=pa.string())
        return cls(terms, state.postings.df().astype(np.int64), int(state.n_alive), int(state.total_len))

    def merge(self, other: GlobalBM25Stats) -> GlobalBM25Stats:
        """Statistics of the union of two disjoint row sets (document frequencies add up)."""
        table = pa.table({"term": pa.concat_arrays([self.terms.cast(pa.string()), other.terms.cast(pa.string())]),
                          "df": pa.array(np.concatenate([self.df, other.df]))})
        summed = table.group_by("term").aggregate([("df", "sum")])
        return GlobalBM25Stats(summed.column("term").combine_chunks(), column_numpy(summed, "df_sum").astype(np.int64),
                               self.n_docs + other.n_docs, self.total_len + other.total_len)


def write_layout(root: Path, shards: list[dict[str, Any]], bm25_index: str | None,
                 stats: GlobalBM25Stats | None) -> dict[str, Any]:
    """Write the statistics file, then ``shards.json`` atomically (it names the complete set)."""
    layout: dict[str, Any] = {"format": _FORMAT, "format_version": 1, "shards": shards, "bm25": None}
    if bm25_index is not None and stats is not None:
        write_table_atomic(root / _STATS, pa.table({"term": stats.terms, "df": pa.array(stats.df)}))
        layout["bm25"] = {"index": bm25_index, "n_docs": stats.n_docs, "total_len": stats.total_len, "stats": _STATS}
    write_bytes_atomic(root / LAYOUT, json.dumps(layout, indent=2, sort_keys=True).encode("utf-8"))
    return layout


def open_collection(path: str | Path, **options: Any) -> Any:
    """Open ``path`` as a :class:`ShardedCollection` when it has ``shards.json``, else as a :class:`Collection`."""
    from ragkit.store.collection import Collection

    if (Path(path) / LAYOUT).is_file():
        return ShardedCollection.open(path, **options)
    return Collection.open(path, **options)


class _ShardedVectorIndex:
    kind = "vector"

    def __init__(self, owner: ShardedCollection, name: str) -> None:
        self.owner, self.name = owner, name
        self.parts = [s.index(name) for s in owner.shards]
        self.dimension = self.parts[0].dimension
        self.n_docs = owner.num_chunks
        self.last_timings: list[float] = []

    @property
    def generation(self) -> int:
        return sum(int(p.generation) for p in self.parts)

    def search_rows(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Candidates]:
        per_shard, self.last_timings = [], []
        for part, (lo, hi) in zip(self.parts, self.owner.bounds, strict=True):
            start = time.perf_counter()
            found = part.search_rows(queries, k, None if allowed is None else allowed[lo:hi])
            self.last_timings.append(time.perf_counter() - start)
            per_shard.append([Candidates(c.rows + lo, c.scores) for c in found])
        return _merge(per_shard, k)


class _ShardedBM25Index:
    """BM25 over every shard's postings with the corpus-wide IDF and average length."""

    kind = "bm25"

    def __init__(self, owner: ShardedCollection, name: str, stats: GlobalBM25Stats) -> None:
        from ragkit.index.bm25.scoring import idf

        self.owner, self.name = owner, name
        self.parts = [s.index(name) for s in owner.shards]
        self.config = self.parts[0].config
        self.n_docs = owner.num_chunks
        self.avgdl = stats.total_len / stats.n_docs if stats.n_docs else 0.0
        self.idf = idf(self.config.variant, stats.df, stats.n_docs, self.config.epsilon)
        self.term_ids = {t: i for i, t in enumerate(stats.terms.to_pylist())}
        self.last_timings: list[float] = []

    @property
    def generation(self) -> int:
        return sum(int(p.generation) for p in self.parts)

    def search_rows(self, queries: Sequence[str], k: int, allowed: np.ndarray | None = None, *,
                    trace: Any = None) -> list[Candidates]:
        if isinstance(queries, str):
            raise InputError("search_rows expects a list of queries; wrap a single query as [query].")
        tokens = self.config.tokenizer.tokenize(list(queries))
        flat = [t for toks in tokens for t in toks]
        query_of = np.repeat(np.arange(len(tokens), dtype=np.int64), [len(toks) for toks in tokens])
        lookup = self.term_ids.get
        global_ids = np.fromiter((lookup(t, -1) for t in flat), dtype=np.int64, count=len(flat))
        if trace is not None:
            trace.lap("tokenize")
        per_shard, self.last_timings = [], []
        for part, (lo, hi) in zip(self.parts, self.owner.bounds, strict=True):
            start = time.perf_counter()
            found = self._search_shard(part, flat, query_of, global_ids, len(tokens), k,
                                       None if allowed is None else allowed[lo:hi])
            self.last_timings.append(time.perf_counter() - start)
            per_shard.append([Candidates(c.rows + lo, c.scores) for c in found])
        return _merge(per_shard, k)

    def _search_shard(self, part: Any, flat: list[str], query_of: np.ndarray, global_ids: np.ndarray, n_queries: int,
                      k: int, allowed: np.ndarray | None) -> list[Candidates]:
        """Score one shard's postings with the global IDF and average length (query terms given flat)."""
        import scipy.sparse as sp

        from ragkit.index.bm25.postings import gather
        from ragkit.index.bm25.scoring import tf_weight

        state = part._require_state()
        lookup = part._vocabulary().get
        local = np.fromiter((lookup(t, -1) for t in flat), dtype=np.int64, count=len(flat))
        known = (local >= 0) & (local < state.postings.n_terms) & (global_ids >= 0)
        cfg = self.config
        positions, slot = gather(state.postings, local[known])
        rows = state.postings.rows[positions].astype(np.int64)
        weights = tf_weight(cfg.variant, state.postings.tf[positions], state.doc_len[rows], self.avgdl, cfg.k1, cfg.b, cfg.delta)
        weights *= self.idf[global_ids[known][slot]]
        qrows = query_of[known][slot]
        scores = sp.csr_matrix((weights, (qrows, rows)), shape=(n_queries, state.n_rows))
        scores.sum_duplicates()
        if allowed is not None:
            scores.data[~allowed[scores.indices]] = 0.0
            scores.eliminate_zeros()
        return top_k_sparse(scores.indptr, scores.indices.astype(np.int64), scores.data, k)


def _merge(per_shard: list[list[Candidates]], k: int) -> list[Candidates]:
    """Per query: the best ``k`` of every shard's top-k, by score (ties: lower global row)."""
    out = []
    for q in range(len(per_shard[0]) if per_shard else 0):
        parts = [shard[q] for shard in per_shard]
        rows = np.concatenate([c.rows for c in parts])
        scores = np.concatenate([c.scores for c in parts])
        out.append(top_k(scores, k, rows))
    return out


class ShardedCollection:
    """Shards saved as collections, searched as one collection (see the module docs).

    Example:
        >>> col = ShardedCollection.open("indexes/big")                        # doctest: +SKIP
        >>> HybridRetriever(col).search("global bm25 statistics", k=5)          # doctest: +SKIP
        >>> col.timings()                                                      # doctest: +SKIP
        {'vector': [0.0011, 0.0009], 'bm25': [0.0004, 0.0005]}

    Raises:
        IndexFormatError / CorruptIndexError: a missing or inconsistent layout or shard.
    """

    def __init__(self, root: Path, shards: list[Any], layout: dict[str, Any], stats: GlobalBM25Stats | None) -> None:
        self.root = root
        self.shards = shards
        self.layout = layout
        counts = np.array([s.num_chunks for s in shards], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.bounds = [(int(a), int(b)) for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]
        self.embedder = shards[0].embedder
        self.indexes: dict[str, Any] = {}
        for name, idx in shards[0].indexes.items():
            if idx.kind == "vector":
                self.indexes[name] = _ShardedVectorIndex(self, name)
            elif layout.get("bm25") and name == layout["bm25"]["index"] and stats is not None:
                self.indexes[name] = _ShardedBM25Index(self, name, stats)
        self._chunks: pa.Table | None = None

    @classmethod
    def open(cls, path: str | Path, **options: Any) -> ShardedCollection:
        """Open every shard (memory-mapped) and the global BM25 statistics; ``options`` go to :meth:`Collection.open`."""
        from ragkit.store.collection import Collection

        root = Path(path)
        try:
            layout = json.loads((root / LAYOUT).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"{root}: no readable {LAYOUT}; is this a sharded collection? ({exc})") from exc
        if not isinstance(layout, dict) or layout.get("format") != _FORMAT or not layout.get("shards"):
            raise IndexFormatError(f"{root / LAYOUT} is not a ragkit sharded-collection layout.")
        shards = []
        for entry in layout["shards"]:
            shard = Collection.open(root / entry["name"], **options)
            if shard.num_chunks != entry["chunks"]:
                raise CorruptIndexError(f"{entry['name']}: holds {shard.num_chunks} chunks, {LAYOUT} records {entry['chunks']}.")
            shards.append(shard)
        stats = None
        if layout.get("bm25"):
            info = layout["bm25"]
            table = read_table(root / info["stats"])
            stats = GlobalBM25Stats(table.column("term").combine_chunks(), column_numpy(table, "df").astype(np.int64),
                                    int(info["n_docs"]), int(info["total_len"]))
        return cls(root, shards, layout, stats)

    # -- what retrievers use ------------------------------------------------------------
    @property
    def num_chunks(self) -> int:
        return int(self.offsets[-1])

    @property
    def num_documents(self) -> int:
        return int(pc.count_distinct(self.chunks.column("doc_id")).as_py())

    @property
    def chunks(self) -> pa.Table:
        """Every shard's chunk table, concatenated (memory-mapped, nothing copied)."""
        if self._chunks is None:
            self._chunks = pa.concat_tables([s.chunks for s in self.shards], promote_options="permissive")
        return self._chunks

    def __len__(self) -> int:
        return self.num_chunks

    def __repr__(self) -> str:
        return f"ShardedCollection(shards={len(self.shards)}, chunks={self.num_chunks}, indexes={sorted(self.indexes)})"

    def index(self, name: str) -> Any:
        if name not in self.indexes:
            raise InputError(f"This sharded collection has no index {name!r}; it has: {', '.join(sorted(self.indexes))}.")
        return self.indexes[name]

    def index_of_kind(self, kind: str) -> str:
        for name, idx in self.indexes.items():
            if idx.kind == kind:
                return name
        raise InputError(f"This sharded collection has no {kind} index; it has: {', '.join(sorted(self.indexes)) or 'none'}.")

    @property
    def access_field(self) -> Any:
        return self.shards[0].access_field

    @property
    def generation(self) -> int:
        return sum(int(s.generation) for s in self.shards)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold every shard's current version for the ``with`` body."""
        with contextlib.ExitStack() as stack:
            for shard in self.shards:
                stack.enter_context(shard.reading())
            yield

    def access_mask(self, principal: Any) -> np.ndarray:
        return np.concatenate([s.access_mask(principal) for s in self.shards])

    def filter_mask(self, filters: Filter | None, principal: Any = None) -> np.ndarray | None:
        """Rows satisfying ``filters`` and visible to ``principal``, over all shards (``None``: every row)."""
        masks = [s.filter_mask(filters, principal=principal) for s in self.shards]
        if all(m is None for m in masks):
            return None
        return np.concatenate([m if m is not None else np.ones(s.num_chunks, dtype=bool) for m, s in zip(masks, self.shards, strict=True)])

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        return self.shards[0].embed_queries(queries)  # type: ignore[no-any-return]

    def hits(self, candidates: Candidates, legs: dict[str, Candidates] | None = None) -> list[Hit]:
        """:class:`Hit` records for global rows (each read from its shard)."""
        if len(candidates) == 0:
            return []
        shard_of = np.searchsorted(self.offsets, candidates.rows, side="right") - 1
        out: list[Hit | None] = [None] * len(candidates)
        for s in np.unique(shard_of).tolist():
            sel = np.flatnonzero(shard_of == s)
            lo = self.offsets[s]
            local = Candidates(candidates.rows[sel] - lo, candidates.scores[sel])
            local_legs = {n: Candidates(c.rows[(c.rows >= lo) & (c.rows < self.offsets[s + 1])] - lo,
                                        c.scores[(c.rows >= lo) & (c.rows < self.offsets[s + 1])]) for n, c in (legs or {}).items()}
            for i, hit in zip(sel.tolist(), self.shards[s].hits(local, local_legs), strict=True):
                rank_legs = {n: replace(hit.legs[n], rank=_rank(legs[n], int(candidates.rows[i]))) for n in hit.legs} if legs else {}
                out[i] = replace(hit, chunk_row=int(candidates.rows[i]), legs=rank_legs)
        return [h for h in out if h is not None]

    def timings(self) -> dict[str, list[float]]:
        """Seconds each shard took in the last search, per index."""
        return {name: list(idx.last_timings) for name, idx in self.indexes.items()}


def _rank(candidates: Candidates, row: int) -> int:
    return int(np.flatnonzero(candidates.rows == row)[0]) + 1
