"""Vector search with FAISS: any factory string or automatic choice, live updates, filtered
search that always fills k, exact re-scoring of compressed codes, recall tuning, GPUs."""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import column_numpy, read_table, write_table
from ragkit.core.deps import faiss_gpu_count, require
from ragkit.core.errors import (
    ConfigError,
    CorruptIndexError,
    DimensionMismatchError,
    EmptyCorpusError,
    InputError,
    NotBuiltError,
)
from ragkit.core.results import Candidates
from ragkit.core.topk import top_k
from ragkit.core.validation import check_choice, check_float, check_int, check_k, check_str
from ragkit.index.vector.gpu import set_search_parameter, to_gpus
from ragkit.index.vector.selection import choose_factory
from ragkit.index.vector.tuning import EF_SEARCH_GRID, NPROBE_GRID, TuningResult, sweep

__all__ = ["FaissConfig", "FaissIndex", "check_vectors"]

logger = logging.getLogger(__name__)

# training sample: 40 vectors per IVF list (FAISS warns below 39) and at least 65,536 (PQ/SQ codebooks)
_TRAIN_PER_LIST, _TRAIN_MIN = 40, 1 << 16
_RESCORE_GRID = (8, 16, 32, 64)  # candidate multiples tune() tries when compressed codes miss the target
_INDEX_FILE, _VECTORS_FILE, _SLOTS_FILE, _META_FILE = "vectors.faiss", "vectors.arrow", "slots.arrow", "faiss_meta.json"
#: A filter allowing at most this many rows is answered by exact search over those rows.
_EXACT_FILTER_ROWS = 20_000
#: Deleted slots are compacted away once they are this fraction of the index.
_COMPACT_FRACTION = 0.3
_NORM_TOLERANCE = 1e-3
_LOSSY = re.compile(r"PQ|SQ|LSH|RaBitQ")


@dataclass(frozen=True, kw_only=True)
class FaissConfig:
    """Parameters of :class:`FaissIndex`.

    ``factory``: a FAISS index-factory string (``"Flat"``, ``"HNSW32"``, ``"IVF256,Flat"``,
    ``"IVF1024,PQ32"``, ``"IVF4096_HNSW32,SQ8"``...), a binary one (``"BFlat"``,
    ``"BHNSW32"``: sign bits, Hamming search), or ``"auto"`` to choose from the corpus
    size, dimension and ``memory_budget`` (bytes). ``nprobe`` / ``ef_search`` set the
    search breadth (``None``: FAISS's default, or what :meth:`FaissIndex.tune` chose).
    ``rescore``: compressed and binary codes fetch ``rescore * k`` candidates and re-rank
    them by exact inner product (0 turns this off).
    """

    factory: str = "Flat"
    nprobe: int | None = None
    ef_search: int | None = None
    device: Literal["auto", "cpu", "gpu"] = "auto"
    gpu_mode: Literal["replicate", "shard"] = "replicate"
    gpu_float16: bool = False
    memory_budget: int | None = None
    rescore: int = 4

    def __post_init__(self) -> None:
        owner = "FaissIndex"
        check_str(owner, "factory", self.factory)
        if "IDMap" in self.factory:
            raise ConfigError(f"The 'factory' parameter of {owner} must not contain IDMap: ids are managed by ragkit.")
        for name in ("nprobe", "ef_search", "memory_budget"):
            if getattr(self, name) is not None:
                check_int(owner, name, getattr(self, name), low=1)
        check_choice(owner, "device", self.device, ("auto", "cpu", "gpu"))
        check_choice(owner, "gpu_mode", self.gpu_mode, ("replicate", "shard"))
        check_int(owner, "rescore", self.rescore, low=0)
        if not isinstance(self.gpu_float16, bool):
            raise ConfigError(f"The 'gpu_float16' parameter of {owner} must be a bool. Got {self.gpu_float16!r} instead.")


