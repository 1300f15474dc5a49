"""Module-level FAISS operations behind :class:`~ragkit.index.vector.faiss.FaissIndex`.

A new index from a factory string (polysemous training off), training on a sample,
adding vectors (sign bits for binary indexes), search parameters carrying an ID
selector, reading a saved index (memory-mapped where possible), IVF extraction.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.core.deps import require
from ragkit.core.errors import ConfigError, CorruptIndexError, InputError
from ragkit.core.results import Candidates
from ragkit.core.topk import top_k

__all__ = [
    "TRAIN_MIN",
    "TRAIN_PER_LIST",
    "add_vectors",
    "as_ranked",
    "bitmap_search",
    "codes",
    "exact_search",
    "extract_ivf",
    "first_line",
    "has_parameter",
    "live_state",
    "ivf_lists",
    "new_index",
    "ranked",
    "read_faiss",
    "search_block",
    "search_params",
    "skip_polysemous_training",
    "slot_candidates",
    "stored_vectors",
    "train",
]

# training sample: 40 vectors per IVF list (FAISS warns below 39) and at least 65,536 (PQ/SQ codebooks)
TRAIN_PER_LIST, TRAIN_MIN = 40, 1 << 16


def new_index(factory: str, d: int) -> Any:
    """An empty FAISS index (inner product) for the factory string; binary for ``"B..."`` factories.

    Raises:
        ConfigError: an invalid factory string, or a binary one for a dimension not divisible by 8.
    """
    faiss = require("faiss", package="faiss-cpu")
    try:
        if factory.startswith("B"):
            if d % 8:
                raise ConfigError(f"Binary index {factory!r} needs a dimension divisible by 8; got {d}.")
            return faiss.index_binary_factory(d, factory)
        index = faiss.index_factory(d, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ConfigError(
            f"The 'factory' parameter of FaissIndex is not a valid FAISS factory string for "
            f"dimension {d}: {factory!r} ({first_line(exc)})."
        ) from exc
    skip_polysemous_training(index, faiss)
    return index


def skip_polysemous_training(index: Any, faiss: Any) -> None:
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


def codes(index: Any, vectors: np.ndarray) -> np.ndarray:
    """What ``index`` takes for ``vectors``: the vectors, or their sign bits for a binary index."""
    return np.packbits(vectors > 0, axis=1) if type(index).__name__.startswith("IndexBinary") else vectors


def train(index: Any, factory: str, vectors: np.ndarray) -> None:
    """Train ``index`` when it needs it, on a random sample when ``vectors`` are many.

    Raises:
        InputError: fewer vectors than IVF lists, or FAISS could not train on them.
    """
    if index.is_trained:
        return
    faiss = require("faiss", package="faiss-cpu")
    n = vectors.shape[0]
    nlist = ivf_lists(index, faiss)
    if nlist and n < nlist:
        raise InputError(
            f"FaissIndex {factory!r} has {nlist} IVF lists but only {n} vectors to train on; use fewer lists "
            f"(about 4*sqrt(n) = {max(1, int(4 * n ** 0.5))}), 'auto', or 'Flat'."
        )
    cap = max(TRAIN_PER_LIST * nlist, TRAIN_MIN) if nlist else TRAIN_MIN
    if n > cap:  # k-means on a random sample: as good a quantizer, a fraction of the time
        vectors = vectors[np.sort(np.random.default_rng(0).choice(n, size=cap, replace=False))]
    try:
        index.train(codes(index, vectors))
    except RuntimeError as exc:
        raise InputError(
            f"FaissIndex {factory!r} could not be trained on {n} vectors: {first_line(exc)}. "
            "Quantizers need enough training vectors (PQ: at least 256 per sub-quantizer); "
            "use 'Flat', 'HNSW32' or 'auto' for small corpora."
        ) from exc


def add_vectors(index: Any, vectors: np.ndarray) -> None:
    """Append ``vectors`` to ``index`` (as sign bits for a binary index).

    Raises:
        InputError: FAISS refused them (an NSG graph needs more than 100 vectors and is built in one go).
    """
    try:
        index.add(codes(index, vectors))
    except RuntimeError as exc:
        raise InputError(f"FAISS could not add {vectors.shape[0]} vectors to this index: {first_line(exc)}. "
                         "For a small or growing corpus use 'Flat' or 'HNSW32'.") from exc


def search_params(faiss: Any, index: Any, selector: Any, k: int) -> Any:
    """Search parameters restricting ``index`` to ``selector``, keeping its breadth (HNSW: at least ``k``)."""
    if hasattr(index, "hnsw"):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(index.hnsw.efSearch, k))
    ivf = extract_ivf(index, faiss)
    if ivf is not None:
        return faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe)
    return faiss.SearchParameters(sel=selector)


def read_faiss(faiss: Any, path: Path, *, binary: bool, mmap: bool) -> tuple[Any, bool]:
    """The index in ``path`` and whether it is memory-mapped (read-only).

    Raises:
        CorruptIndexError: FAISS cannot read the file.
    """
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
        raise CorruptIndexError(f"{path.name}: FAISS cannot read it ({first_line(exc)}).") from exc


def stored_vectors(faiss: Any, index: Any) -> np.ndarray | None:
    """The float32 vectors a flat or HNSW-flat ``index`` holds, slot by slot, as a read-only view of its memory
    (valid while ``index`` lives and is unchanged); None for every other type (its codes are not the vectors)."""
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        inner = faiss.downcast_index(inner.storage)
    if type(inner) not in (faiss.IndexFlat, faiss.IndexFlatIP, faiss.IndexFlatL2) or inner.ntotal == 0:
        return None
    n, d = int(inner.ntotal), int(inner.d)
    if int(inner.code_size) != 4 * d:
        return None
    view = faiss.rev_swig_ptr(inner.get_xb(), n * d).reshape(n, d)
    view.flags.writeable = False
    return view  # type: ignore[no-any-return]


def has_parameter(index: Any, name: str) -> bool:
    """Whether ``index`` has the search parameter ``name`` (``"nprobe"`` or ``"efSearch"``)."""
    faiss = require("faiss", package="faiss-cpu")
    if name == "nprobe":
        return extract_ivf(index, faiss) is not None
    return hasattr(index, "hnsw")


def extract_ivf(index: Any, faiss: Any) -> Any:
    """The inverted-file part of ``index``, or None when it has none (binary indexes: None)."""
    if type(index).__name__.startswith("IndexBinary"):
        return None
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def ivf_lists(index: Any, faiss: Any) -> int:
    """Number of IVF lists of ``index`` (0 without an inverted file)."""
    ivf = extract_ivf(index, faiss)
    return int(ivf.nlist) if ivf is not None else 0


def first_line(exc: BaseException) -> str:
    """The last line of a FAISS error message, whitespace collapsed, at most 200 characters."""
    text = str(exc).strip().splitlines()
    return re.sub(r"\s+", " ", text[-1] if text else type(exc).__name__)[:200]


def bitmap_search(faiss: Any, index: Any, queries: np.ndarray, fetch: int, slot_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FAISS search of ``index`` restricted to the slots flagged in the boolean ``slot_ok`` (an ``IDSelectorBitmap``)."""
    bitmap = np.packbits(slot_ok, bitorder="little")  # referenced until the search returns
    selector = faiss.IDSelectorBitmap(slot_ok.shape[0], faiss.swig_ptr(bitmap))
    params = search_params(faiss, index, selector, fetch)
    return index.search(queries, fetch, params=params)  # type: ignore[no-any-return]


