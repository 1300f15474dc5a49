"""Vector search with FAISS: any factory string, inner product on unit vectors, GPU when present."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ragkit._deps import faiss_gpu_count, require
from ragkit._validation import check_choice, check_int, check_k, check_str
from ragkit.errors import (
    ConfigError,
    CorruptIndexError,
    DimensionMismatchError,
    EmptyCorpusError,
    InputError,
    NotBuiltError,
)
from ragkit.retrieval.hits import Candidates, top_k

__all__ = ["FaissConfig", "FaissIndex", "check_vectors"]

logger = logging.getLogger(__name__)

_FILE = "vectors.faiss"
#: A filter allowing at most this many rows is answered by exact search over those rows.
_EXACT_FILTER_ROWS = 20_000
_NORM_TOLERANCE = 1e-3


@dataclass(frozen=True, kw_only=True)
class FaissConfig:
    """Parameters of :class:`FaissIndex`.

    ``factory`` is a FAISS index-factory string (``"Flat"``, ``"HNSW32"``,
    ``"IVF256,Flat"``, ``"IVF1024,PQ32"``...). ``nprobe`` (IVF) and ``ef_search``
    (HNSW) set the search breadth; ``None`` keeps FAISS's value for the index.
    """

    factory: str = "Flat"
    nprobe: int | None = None
    ef_search: int | None = None
    device: Literal["auto", "cpu", "gpu"] = "auto"

    def __post_init__(self) -> None:
        owner = "FaissIndex"
        check_str(owner, "factory", self.factory)
        if "IDMap" in self.factory:
            raise ConfigError(f"The 'factory' parameter of {owner} must not contain IDMap: ids are managed by ragkit.")
        if self.nprobe is not None:
            check_int(owner, "nprobe", self.nprobe, low=1)
        if self.ef_search is not None:
            check_int(owner, "ef_search", self.ef_search, low=1)
        check_choice(owner, "device", self.device, ("auto", "cpu", "gpu"))


class FaissIndex:
    """A FAISS index over unit-length embedding rows, searched by inner product (cosine).

    Row ``i`` of the vectors given to :meth:`build` is chunk row ``i`` of the collection.
    On a machine where FAISS sees a GPU (and ``device`` is ``"auto"`` or ``"gpu"``), the
    index is copied to all GPUs for search; files are always written from the CPU copy.

    Example:
        >>> import numpy as np
        >>> v = np.eye(3, dtype=np.float32)
        >>> [int(r) for r in FaissIndex("Flat").build(v).search_rows(v[:1], k=1)[0].rows]
        [0]

    Raises:
        ConfigError: on an invalid factory string or parameter.
        InputError: on vectors that are not finite, unit-length float rows.
        DimensionMismatchError: on queries of another dimension than the index.
    """

    kind = "vector"

    def __init__(self, factory: str = "Flat", *, nprobe: int | None = None, ef_search: int | None = None,
                 device: Literal["auto", "cpu", "gpu"] = "auto") -> None:
        self.config = FaissConfig(factory=factory, nprobe=nprobe, ef_search=ef_search, device=device)
        self._index: Any = None
        self._gpu_index: Any = None
        self._lock = threading.Lock()

    def get_config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FaissIndex:
        return cls(**{k: v for k, v in config.items() if k != "type"})

    # -- state -----------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        self._require_built()
        return int(self._index.d)

    @property
    def ntotal(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    @property
    def on_gpu(self) -> bool:
        return self._gpu_index is not None

    def _require_built(self) -> None:
        if self._index is None:
            raise NotBuiltError("FaissIndex is empty: call build(vectors) or load it from a collection first.")

    # -- building --------------------------------------------------------------------
    def build(self, vectors: np.ndarray) -> FaissIndex:
        """Train (when the index type needs it) and add ``vectors``."""
        faiss = require("faiss", package="faiss-gpu")
        vectors = check_vectors(vectors, owner="FaissIndex.build")
        n, d = vectors.shape
        if n == 0:
            raise EmptyCorpusError("FaissIndex.build got no vectors; an index needs at least one.")
        try:
            index = faiss.index_factory(d, self.config.factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise ConfigError(
                f"The 'factory' parameter of FaissIndex is not a valid FAISS factory string for "
                f"dimension {d}: {self.config.factory!r} ({_first_line(exc)})."
            ) from exc
        if not index.is_trained:
            nlist = _ivf_lists(index, faiss)
            if nlist and n < nlist:
                raise InputError(
                    f"FaissIndex {self.config.factory!r} has {nlist} IVF lists but only {n} vectors to "
                    f"train on; use fewer lists (about 4*sqrt(n) = {max(1, int(4 * n ** 0.5))}) or 'Flat'."
                )
            try:
                index.train(vectors)
            except RuntimeError as exc:
                raise InputError(
                    f"FaissIndex {self.config.factory!r} could not be trained on {n} vectors: {_first_line(exc)}. "
                    "Quantizers need enough training vectors (PQ: at least 256 per sub-quantizer); "
                    "use 'Flat' or 'HNSW32' for small corpora."
                ) from exc
        index.add(vectors)
        ivf = _extract_ivf(index, faiss)
        if ivf is not None:
            ivf.make_direct_map()  # lets exact filtered search reconstruct rows
        self._index = index
        self._apply_search_params()
        self._gpu_index = None
        self._maybe_to_gpu()
        return self

    def _apply_search_params(self) -> None:
        faiss = require("faiss", package="faiss-gpu")
        cfg = self.config
        if cfg.nprobe is not None and _extract_ivf(self._index, faiss) is not None:
            faiss.extract_index_ivf(self._index).nprobe = cfg.nprobe
        if cfg.ef_search is not None and hasattr(self._index, "hnsw"):
            self._index.hnsw.efSearch = cfg.ef_search

    def _maybe_to_gpu(self) -> None:
        if self.config.device == "cpu":
            return
        gpus = faiss_gpu_count()
        if gpus == 0:
            if self.config.device == "gpu":
                raise ConfigError("FaissIndex(device='gpu') but FAISS sees no GPU; use device='auto' or 'cpu'.")
            return
        faiss = require("faiss", package="faiss-gpu")
        try:
            self._gpu_index = faiss.index_cpu_to_all_gpus(self._index)
        except RuntimeError as exc:  # index types without a GPU implementation (e.g. HNSW)
            if self.config.device == "gpu":
                raise ConfigError(f"FAISS cannot place {self.config.factory!r} on the GPU: {_first_line(exc)}") from exc
            logger.info("%s stays on the CPU: %s", self.config.factory, _first_line(exc))
            self._gpu_index = None

    # -- searching -------------------------------------------------------------------
    def search_rows(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Candidates]:
        """Top-``k`` rows per query vector; ``allowed`` is an optional boolean row mask.

        A filtered search returns ``min(k, allowed rows)`` hits: a selective filter is
        answered by exact search over the allowed rows, a broad one by FAISS's ID
        selector, topped up by exact search if the approximate search came back short.
        """
        check_k("FaissIndex.search_rows", k)
        self._require_built()
        queries = check_vectors(queries, owner="FaissIndex.search_rows", dimension=self.dimension)
        n = self.ntotal
        if allowed is None:
            index = self._gpu_index if self._gpu_index is not None else self._index
            scores, rows = index.search(queries, min(k, n))
            return [_candidates(s, r) for s, r in zip(scores, rows, strict=True)]
        if allowed.shape != (n,):
            raise InputError(f"allowed mask has shape {allowed.shape}, expected ({n},).")
        allowed_rows = np.flatnonzero(allowed)
        if allowed_rows.size <= _EXACT_FILTER_ROWS:
            return self._exact(queries, k, allowed_rows)
        results = self._selector_search(queries, k, allowed_rows)
        want = min(k, allowed_rows.size)
        short = [i for i, c in enumerate(results) if len(c) < want]
        if short:
            exact = self._exact(queries[short], k, allowed_rows)
            for i, c in zip(short, exact, strict=True):
                results[i] = c
        return results

    def _selector_search(self, queries: np.ndarray, k: int, allowed_rows: np.ndarray) -> list[Candidates]:
        faiss = require("faiss", package="faiss-gpu")
        selector = faiss.IDSelectorBatch(allowed_rows.astype(np.int64))
        index = self._index
        if hasattr(index, "hnsw"):
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(index.hnsw.efSearch, k))
        elif _extract_ivf(index, faiss) is not None:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=faiss.extract_index_ivf(index).nprobe)
        else:
            params = faiss.SearchParameters(sel=selector)
        scores, rows = index.search(queries, min(k, allowed_rows.size), params=params)
        return [_candidates(s, r) for s, r in zip(scores, rows, strict=True)]

    def _exact(self, queries: np.ndarray, k: int, allowed_rows: np.ndarray) -> list[Candidates]:
        if allowed_rows.size == 0:
            return [Candidates.empty() for _ in range(queries.shape[0])]
        vectors = self._index.reconstruct_batch(allowed_rows.astype(np.int64))
        scores = queries @ vectors.T
        return [top_k(row.astype(np.float64), k, allowed_rows.astype(np.int64)) for row in scores]

    # -- persistence -----------------------------------------------------------------
    def save(self, directory: Path) -> list[str]:
        """Write the CPU copy of the index to ``directory/vectors.faiss``."""
        faiss = require("faiss", package="faiss-gpu")
        self._require_built()
        faiss.write_index(self._index, str(directory / _FILE))
        return [_FILE]

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> FaissIndex:
        faiss = require("faiss", package="faiss-gpu")
        index = cls.from_config(config)
        path = directory / _FILE
        try:
            index._index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise CorruptIndexError(f"{_FILE}: FAISS cannot read it ({_first_line(exc)}).") from exc
        ivf = _extract_ivf(index._index, faiss)
        if ivf is not None:
            ivf.make_direct_map()
        index._apply_search_params()
        index._maybe_to_gpu()
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
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
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


def _candidates(scores: np.ndarray, rows: np.ndarray) -> Candidates:
    keep = rows >= 0  # FAISS pads with -1 when it finds fewer than k
    return Candidates(rows[keep].astype(np.int64), scores[keep].astype(np.float64))


def _extract_ivf(index: Any, faiss: Any) -> Any:
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
