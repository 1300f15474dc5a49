"""The query side of BM25: term lookup without a Python dictionary, and top-k, compiled or plain.

Two paths give the same rows and the same float64 scores:

- **compiled** (``kernels.py``, numba): a hash table of the terms and one pass per batch that
  scores from the version's per-posting weights (derived once per version). Fastest once
  loaded, but loading the kernels costs ~1-1.5 s in each new process (numba's import and
  its machine-code cache).
- **plain** (:func:`lookup_plain`, :func:`top_k_plain`): Arrow's hash lookup and numpy over
  only the postings the batch touches, weighing them on the fly. Used for a small batch
  while the kernels are not loaded in this process, so a one-off query (``ragkit search``)
  answers without loading numba. It is slower per query (Arrow hashes the vocabulary on each
  call), so a process keeps it only until the time spent on it reaches the kernels' load cost
  (rent until the rent paid equals the price, then buy: never more than twice the better
  choice in hindsight). :func:`use_kernels` decides; :func:`warm_kernels` loads the kernels
  up front (``ragkit serve`` does, before its first request).
"""

from __future__ import annotations

import sys
import threading
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.arrow_io import array_numpy, encode_utf8, from_strings
from ragkit.core.errors import CorruptIndexError
from ragkit.core.results import Candidates
from ragkit.index.bm25.postings import NO_DENSE_ROWS, Postings, dense_rows, read_only, utf8_buffers
from ragkit.index.bm25.scoring import length_norm, tf_weights

__all__ = ["KERNEL_BATCH", "gather", "kernels_loaded", "lookup", "lookup_plain", "row_scores", "scratch", "term_table", "top_k",
           "search_tokens", "spent_plain", "token_bytes", "top_k_plain", "use_kernels", "warm_kernels"]

#: A batch of at least this many queries loads the compiled kernels (their cost pays off).
KERNEL_BATCH = 8
#: What loading the kernels costs a new process, about (seconds; measured 0.9-1.5 s on 2 cores): once the plain
#: path has spent this long in a process, the next query loads them.
KERNEL_LOAD_SECONDS = 1.0
_PLAIN_SPENT = [0.0]  # seconds spent on the plain path in this process

#: Result cells (queries x k) selected per kernel call; bounds a batch's memory to ~100 MB.
_BLOCK_CELLS = 1 << 23
_NO_MASK = np.ones(1, dtype=bool)
_NO_LENGTHS = np.empty(0, dtype=np.int64)  # token_bytes: lengths found by the kernel
_SCRATCH = threading.local()