class FaissIndex:
    """A FAISS index over unit-length embedding rows, searched by inner product (cosine).

    Row ``i`` of the vectors given to :meth:`build` is chunk row ``i``; :meth:`add`
    appends rows, :meth:`delete` and :meth:`upsert` work on row ids for every index type
    (FAISS slots are mapped to rows, deleted slots are skipped and compacted away). The
    exact vectors are kept beside the index (memory-mapped after open) for filtered exact
    search, re-scoring of compressed codes, ground truth and compaction.

    Example:
        >>> v = np.eye(3, dtype=np.float32)
        >>> [int(r) for r in FaissIndex("Flat").build(v).search_rows(v[:1], k=1)[0].rows]
        [0]

    Raises:
        ConfigError: on an invalid factory string or parameter.
        InputError: on vectors that are not finite, unit-length float rows.
        DimensionMismatchError: on vectors of another dimension than the index.
        NotBuiltError: when used before :meth:`build` or :meth:`load`.
    """

    kind = "vector"

    def __init__(self, factory: str = "Flat", *, nprobe: int | None = None, ef_search: int | None = None,
                 device: Literal["auto", "cpu", "gpu"] = "auto", gpu_mode: Literal["replicate", "shard"] = "replicate",
                 gpu_float16: bool = False, memory_budget: int | None = None, rescore: int = 4) -> None:
        self.config = FaissConfig(factory=factory, nprobe=nprobe, ef_search=ef_search, device=device, gpu_mode=gpu_mode,
                                  gpu_float16=gpu_float16, memory_budget=memory_budget, rescore=rescore)
        self.factory_: str | None = None  # the factory in use ("auto" resolved)
        self.tuning_: TuningResult | None = None
        self._index: Any = None
        self._gpu_index: Any = None
        self._vectors: np.ndarray = np.empty((0, 0), dtype=np.float32)  # exact vectors by row
        self._slot_row = np.empty(0, dtype=np.int64)  # FAISS slot -> row (-1: deleted)
        self._row_slot = np.empty(0, dtype=np.int64)  # row -> FAISS slot (-1: deleted)
        self._mapped = False  # FAISS file memory-mapped read-only: copied to memory before a write
        self._rescore = self.config.rescore  # raised by tune() when compressed codes plateau below the target
        self._lock = threading.RLock()
        self._generation = 0  # bumped by every change of the rows or search settings (caches compare it)

    def get_config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FaissIndex:
        return cls(**{k: v for k, v in config.items() if k != "type"})

    # -- state -----------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        self._require_built()
        return int(self._vectors.shape[1])

    @property
    def n_docs(self) -> int:
        """Rows of the index, deleted ones included (row ids are never reused)."""
        return int(self._row_slot.shape[0])

    @property
    def n_alive(self) -> int:
        return int((self._row_slot >= 0).sum())

    @property
    def generation(self) -> int:
        """A counter bumped by every build, add, delete, upsert, compact and tune: equal values mean unchanged results."""
        return self._generation

    @property
    def ntotal(self) -> int:
        """Slots held by FAISS (deleted ones included until compaction)."""
        return 0 if self._index is None else int(self._index.ntotal)

    @property
    def on_gpu(self) -> bool:
        return self._gpu_index is not None

    @property
    def binary(self) -> bool:
        return (self.factory_ or self.config.factory).startswith("B")

    @property
    def lossy(self) -> bool:
        """Whether the index compares compressed codes (re-scored exactly when ``rescore`` > 0)."""
        return self.binary or bool(_LOSSY.search(self.factory_ or self.config.factory))

    def memory_bytes(self) -> int:
        """Bytes the FAISS index takes serialised (codes, lists, graph); the exact vectors are extra."""
        faiss = require("faiss", package="faiss-gpu")
        self._require_built()
        data = faiss.serialize_index_binary(self._index) if self.binary else faiss.serialize_index(self._index)
        return int(data.size)

    def _require_built(self) -> None:
        if self._index is None:
            raise NotBuiltError("FaissIndex is empty: call build(vectors) or load it from a collection first.")

    # -- building and updating --------------------------------------------------------
    def build(self, vectors: np.ndarray) -> FaissIndex:
        """Choose (for ``"auto"``), train when the index type needs it, and add ``vectors``."""
        vectors = check_vectors(vectors, owner="FaissIndex.build")
        n, d = vectors.shape
        if n == 0:
            raise EmptyCorpusError("FaissIndex.build got no vectors; an index needs at least one.")
        factory = self.config.factory
        if factory == "auto":
            choice = choose_factory(n, d, self.config.memory_budget)
            factory = choice.factory
            logger.info("FaissIndex chose %s for %d x %d: %s", factory, n, d, choice.reason)
        with self._lock:
            index = _new_index(factory, d)
            _train(index, factory, vectors)
            _add(index, vectors)
            self._index, self.factory_, self.tuning_ = index, factory, None
            self._vectors = vectors.copy()
            self._slot_row = np.arange(n, dtype=np.int64)
            self._row_slot = np.arange(n, dtype=np.int64)
            self._apply_search_params()
            self._refresh_gpu()
            self._generation += 1
        return self

    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Append rows; returns their row ids."""
        self._require_built()
        vectors = check_vectors(vectors, owner="FaissIndex.add", dimension=self.dimension)
        with self._lock:
            self._writable()
            first_row, first_slot = self.n_docs, self.ntotal
            m = vectors.shape[0]
            _add(self._index, vectors)
            rows = np.arange(first_row, first_row + m, dtype=np.int64)
            self._vectors = np.concatenate([self._vectors, vectors])
            self._slot_row = np.concatenate([self._slot_row, rows])
            self._row_slot = np.concatenate([self._row_slot, np.arange(first_slot, first_slot + m, dtype=np.int64)])
            self._refresh_gpu()
            self._generation += 1
        return rows

    def delete(self, rows: Any) -> None:
        """Delete rows: they are never returned again.

        Raises:
            InputError: an unknown, duplicated or already deleted row (nothing is changed).
        """
        ids = self._check_rows(rows, "delete")
        with self._lock:
            self._slot_row[self._row_slot[ids]] = -1
            self._row_slot[ids] = -1
            self._maybe_compact()
            self._generation += 1

    def upsert(self, rows: Any, vectors: np.ndarray) -> None:
        """Replace the vectors of existing rows (deleted rows come back to life)."""
        self._require_built()
        ids = np.asarray(rows, dtype=np.int64).ravel()
        vectors = check_vectors(vectors, owner="FaissIndex.upsert", dimension=self.dimension)
        if vectors.shape[0] != ids.shape[0]:
            raise InputError(f"upsert got {ids.shape[0]} rows but {vectors.shape[0]} vectors.")
        self._check_rows(ids, "upsert", allow_deleted=True)
        with self._lock:
            self._writable()
            old = self._row_slot[ids]
            self._slot_row[old[old >= 0]] = -1
            first_slot = self.ntotal
            _add(self._index, vectors)
            self._slot_row = np.concatenate([self._slot_row, ids])
            if not self._vectors.flags.writeable:  # memory-mapped after open: copy on first write
                self._vectors = self._vectors.copy()
            self._vectors[ids] = vectors
            self._row_slot[ids] = np.arange(first_slot, first_slot + ids.shape[0], dtype=np.int64)
            self._maybe_compact()
            self._refresh_gpu()
            self._generation += 1

    def _writable(self) -> None:
        """Swap a memory-mapped, read-only FAISS index for an in-memory copy before changing it."""
        if self._mapped:
            faiss = require("faiss", package="faiss-gpu")
            # clone_index would share the mapped pages (and abort on the first add): round-trip through bytes
            self._index = faiss.deserialize_index(faiss.serialize_index(self._index))
            self._mapped = False

    def _check_rows(self, rows: Any, what: str, allow_deleted: bool = False) -> np.ndarray:
        self._require_built()
        ids = np.asarray(rows, dtype=np.int64).ravel()
        bad = ids[(ids < 0) | (ids >= self.n_docs)]
        if bad.size:
            raise InputError(f"Cannot {what} row {int(bad[0])}: the index has rows 0..{self.n_docs - 1}.")
        if np.unique(ids).size != ids.size:
            raise InputError(f"Rows to {what} contain duplicates.")
        if not allow_deleted:
            gone = ids[self._row_slot[ids] < 0]
            if gone.size:
                raise InputError(f"Cannot {what} row {int(gone[0])}: it is already deleted.")
        return ids

    def _maybe_compact(self) -> None:
        dead = int((self._slot_row < 0).sum())
        if dead and dead >= _COMPACT_FRACTION * max(self.ntotal, 1):
            self.compact()

    def compact(self) -> None:
        """Rebuild the FAISS index from the live rows' exact vectors (no retraining)."""
        with self._lock:
            self._writable()
            alive = np.flatnonzero(self._row_slot >= 0)
            self._index.reset()
            if alive.size:
                _add(self._index, np.ascontiguousarray(self._vectors[alive]))
            self._slot_row = alive.astype(np.int64)
            self._row_slot = np.full(self.n_docs, -1, dtype=np.int64)
            self._row_slot[alive] = np.arange(alive.size, dtype=np.int64)
            self._refresh_gpu()
            self._generation += 1

    def _apply_search_params(self) -> None:
        for name, value in (("nprobe", self._breadth("nprobe", "nprobe")), ("efSearch", self._breadth("ef_search", "efSearch"))):
            if value is not None and _has_parameter(self._index, name):
                set_search_parameter(self._index, name, value)
        if self.tuning_ is not None and self.tuning_.rescore is not None:
            self._rescore = self.tuning_.rescore

    def _breadth(self, option: str, parameter: str) -> int | None:
        """The configured value of ``option``, else the tuned value of the FAISS ``parameter``."""
        configured = getattr(self.config, option)
        if configured is not None:
            return int(configured)
        if self.tuning_ is not None and self.tuning_.parameter == parameter and self.tuning_.chosen is not None:
            return self.tuning_.chosen
        return None

    def _refresh_gpu(self) -> None:
        self._gpu_index = None
        if self.config.device == "cpu" or self.binary:
            return
        if faiss_gpu_count() == 0:
            if self.config.device == "gpu":
                raise ConfigError("FaissIndex(device='gpu') but FAISS sees no GPU; use device='auto' or 'cpu'.")
            return
        self._gpu_index = to_gpus(self._index, mode=self.config.gpu_mode, float16=self.config.gpu_float16)
        if self._gpu_index is None and self.config.device == "gpu":
            raise ConfigError(f"FAISS cannot place {self.factory_!r} on the GPU; use device='auto' to keep it on the CPU.")
        nprobe = self._breadth("nprobe", "nprobe")
        if nprobe is not None and self._gpu_index is not None:
            set_search_parameter(self._gpu_index, "nprobe", nprobe)

    # -- searching -------------------------------------------------------------------
    def search_rows(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Candidates]:
        """Top-``k`` rows per query vector; ``allowed`` is an optional boolean row mask.

        Deleted rows are never returned. A filtered search returns ``min(k, allowed rows)``
        hits: a selective filter is answered by exact search over the allowed rows, a broad
        one by FAISS's ID selector, topped up by exact search if it came back short.
        """
        check_k("FaissIndex.search_rows", k)
        self._require_built()
        queries = check_vectors(queries, owner="FaissIndex.search_rows", dimension=self.dimension)
        if allowed is not None and allowed.shape != (self.n_docs,):
            raise InputError(f"allowed mask has shape {allowed.shape}, expected ({self.n_docs},).")
        live = self._row_slot >= 0
        if allowed is None and live.all():
            return self._search(queries, k, None)
        mask = live if allowed is None else live & allowed
        allowed_rows = np.flatnonzero(mask)
        if allowed_rows.size <= _EXACT_FILTER_ROWS or self.binary:
            return self._exact(queries, k, allowed_rows)
        results = self._search(queries, k, mask)
        want = min(k, allowed_rows.size)
        short = [i for i, c in enumerate(results) if len(c) < want]
        if short:
            for i, c in zip(short, self._exact(queries[short], k, allowed_rows), strict=True):
                results[i] = c
        return results

    def _search(self, queries: np.ndarray, k: int, mask: np.ndarray | None) -> list[Candidates]:
        """FAISS search (restricted to the rows in ``mask``), slots mapped to rows, re-scored if lossy."""
        faiss = require("faiss", package="faiss-gpu")
        fetch = k * self._rescore if self.lossy and self._rescore else k
        fetch = min(fetch, self.ntotal)
        if self.binary:
            dist, slots = self._index.search(np.packbits(queries > 0, axis=1), fetch)
            scores = -dist.astype(np.float64)
        elif mask is None:
            index = self._gpu_index if self._gpu_index is not None else self._index
            scores, slots = index.search(queries, fetch)
        else:
            slot_ok = (self._slot_row >= 0) & mask[np.maximum(self._slot_row, 0)]
            bitmap = np.packbits(slot_ok, bitorder="little")
            selector = faiss.IDSelectorBitmap(slot_ok.shape[0], faiss.swig_ptr(bitmap))
            params = _search_params(faiss, self._index, selector, fetch)
            scores, slots = self._index.search(queries, fetch, params=params)
        out = []
        for q, s, sl in zip(queries, scores, slots, strict=True):
            keep = sl >= 0
            rows = self._slot_row[sl[keep]]
            live = rows >= 0
            rows, row_scores = rows[live], s[keep][live].astype(np.float64)
            if self.lossy and self._rescore:
                row_scores = (self._vectors[rows] @ q).astype(np.float64)
            out.append(top_k(row_scores, k, rows))
        return out

    def _exact(self, queries: np.ndarray, k: int, rows: np.ndarray) -> list[Candidates]:
        """Exact inner products against the stored vectors of ``rows``."""
        if rows.size == 0:
            return [Candidates.empty() for _ in range(queries.shape[0])]
        scores = queries @ self._vectors[rows].T
        return [top_k(row.astype(np.float64), k, rows.astype(np.int64)) for row in scores]

    # -- tuning ----------------------------------------------------------------------
    def tune(self, target_recall: float = 0.95, k: int = 10, queries: np.ndarray | None = None,
             sample: int = 500, seed: int = 0) -> TuningResult:
        """Find the fastest ``nprobe`` / ``efSearch`` whose recall@k meets ``target_recall``.

        Ground truth is exact search over the stored vectors. ``queries`` are real query
        vectors; without them, ``sample`` stored rows serve as held-out queries (each one's
        own row is removed from both the truth and the results). The curve is kept in
        :attr:`tuning_`, saved with the index and re-applied on open.

        Raises:
            ConfigError: ``target_recall`` outside (0, 1] or ``k < 1``.
        """
        check_float("FaissIndex.tune", "target_recall", target_recall, low=1e-9, high=1.0)
        check_int("FaissIndex.tune", "k", k, low=1, error=ConfigError)
        self._require_built()
        faiss = require("faiss", package="faiss-gpu")
        alive = np.flatnonzero(self._row_slot >= 0)
        held_out = queries is None
        if held_out:
            rng = np.random.default_rng(seed)
            query_rows = rng.choice(alive, size=min(sample, alive.size), replace=False)
            queries = np.ascontiguousarray(self._vectors[query_rows])
        queries = check_vectors(queries, owner="FaissIndex.tune", dimension=self.dimension)
        extra = 1 if held_out else 0
        _, truth_pos = faiss.knn(queries, np.ascontiguousarray(self._vectors[alive]), k + extra,
                                 metric=faiss.METRIC_INNER_PRODUCT)
        truth = alive[truth_pos]

        def drop_self(found: np.ndarray) -> np.ndarray:
            if not held_out:
                return found[:, :k]
            out = np.full((found.shape[0], k), -1, dtype=np.int64)
            for i, (row, own) in enumerate(zip(found, query_rows, strict=True)):
                kept = row[row != own][:k]
                out[i, : kept.shape[0]] = kept
            return out

        truth = drop_self(truth)
        name, grid = self._tuning_grid()

        def run(value: int | None) -> np.ndarray:
            if value is not None:
                set_search_parameter(self._index, name, value)
                if self._gpu_index is not None and name == "nprobe":
                    set_search_parameter(self._gpu_index, name, value)
            found = self.search_rows(queries, k + extra)
            ids = np.full((len(found), k + extra), -1, dtype=np.int64)
            for i, c in enumerate(found):
                ids[i, : len(c)] = c.rows
            return drop_self(ids)

        result = sweep(run, truth, grid, name, target_recall, n_queries=queries.shape[0])
        if self.lossy and self._rescore:
            # compressed codes plateau below the target: re-rank a larger candidate set exactly
            for factor in (f for f in _RESCORE_GRID if f > self._rescore):
                if result.met:
                    break
                self._rescore = factor
                result = sweep(run, truth, grid, name, target_recall, n_queries=queries.shape[0])
            result = replace(result, rescore=self._rescore)
        self.tuning_ = result
        self._generation += 1
        if result.chosen is not None and name != "none":
            set_search_parameter(self._index, name, result.chosen)
            self._refresh_gpu()
        return result

    def _tuning_grid(self) -> tuple[str, list[Any]]:
        if _has_parameter(self._index, "nprobe"):
            faiss = require("faiss", package="faiss-gpu")
            nlist = int(faiss.extract_index_ivf(self._index).nlist)
            return "nprobe", [v for v in NPROBE_GRID if v <= nlist]
        if _has_parameter(self._index, "efSearch"):
            return "efSearch", list(EF_SEARCH_GRID)
        return "none", [None]

    # -- persistence -----------------------------------------------------------------
    def save(self, directory: Path) -> list[str]:
        """Write the CPU index, the exact vectors and the slot map (Arrow), and the chosen settings."""
        faiss = require("faiss", package="faiss-gpu")
        self._require_built()
        with self._lock:
            if self.binary:
                faiss.write_index_binary(self._index, str(directory / _INDEX_FILE))
            else:
                faiss.write_index(self._index, str(directory / _INDEX_FILE))
            d = self.dimension
            flat = pa.array(np.ascontiguousarray(self._vectors).reshape(-1))
            write_table(directory / _VECTORS_FILE, pa.table({"vector": pa.FixedSizeListArray.from_arrays(flat, d)}))
            write_table(directory / _SLOTS_FILE, pa.table({"row": pa.array(self._slot_row)}))
            meta = {"factory": self.factory_, "dimension": d,
                    "tuning": self.tuning_.to_dict() if self.tuning_ is not None else None}
            (directory / _META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        return [_INDEX_FILE, _VECTORS_FILE, _SLOTS_FILE, _META_FILE]

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> FaissIndex:
        """Open a saved index; the exact vectors are memory-mapped, the FAISS file too where its type allows.

        Raises:
            CorruptIndexError: unreadable or mutually inconsistent files.
        """
        faiss = require("faiss", package="faiss-gpu")
        index = cls.from_config(config)
        try:
            meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
            index.factory_ = str(meta["factory"])
            dimension = int(meta["dimension"])
            index.tuning_ = TuningResult.from_dict(meta["tuning"]) if meta.get("tuning") else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptIndexError(f"{_META_FILE}: unreadable ({exc}).") from exc
        mappable = not index.binary and "IVF" not in index.factory_  # IVF maps to on-disk lists FAISS cannot copy
        index._index, index._mapped = _read_faiss(faiss, directory / _INDEX_FILE, binary=index.binary, mmap=mappable)
        column = read_table(directory / _VECTORS_FILE).column("vector")
        vectors = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()  # one chunk: zero-copy
        if not pa.types.is_fixed_size_list(vectors.type) or vectors.type.list_size != dimension:
            raise CorruptIndexError(f"{_VECTORS_FILE}: expected {dimension}-d vectors.")
        index._vectors = vectors.flatten().to_numpy(zero_copy_only=True).reshape(-1, dimension)
        index._slot_row = column_numpy(read_table(directory / _SLOTS_FILE), "row").astype(np.int64).copy()
        n_rows, ntotal = index._vectors.shape[0], int(index._index.ntotal)
        if index._slot_row.shape[0] != ntotal or (index._slot_row >= n_rows).any():
            raise CorruptIndexError(f"{_SLOTS_FILE}: does not match {_INDEX_FILE} ({ntotal} slots) and {n_rows} rows.")
        index._row_slot = np.full(n_rows, -1, dtype=np.int64)
        live = np.flatnonzero(index._slot_row >= 0)
        index._row_slot[index._slot_row[live]] = live
        if int(index._index.d) != dimension:
            raise CorruptIndexError(f"{_INDEX_FILE}: dimension {index._index.d}, the manifest says {dimension}.")
        index._apply_search_params()
        index._refresh_gpu()
        return index


def check_vectors(vectors: Any, *, owner: str, dimension: int | None = None) -> np.ndarray:
    """Validate a batch of embeddings: 2-d, finite, unit length; returns C-contiguous float32.

    Raises:
        InputError: wrong shape, non-finite values, or rows that are not unit length.
        DimensionMismatchError: when ``dimension`` is given and differs.
    """
    arr = np.asarray(vectors)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"{owner}: expected a 2-d float array (n, dim), got shape {arr.shape} dtype {arr.dtype}.")
    if dimension is not None and arr.shape[1] != dimension:
        raise DimensionMismatchError(
            f"{owner}: vectors have dimension {arr.shape[1]} but the index holds dimension {dimension}; "
            "embed with the same model the index was built with."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise InputError(f"{owner}: row {bad} holds NaN or infinity; check the embedder's output.")
    if arr.shape[0]:
        norms = np.linalg.norm(arr, axis=1)
        off = np.abs(norms - 1.0) > _NORM_TOLERANCE
        if off.any():
            bad = int(np.flatnonzero(off)[0])
            raise InputError(
                f"{owner}: row {bad} has L2 norm {norms[bad]:.4f}; inner-product search needs unit-length "
                "vectors. Normalise them (x / np.linalg.norm(x, axis=1, keepdims=True))."
            )
    return arr


def _new_index(factory: str, d: int) -> Any:
    faiss = require("faiss", package="faiss-gpu")
    try:
        if factory.startswith("B"):
            if d % 8:
                raise ConfigError(f"Binary index {factory!r} needs a dimension divisible by 8; got {d}.")
            return faiss.index_binary_factory(d, factory)
        index = faiss.index_factory(d, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ConfigError(
            f"The 'factory' parameter of FaissIndex is not a valid FAISS factory string for "
            f"dimension {d}: {factory!r} ({_first_line(exc)})."
        ) from exc
    _skip_polysemous_training(index, faiss)
    return index


def _skip_polysemous_training(index: Any, faiss: Any) -> None:
    """PQ indexes from the factory train polysemous codes by default: minutes of annealing for a
    Hamming pre-filter ragkit never uses (it re-ranks exactly instead), so it is switched off."""
    parts = [faiss.downcast_index(index)]
    if isinstance(parts[0], faiss.IndexPreTransform):
        parts.append(faiss.downcast_index(parts[0].index))
    if hasattr(parts[-1], "storage"):  # HNSW over PQ codes
        parts.append(faiss.downcast_index(parts[-1].storage))
    for part in parts:
        if hasattr(part, "do_polysemous_training"):
            part.do_polysemous_training = False


def _codes(index: Any, vectors: np.ndarray) -> np.ndarray:
    return np.packbits(vectors > 0, axis=1) if type(index).__name__.startswith("IndexBinary") else vectors


def _train(index: Any, factory: str, vectors: np.ndarray) -> None:
    if index.is_trained:
        return
    faiss = require("faiss", package="faiss-gpu")
    n = vectors.shape[0]
    nlist = _ivf_lists(index, faiss)
    if nlist and n < nlist:
        raise InputError(
            f"FaissIndex {factory!r} has {nlist} IVF lists but only {n} vectors to train on; use fewer lists "
            f"(about 4*sqrt(n) = {max(1, int(4 * n ** 0.5))}), 'auto', or 'Flat'."
        )
    cap = max(_TRAIN_PER_LIST * nlist, _TRAIN_MIN) if nlist else _TRAIN_MIN
    if n > cap:  # k-means on a random sample: as good a quantizer, a fraction of the time
        vectors = vectors[np.sort(np.random.default_rng(0).choice(n, size=cap, replace=False))]
    try:
        index.train(_codes(index, vectors))
    except RuntimeError as exc:
        raise InputError(
            f"FaissIndex {factory!r} could not be trained on {n} vectors: {_first_line(exc)}. "
            "Quantizers need enough training vectors (PQ: at least 256 per sub-quantizer); "
            "use 'Flat', 'HNSW32' or 'auto' for small corpora."
        ) from exc


def _add(index: Any, vectors: np.ndarray) -> None:
    index.add(_codes(index, vectors))


def _search_params(faiss: Any, index: Any, selector: Any, k: int) -> Any:
    if hasattr(index, "hnsw"):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(index.hnsw.efSearch, k))
    ivf = _extract_ivf(index, faiss)
    if ivf is not None:
        return faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe)
    return faiss.SearchParameters(sel=selector)


