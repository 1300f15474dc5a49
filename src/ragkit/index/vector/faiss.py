"""Vector search with FAISS: any factory string or automatic choice, live updates, filtered
search that always fills k, exact re-scoring of compressed codes, recall tuning, GPUs."""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ragkit.core.deps import require
from ragkit.core.errors import ConfigError, EmptyCorpusError, InputError, NotBuiltError
from ragkit.core.results import Candidates
from ragkit.core.rowsets import check_mask
from ragkit.core.validation import check_float, check_int, check_k
from ragkit.index.vector import engine, tuning
from ragkit.index.vector.config import FaissConfig, config_options
from ragkit.index.vector.files import read_saved, row_slots, write_files
from ragkit.index.vector.gpu import place_on_gpus, set_search_parameter
from ragkit.index.vector.selection import choose_factory
from ragkit.index.vector.tuning import TuningResult
from ragkit.index.vector.vectors import check_rows, check_vectors

__all__ = ["COMPACT_FRACTION", "EXACT_FILTER_ROWS", "FaissConfig", "FaissIndex"]

logger = logging.getLogger(__name__)

#: A filter allowing at most this many rows is answered by exact search over those rows.
EXACT_FILTER_ROWS = 20_000
#: Deleted slots are compacted away once they are this fraction of the index.
COMPACT_FRACTION = 0.3
_LOSSY = re.compile(r"PQ|SQ|LSH|RaBitQ")
_lossy = functools.lru_cache(maxsize=64)(lambda factory: factory.startswith("B") or bool(_LOSSY.search(factory)))


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
        self._mapped = False  # the FAISS index's memory is a read-only mapped file, or viewed by _vectors: copied before a write
        self._retired: list[Any] = []  # indexes replaced by that copy, kept for searches still reading their memory
        self._rescore = self.config.rescore  # raised by tune() when compressed codes plateau below the target
        self._lock = threading.RLock()
        self._generation = 0  # bumped by every change of the rows or search settings (caches compare it)
        self._live_at = (-1, False, False)  # (generation, every slot holds a live row then, slot i holds row i then)

    def get_config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FaissIndex:  # ConfigError on unknown keys or bad values
        return cls(**config_options(cls.__name__, config))

    # -- state -----------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        self._require_built()
        return int(self._vectors.shape[1])

    @property
    def num_rows(self) -> int:
        """Rows of the index, deleted ones included: a row is a slot of the chunk table, never reused (= ``n_docs``)."""
        return int(self._row_slot.shape[0])
    n_docs = num_rows

    def row_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored exact vectors of ``rows`` (float32, one per row, repeats allowed; deleted rows keep their last vector)."""
        self._require_built()
        return self._vectors[check_rows(rows, self._row_slot, "read the vectors of", allow_deleted=True, unique=False)]

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
    def faiss_index(self) -> Any:
        """The FAISS index CPU searches call (None before build), to inspect or time: read it, never change it."""
        return self._index

    @property
    def on_gpu(self) -> bool:
        return self._gpu_index is not None

    @property
    def binary(self) -> bool:
        return (self.factory_ or self.config.factory).startswith("B")

    @property
    def lossy(self) -> bool:
        """Whether the index compares compressed codes (re-scored exactly when ``rescore`` > 0)."""
        return bool(_lossy(self.factory_ or self.config.factory))  # read by every search: decided once per factory

    def memory_bytes(self) -> int:
        """Bytes the FAISS index takes serialised (codes, lists, graph); the exact vectors are extra."""
        faiss = require("faiss", package="faiss-cpu")
        self._require_built()
        return int((faiss.serialize_index_binary(self._index) if self.binary else faiss.serialize_index(self._index)).size)

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
            index = engine.new_index(factory, d)
            engine.train(index, factory, vectors)
            engine.add_vectors(index, vectors)
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
            engine.add_vectors(self._index, vectors)
            rows = np.arange(first_row, first_row + m, dtype=np.int64)
            self._vectors = np.concatenate([self._vectors, vectors])
            self._slot_row = np.concatenate([self._slot_row, rows])
            self._row_slot = np.concatenate([self._row_slot, np.arange(first_slot, first_slot + m, dtype=np.int64)])
            self._refresh_gpu()
            self._generation += 1
        return rows

    def delete(self, rows: Any) -> None:
        """Delete rows (never returned again); rows that aren't integer row ids, unknown, repeated or deleted raise InputError,
        changing nothing."""
        ids = self._check_rows(rows, "delete")
        with self._lock:
            self._slot_row[self._row_slot[ids]] = -1
            self._row_slot[ids] = -1
            self._maybe_compact()
            self._generation += 1

    def upsert(self, rows: Any, vectors: np.ndarray) -> None:
        """Replace the vectors of existing rows (deleted rows come back to life).

        Raises InputError, changing nothing: rows that aren't integer row ids, unknown or repeated; bad vectors or counts."""
        ids = self._check_rows(rows, "upsert", allow_deleted=True)
        vectors = check_vectors(vectors, owner="FaissIndex.upsert", dimension=self.dimension)
        if vectors.shape[0] != ids.shape[0]:
            raise InputError(f"upsert got {ids.shape[0]} rows but {vectors.shape[0]} vectors.")
        with self._lock:
            self._writable()
            old = self._row_slot[ids]
            self._slot_row[old[old >= 0]] = -1
            first_slot = self.ntotal
            engine.add_vectors(self._index, vectors)
            self._slot_row = np.concatenate([self._slot_row, ids])
            self._vectors[ids] = vectors
            self._row_slot[ids] = np.arange(first_slot, first_slot + ids.shape[0], dtype=np.int64)
            self._maybe_compact()
            self._refresh_gpu()
            self._generation += 1

    def _writable(self) -> None:
        """Before a change: exact vectors that are a read-only view (of the mapped vectors file, or of the codes of the
        index itself: see :func:`~ragkit.index.vector.files.read_saved`) become an array of their own, and a memory-mapped
        (read-only) FAISS index becomes an in-memory copy. The old index is kept, unchanged, for searches still reading it."""
        if not self._vectors.flags.writeable:
            self._vectors = self._vectors.copy()
        if self._mapped:
            faiss = require("faiss", package="faiss-cpu")
            # clone_index would share the mapped pages (and abort on the first add): round-trip through bytes
            self._retired.append(self._index)
            self._index = faiss.deserialize_index(faiss.serialize_index(self._index))
            self._mapped = False

    def _check_rows(self, rows: Any, what: str, allow_deleted: bool = False) -> np.ndarray:
        self._require_built()
        return check_rows(rows, self._row_slot, what, allow_deleted=allow_deleted)

    def _maybe_compact(self) -> None:
        dead = int((self._slot_row < 0).sum())
        if dead and dead >= COMPACT_FRACTION * max(self.ntotal, 1):
            self.compact()

    def compact(self) -> None:
        """Rebuild the FAISS index from the live rows' exact vectors (no retraining)."""
        with self._lock:
            self._writable()
            alive = np.flatnonzero(self._row_slot >= 0)
            self._index.reset()
            if alive.size:
                engine.add_vectors(self._index, np.ascontiguousarray(self._vectors[alive]))
            self._slot_row = alive.astype(np.int64)
            self._row_slot = row_slots(self._slot_row, self.n_docs)
            self._refresh_gpu()
            self._generation += 1

    def _apply_search_params(self) -> None:
        for name, value in (("nprobe", self._breadth("nprobe", "nprobe")), ("efSearch", self._breadth("ef_search", "efSearch"))):
            if value is not None and engine.has_parameter(self._index, name):
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
        cfg = self.config
        if cfg.device == "cpu" or self.binary:
            return
        self._gpu_index = place_on_gpus(self._index, device=cfg.device, mode=cfg.gpu_mode, float16=cfg.gpu_float16, name=self.factory_)
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
        k = check_k("FaissIndex.search_rows", k)
        self._require_built()
        queries = check_vectors(queries, owner="FaissIndex.search_rows", dimension=int(self._vectors.shape[1]))
        allowed = check_mask(allowed, self.n_docs)
        if allowed is None and self._live_state()[0]:  # every slot live: FAISS fills k unfiltered
            return self._search(queries, k, None)
        mask = self._row_slot >= 0 if allowed is None else (self._row_slot >= 0) & allowed
        allowed_rows = np.flatnonzero(mask)
        if allowed_rows.size <= EXACT_FILTER_ROWS or self.binary:
            return engine.exact_search(queries, self._vectors, allowed_rows, k)
        results = self._search(queries, k, mask)
        want = min(k, allowed_rows.size)
        short = [i for i, c in enumerate(results) if len(c) < want]
        if short:
            for i, c in zip(short, engine.exact_search(queries[short], self._vectors, allowed_rows, k), strict=True):
                results[i] = c
        return results

    def _live_state(self) -> tuple[bool, bool]:
        """:func:`~ragkit.index.vector.engine.live_state` of the slot maps, computed once per generation
        (read before the scan: a change during it rescans)."""
        live_at = self._live_at
        if live_at[0] != self._generation:
            generation = self._generation
            live_at = self._live_at = (generation, *engine.live_state(self._slot_row, self._row_slot))
        return live_at[1], live_at[2]

    def _search(self, queries: np.ndarray, k: int, mask: np.ndarray | None) -> list[Candidates]:
        """FAISS search (restricted to the rows in ``mask``), slots mapped to rows, re-scored if lossy."""
        rescore = bool(self._rescore and self.lossy)
        fetch = min(k * self._rescore if rescore else k, self._slot_row.shape[0])  # one entry per FAISS slot: = ntotal
        if self.binary:
            dist, slots = self._index.search(np.packbits(queries > 0, axis=1), fetch)
            scores = -dist.astype(np.float64)
        elif mask is None:
            scores, slots = engine.search_block(self._gpu_index if self._gpu_index is not None else self._index, queries, fetch)
        else:
            slot_ok = (self._slot_row >= 0) & mask[np.maximum(self._slot_row, 0)]
            scores, slots = engine.bitmap_search(require("faiss", package="faiss-cpu"), self._index, queries, fetch, slot_ok)
        return engine.slot_candidates(queries, scores, slots, self._slot_row, self._vectors, k, rescore=rescore,
                               identity=mask is None and self._live_state()[1])

    # -- tuning ----------------------------------------------------------------------
    def tune(self, target_recall: float = 0.95, k: int = 10, queries: np.ndarray | None = None,
             sample: int = 500, seed: int = 0) -> TuningResult:
        """Find the fastest ``nprobe`` / ``efSearch`` whose recall@k meets ``target_recall``.

        Ground truth is exact search over the stored vectors. ``queries`` are real query
        vectors; without them, ``sample`` stored rows serve as held-out queries (each one's
        own row is removed from both the truth and the results), and since stored rows are
        easier queries than real ones, the run aims at a stricter recall on them
        (:func:`~ragkit.index.vector.tuning.sampled_target`: 0.98 for 0.95). The curve is kept in
        :attr:`tuning_`, saved with the index and re-applied on open.

        Raises:
            ConfigError: ``target_recall`` outside (0, 1] or ``k < 1``.
        """
        check_float("FaissIndex.tune", "target_recall", target_recall, low=1e-9, high=1.0)
        k = check_int("FaissIndex.tune", "k", k, low=1, error=ConfigError)
        self._require_built()
        alive = np.flatnonzero(self._row_slot >= 0)
        queries, query_rows = tuning.tuning_queries(self._vectors, alive, queries, sample, seed)
        queries = check_vectors(queries, owner="FaissIndex.tune", dimension=self.dimension)
        extra = 0 if query_rows is None else 1
        target_recall = target_recall if query_rows is None else tuning.sampled_target(target_recall)
        truth = tuning.drop_own(tuning.exact_truth(queries, self._vectors, alive, k + extra), query_rows, k)
        name, grid = tuning.tuning_grid(self._index)

        def run(value: int | None) -> np.ndarray:
            if value is not None:
                set_search_parameter(self._index, name, value)
                if self._gpu_index is not None and name == "nprobe":
                    set_search_parameter(self._gpu_index, name, value)
            return tuning.drop_own(tuning.found_ids(self.search_rows(queries, k + extra), k + extra), query_rows, k)

        def widen(factor: int) -> None:  # compressed codes plateau below the target: re-rank more candidates exactly
            self._rescore = factor

        result = tuning.widening_sweep(run, truth, grid, name, target_recall, n_queries=queries.shape[0],
                                rescore=self._rescore if self.lossy else 0, widen=widen)
        self.tuning_ = result
        self._generation += 1
        if result.chosen is not None and name != "none":
            set_search_parameter(self._index, name, result.chosen)
            self._refresh_gpu()
        return result

    # -- persistence -----------------------------------------------------------------
    def save(self, directory: Path) -> list[str]:
        """Write the CPU index, the exact vectors and the slot map (Arrow), and the chosen settings."""
        require("faiss", package="faiss-cpu")
        self._require_built()
        with self._lock:
            return write_files(directory, self._index, binary=self.binary, vectors=self._vectors, slot_row=self._slot_row,
                               factory=self.factory_, tuning=self.tuning_)

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> FaissIndex:
        """Open a saved index (exact vectors memory-mapped, the FAISS file too where its type allows).

        Raises CorruptIndexError for unreadable or mutually inconsistent files."""
        require("faiss", package="faiss-cpu")
        index = cls.from_config(config)
        saved = read_saved(directory, binary=index.binary)
        index.factory_, index.tuning_, index._index = saved.factory, saved.tuning, saved.index
        index._mapped = saved.mapped or saved.vectors_in_index
        index._vectors, index._slot_row, index._row_slot = saved.vectors, saved.slot_row, saved.row_slot
        index._apply_search_params()
        index._refresh_gpu()
        return index