def term_table(terms: pa.Array | list[str], n_terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A hash table over the first ``n_terms`` terms and their UTF-8 buffers: ``(slots, offsets, data)``.

    Built in one compiled pass (milliseconds for 200,000 terms) straight from the stored Arrow
    column, so a query after :meth:`~ragkit.index.bm25.BM25Index.load` needs no dictionary of
    the vocabulary (a Python ``dict`` took seconds to build for a large one).
    """
    from ragkit.index.bm25 import kernels

    offsets, data = utf8_buffers(terms.slice(0, n_terms) if isinstance(terms, pa.Array) else from_strings(terms[:n_terms]))
    offsets, data = read_only(offsets), read_only(data.view())  # one kind of array, built or opened (see Postings)
    return read_only(kernels.term_table(offsets, data)), offsets, data


def lookup(table: tuple[np.ndarray, np.ndarray, np.ndarray], tokens: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Term ids of each query's tokens (unknown ones dropped, duplicates kept), concatenated, and each
    query's span in them (CSR offsets, ``len(tokens) + 1``)."""
    from ragkit.index.bm25 import kernels

    counts = np.array([len(q) for q in tokens], dtype=np.int64)
    q_lengths, q_data = token_bytes([t for q in tokens for t in q])
    slots, offsets, data = table
    return kernels.lookup_terms(slots, offsets, data, q_lengths, q_data, counts)  # type: ignore[no-any-return]


def scratch(n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This thread's zeroed score, seen and touched-row buffers for ``n_rows`` rows (kernels leave them zeroed).

    One set per thread, grown to the largest index it searched (17 bytes a row).
    """
    buffers: tuple[np.ndarray, np.ndarray, np.ndarray] | None = getattr(_SCRATCH, "buffers", None)
    if buffers is None or buffers[0].shape[0] < n_rows:
        size = max(n_rows, 1)
        buffers = (np.zeros(size, dtype=np.float64), np.zeros(size, dtype=bool), np.zeros(size, dtype=np.int64))
        _SCRATCH.buffers = buffers
    return buffers


def top_k(postings: Postings, weights: np.ndarray, n_rows: int, terms: np.ndarray, q_indptr: np.ndarray, k: int,
          allowed: np.ndarray | None, *, keep_zero: bool, dense: tuple[np.ndarray, np.ndarray] = NO_DENSE_ROWS
          ) -> list[Candidates]:
    """The ``k`` best rows of each query (``terms[q_indptr[q]:q_indptr[q + 1]]``), best first, ties by lower row.

    Candidates are the rows holding a query term (and ``allowed``, a boolean row mask); without
    ``keep_zero`` a row scoring exactly 0 is dropped. ``dense``: the weights'
    :func:`~ragkit.index.bm25.postings.dense_rows`. See :func:`ragkit.index.bm25.kernels.search`.
    """
    from ragkit.index.bm25 import kernels

    buffers = scratch(n_rows)
    mask = _NO_MASK if allowed is None else np.ascontiguousarray(allowed, dtype=bool)
    kk = max(1, min(k, n_rows))
    nq = q_indptr.shape[0] - 1
    block = max(1, _BLOCK_CELLS // kk)
    results: list[Candidates] = []
    for start in range(0, nq, block):  # one call unless queries x k exceeds the block
        stop = min(start + block, nq)
        rows, vals, counts = _outputs(stop - start, kk)
        kernels.search(postings.indptr, postings.rows, weights, n_rows, terms, q_indptr[start:stop + 1], kk, mask,
                       allowed is not None, keep_zero, *buffers, rows, vals, counts, *dense)
        results.extend(_candidates(rows, vals, counts))
    return results


def search_tokens(table: tuple[np.ndarray, np.ndarray, np.ndarray], postings: Postings, weights: np.ndarray, n_rows: int,
                  tokens: list[list[str]], k: int, allowed: np.ndarray | None, *, keep_zero: bool,
                  dense: tuple[np.ndarray, np.ndarray] = NO_DENSE_ROWS) -> list[Candidates]:
    """:func:`lookup` of each query's ``tokens`` in ``table`` and :func:`top_k`, in one compiled call (one call
    per batch is what a single query costs most: each call from Python pays for its arguments and results)."""
    kernels = sys.modules.get(_KERNELS) or _load_kernels()
    kk = max(1, min(k, n_rows))
    if len(tokens) * kk > _BLOCK_CELLS:
        return top_k(postings, weights, n_rows, *lookup(table, tokens), k, allowed, keep_zero=keep_zero, dense=dense)
    buffers = scratch(n_rows)
    mask = _NO_MASK if allowed is None else np.ascontiguousarray(allowed, dtype=bool)
    if len(tokens) == 1:  # one query: its tokens as they are
        q_counts = np.array([len(tokens[0])], dtype=np.int64)
        q_lengths, q_data = token_bytes(tokens[0])
    else:
        q_counts = np.array([len(q) for q in tokens], dtype=np.int64)
        q_lengths, q_data = token_bytes(list(chain.from_iterable(tokens)))
    rows, vals, counts = _outputs(len(tokens), kk)
    kernels.search_tokens(*table, q_lengths, q_data, q_counts, postings.indptr, postings.rows, weights, n_rows, kk, mask,
                          allowed is not None, keep_zero, *buffers, rows, vals, counts, *dense)
    return _candidates(rows, vals, counts)


_KERNELS = "ragkit.index.bm25.kernels"


def _load_kernels() -> Any:
    """The compiled kernels module, imported on first use (a per-query ``import`` statement costs ~1 us)."""
    from ragkit.index.bm25 import kernels

    return kernels


def token_bytes(tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Query tokens for :func:`ragkit.index.bm25.kernels.lookup_terms`: their UTF-8 bytes joined by 0 bytes and no
    lengths (the kernel finds them), or, when a token holds a 0 byte itself, each one's byte length and the bytes
    (:func:`~ragkit.core.arrow_io.encode_utf8`). Joining costs a tenth of measuring every token in Python."""
    joined = "\x00".join(tokens)
    if tokens and joined.count("\x00") == len(tokens) - 1:
        return _NO_LENGTHS, np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    return encode_utf8(tokens)


def _outputs(nq: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uninitialised result arrays for ``nq`` queries (the kernels fill what they count)."""
    return np.empty((nq, k), dtype=np.int64), np.empty((nq, k), dtype=np.float64), np.empty(nq, dtype=np.int64)


def _candidates(rows: np.ndarray, vals: np.ndarray, counts: np.ndarray) -> list[Candidates]:
    return [Candidates(rows[i, :c], vals[i, :c]) for i, c in enumerate(counts.tolist())]


def kernels_loaded() -> bool:
    """Whether this process has loaded the compiled kernels (any BM25 build or large batch does)."""
    return "ragkit.index.bm25.kernels" in sys.modules


def use_kernels(n_queries: int) -> bool:
    """Compiled path for a batch of ``n_queries``: when the kernels are loaded, the batch is large, or this
    process has already spent :data:`KERNEL_LOAD_SECONDS` on the plain path."""
    return n_queries >= KERNEL_BATCH or kernels_loaded() or _PLAIN_SPENT[0] >= KERNEL_LOAD_SECONDS


def spent_plain(seconds: float) -> None:
    """Count ``seconds`` spent answering on the plain path (see :func:`use_kernels`)."""
    _PLAIN_SPENT[0] += seconds


def warm_kernels() -> None:
    """Load the compiled kernels now (a long-lived process calls this once, before its first query)."""
    from ragkit.index.bm25 import kernels

    table = term_table(["warm"], 1)
    terms, q_indptr = lookup(table, [["warm"]])
    postings = Postings(np.array([0, 1], dtype=np.int64), np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.int32))
    kernels.posting_weights(0, postings.indptr, postings.rows, postings.tf, np.ones(1), np.ones(1), 1.2, 0.0)
    weights = read_only(np.ones(1))
    dense = dense_rows(postings, weights, 1)
    for keep_zero, allowed in ((False, None), (True, np.ones(1, dtype=bool))):
        top_k(postings, weights, 1, terms, q_indptr, 1, allowed, keep_zero=keep_zero, dense=dense)
        search_tokens(table, postings, weights, 1, [["warm"]], 1, allowed, keep_zero=keep_zero, dense=dense)


def lookup_plain(terms: pa.Array | list[str], n_terms: int, tokens: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`lookup` without the compiled hash table: Arrow's hash lookup of the tokens among the first
    ``n_terms`` terms (O(vocabulary) per call; meant for a few queries)."""
    nq = len(tokens)
    flat = [t for q in tokens for t in q]
    q_indptr = np.zeros(nq + 1, dtype=np.int64)
    if not flat:
        return np.empty(0, dtype=np.int64), q_indptr
    vocabulary = terms.slice(0, n_terms) if isinstance(terms, pa.Array) else from_strings(terms[:n_terms])
    found = pc.index_in(from_strings(flat), value_set=vocabulary)
    ids = array_numpy(found, fill=-1).astype(np.int64, copy=False)
    known = ids >= 0
    owner = np.repeat(np.arange(nq), [len(q) for q in tokens])
    np.cumsum(np.bincount(owner[known], minlength=nq), out=q_indptr[1:])
    return ids[known], q_indptr


def top_k_plain(postings: Postings, weigh: PostingWeigher, n_rows: int, terms: np.ndarray, q_indptr: np.ndarray,
                k: int, allowed: np.ndarray | None, *, keep_zero: bool) -> list[Candidates]:
    """:func:`top_k` in numpy over only the postings the batch touches (same rows, same float64 sums).

    Every query's postings are gathered in query-term order, then posting order; the sums per
    (query, row) accumulate in that order, as the compiled pass adds them. Candidates, the
    zero rule and ties are :func:`top_k`'s.
    """
    nq = q_indptr.shape[0] - 1
    query, rows, weights = gather(postings, weigh, n_rows, terms, q_indptr)
    if rows.size == 0:
        return [Candidates.empty() for _ in range(nq)]
    cells, inverse = np.unique(query * n_rows + rows, return_inverse=True)
    scores = np.bincount(inverse.ravel(), weights=weights, minlength=cells.shape[0])
    cell_query, cell_row = np.divmod(cells, n_rows)
    keep = np.ones(cells.shape[0], dtype=bool) if keep_zero else scores > 0.0
    if allowed is not None:
        keep &= allowed[cell_row]
    cell_query, cell_row, scores = cell_query[keep], cell_row[keep], scores[keep]
    order = np.lexsort((cell_row, -scores, cell_query))  # by query, best first, ties by lower row
    cell_query, cell_row, scores = cell_query[order], cell_row[order], scores[order]
    bounds = np.searchsorted(cell_query, np.arange(nq + 1))
    kk = max(1, min(k, n_rows))
    return [Candidates(cell_row[a:min(b, a + kk)], scores[a:min(b, a + kk)])
            for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]


def gather(postings: Postings, weigh: PostingWeigher, n_rows: int, terms: np.ndarray,
           q_indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every posting of every query's terms, in query-term order then posting order: ``(query, row, weight)``.

    Raises:
        CorruptIndexError: a posting points outside the ``n_rows`` rows.
    """
    starts, stops = postings.indptr[terms], postings.indptr[terms + 1]
    lengths = stops - starts
    total = int(lengths.sum())
    first = np.zeros(lengths.shape[0], dtype=np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    positions = np.repeat(starts - first, lengths) + np.arange(total, dtype=np.int64)
    rows = postings.rows[positions].astype(np.int64)
    bad = np.flatnonzero((rows < 0) | (rows >= n_rows))
    if bad.size:
        raise CorruptIndexError(f"bm25_postings.arrow: posting {int(positions[bad[0]])} points outside the "
                                f"{n_rows} rows.")
    weights = weigh(positions, rows, np.repeat(terms, lengths))
    query = np.repeat(np.repeat(np.arange(q_indptr.shape[0] - 1, dtype=np.int64), np.diff(q_indptr)), lengths)
    return query, rows, weights


def row_scores(postings: Postings, weigh: PostingWeigher, n_rows: int, terms: np.ndarray, q_indptr: np.ndarray,
               rows: list[np.ndarray]) -> list[np.ndarray]:
    """The score of each of ``rows[q]`` for query ``q`` (0 where the row holds none of its terms), float64.

    Sums in the order :func:`top_k` adds, over the query's postings only (O(its postings + rows)).
    """
    nq = q_indptr.shape[0] - 1
    query, posting_rows, weights = gather(postings, weigh, n_rows, terms, q_indptr)
    sizes = np.array([r.shape[0] for r in rows], dtype=np.int64)
    wanted = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]) if nq else np.empty(0, dtype=np.int64)
    wanted_query = np.repeat(np.arange(nq, dtype=np.int64), sizes)
    asked, where = np.unique(wanted_query * n_rows + wanted, return_inverse=True)  # a row asked twice: one cell
    found = query * n_rows + posting_rows
    at = np.searchsorted(asked, found)
    hit = at < asked.shape[0]
    hit[hit] = asked[at[hit]] == found[hit]
    scores = np.bincount(at[hit], weights=weights[hit], minlength=asked.shape[0])[where.ravel()]
    return np.split(scores, np.cumsum(sizes)[:-1]) if nq else []


class PostingWeigher:
    """The weight of given postings for one version and statistics: the derived per-posting weights when the
    version has them, else IDF times saturated term frequency computed for just those postings."""

    def __init__(self, variant: str, tf: np.ndarray, doc_len: np.ndarray, term_idf: np.ndarray, avgdl: float,
                 k1: float, b: float, delta: float, derived: np.ndarray | None = None) -> None:
        self.variant, self.tf, self.doc_len, self.term_idf = variant, tf, doc_len, term_idf
        self.avgdl, self.k1, self.b, self.delta, self.derived = avgdl, k1, b, delta, derived

    def __call__(self, positions: np.ndarray, rows: np.ndarray, terms: np.ndarray) -> np.ndarray:
        if self.derived is not None:
            return self.derived[positions]  # type: ignore[no-any-return]
        norm = length_norm(self.doc_len[rows], self.avgdl, self.b)
        return self.term_idf[terms] * tf_weights(self.variant, self.tf[positions], norm, self.k1,  # type: ignore[no-any-return]
                                                 self.delta)