def _read_faiss(faiss: Any, path: Path, *, binary: bool, mmap: bool) -> tuple[Any, bool]:
    """The index in ``path`` and whether it is memory-mapped (read-only)."""
    try:
        if binary:
            return faiss.read_index_binary(str(path)), False
        if not mmap:
            return faiss.read_index(str(path)), False
        # memory-map the stored codes (flat, HNSW, SQ, PQ storage) zero-copy where this FAISS supports it
        flag = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP)
        try:
            return faiss.read_index(str(path), flag | faiss.IO_FLAG_READ_ONLY), True
        except RuntimeError:
            return faiss.read_index(str(path)), False
    except RuntimeError as exc:
        raise CorruptIndexError(f"{_INDEX_FILE}: FAISS cannot read it ({_first_line(exc)}).") from exc


def _has_parameter(index: Any, name: str) -> bool:
    faiss = require("faiss", package="faiss-gpu")
    if name == "nprobe":
        return _extract_ivf(index, faiss) is not None
    return hasattr(index, "hnsw")


def _extract_ivf(index: Any, faiss: Any) -> Any:
    if type(index).__name__.startswith("IndexBinary"):
        return None
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def _ivf_lists(index: Any, faiss: Any) -> int:
    ivf = _extract_ivf(index, faiss)
    return int(ivf.nlist) if ivf is not None else 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return re.sub(r"\s+", " ", text[-1] if text else type(exc).__name__)[:200]