def search_block(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``index.search(queries, k)`` for queries already checked by :func:`~ragkit.index.vector.vectors.check_vectors`
    against the index's dimension: FAISS's SWIG call itself, without its Python wrapper's second round of checks
    and copies (microseconds a single query pays). Anything but C-contiguous float32 goes through the wrapper."""
    search_c = getattr(index, "search_c", None)
    if search_c is None or queries.dtype != np.float32 or not queries.flags.c_contiguous:
        return index.search(queries, k)  # type: ignore[no-any-return]
    n = queries.shape[0]
    scores, slots = np.empty((n, k), dtype=np.float32), np.empty((n, k), dtype=np.int64)
    ptr = _swig_ptr()
    search_c(n, ptr(queries), k, ptr(scores), ptr(slots), None)
    return scores, slots


@functools.cache
def _swig_ptr() -> Any:
    return require("faiss", package="faiss-cpu").swig_ptr


def live_state(slot_row: np.ndarray, row_slot: np.ndarray) -> tuple[bool, bool]:
    """Whether every FAISS slot holds a live row (no row deleted, no slot left behind by an upsert: an
    unfiltered FAISS search then fills k), and whether moreover every slot ``i`` holds row ``i`` (as after a
    build and appends). Every live row has a slot of its own, so with no row deleted and as many slots as
    rows, no slot is dead."""
    alive = slot_row.shape[0] == row_slot.shape[0] and bool((row_slot >= 0).all())
    return alive, alive and bool((slot_row == np.arange(slot_row.shape[0], dtype=np.int64)).all())


def slot_candidates(queries: np.ndarray, scores: np.ndarray, slots: np.ndarray, slot_row: np.ndarray,
                    vectors: np.ndarray, k: int, *, rescore: bool, identity: bool = False) -> list[Candidates]:
    """FAISS results (slots) as top-``k`` rows per query: empty and deleted slots dropped,
    scores recomputed from the exact ``vectors`` when ``rescore``. ``identity``: every slot ``i``
    holds row ``i`` (``slot_row`` is ``0..n-1``: nothing deleted or moved), so slots are rows."""
    if not rescore and slots.shape[0] == 1 and slots.shape[1] <= k:  # one query (latency-bound): checked on lists
        line = scores[0].tolist()
        if as_ranked(line, slots[0].tolist()):
            found = slots[0] if identity else slot_row[slots[0]]
            if identity or -1 not in found.tolist():  # no deleted row (slot_row holds -1 for one)
                return [Candidates(found, scores[0].astype(np.float64))]
    rows = slots if identity else slot_row[slots]  # an empty slot (-1) reads the last entry: marked -1 below
    rows[slots < 0] = -1
    if rescore:
        out = []
        for q, found in zip(queries, rows, strict=True):
            found = found[found >= 0]
            out.append(top_k((vectors[found] @ q).astype(np.float64), k, found))
        return out
    return ranked(scores.astype(np.float64), rows, k)


def as_ranked(scores: list[float], slots: list[int]) -> bool:
    """Whether one query's FAISS line is already ranked as :func:`ranked` ranks it, but for deleted rows
    (the caller checks those): no empty slot, scores strictly descending (a tie is left to :func:`ranked`
    to order by row; so is a NaN, which compares unequal to itself)."""
    return -1 not in slots and sorted(set(scores), reverse=True) == scores  # FAISS marks an empty slot -1


def ranked(scores: np.ndarray, rows: np.ndarray, k: int) -> list[Candidates]:
    """Per line of the ``(queries, width)`` blocks, the best ``k`` of its entries with a row >= 0, as
    :func:`~ragkit.core.topk.top_k` ranks them (score descending, ties: lower row), in one sort for all lines.

    FAISS returns each line sorted by score already, so when no line has a dropped entry, a tie out of
    row order or more than ``k`` entries, the blocks are used as they are."""
    if rows.shape[1] <= k and (rows >= 0).all():
        before, after = scores[:, :-1], scores[:, 1:]
        if ((before > after) | ((before == after) & (rows[:, :-1] < rows[:, 1:]))).all():
            return [Candidates(r, s) for r, s in zip(rows, scores, strict=True)]
    order = np.lexsort((rows, -scores, rows < 0), axis=1)
    rows, scores = np.take_along_axis(rows, order, axis=1), np.take_along_axis(scores, order, axis=1)
    counts = np.minimum((rows >= 0).sum(axis=1), k).tolist()
    return [Candidates(rows[i, :c], scores[i, :c]) for i, c in enumerate(counts)]


def exact_search(queries: np.ndarray, vectors: np.ndarray, rows: np.ndarray, k: int) -> list[Candidates]:
    """Exact inner products of ``queries`` against the ``vectors`` of ``rows``: top-``k`` per query."""
    if rows.size == 0:
        return [Candidates.empty() for _ in range(queries.shape[0])]
    scores = queries @ vectors[rows].T
    return [top_k(row.astype(np.float64), k, rows.astype(np.int64)) for row in scores]
