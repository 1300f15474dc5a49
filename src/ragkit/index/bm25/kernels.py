"""Compiled BM25 kernels (numba): posting weights, term lookup, scoring with top-k.

Imported lazily (numba costs ~0.3 s to import) and compiled once per machine: ``cache=True``
keeps the machine code beside this file (or in numba's user cache when that is read-only),
so a later process loads it in milliseconds.

Every loop here is over postings, rows or bytes of one array; Python never loops per
document or per term.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["SCAN_BLOCK", "VARIANT_CODES", "dense_scores", "lookup_terms", "posting_weights", "search", "search_tokens", "term_table"]

#: Kernel code of each BM25 variant (the formulas of :func:`tf_weight`).
VARIANT_CODES = {"lucene": 0, "okapi": 1, "bm25+": 2, "bm25l": 3}
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
#: Rows per block of the dense scan (one block maximum decides whether its rows are looked at).
SCAN_BLOCK = 16  # _block_maxima unrolls a block of 16


@njit(cache=True, nogil=True)
def tf_weight(code: int, tf: float, norm: float, k1: float, delta: float) -> float:  # pragma: no cover - compiled
    """Saturated term-frequency weight of one posting (multiply by the term's IDF).

    ``norm`` is the row's length normalisation ``1 - b + b * length / avgdl`` (1 when the
    average length is 0).
    """
    if code == 0:  # lucene
        return tf / (tf + k1 * norm)
    if code == 1:  # okapi
        return tf * (k1 + 1.0) / (tf + k1 * norm)
    if code == 2:  # bm25+
        return delta + tf * (k1 + 1.0) / (tf + k1 * norm)
    ctd = tf / norm  # bm25l
    return (k1 + 1.0) * (ctd + delta) / (k1 + ctd + delta)


@njit(cache=True, nogil=True)
def posting_weights(code: int, indptr: np.ndarray, rows: np.ndarray, tf: np.ndarray, norm: np.ndarray,
                    term_idf: np.ndarray, k1: float, delta: float) -> tuple[np.ndarray, int]:  # pragma: no cover
    """idf * saturated tf of every posting (float64), in one pass; and the first bad posting (-1: none).

    A posting whose row lies outside ``norm`` (a corrupt file) stops the pass and is reported.
    """
    out = np.empty(rows.shape[0], dtype=np.float64)
    n_rows = norm.shape[0]
    for t in range(indptr.shape[0] - 1):
        w_idf = term_idf[t]
        for p in range(indptr[t], indptr[t + 1]):
            r = rows[p]
            if r < 0 or r >= n_rows:
                return out, p
            out[p] = w_idf * tf_weight(code, float(tf[p]), norm[r], k1, delta)
    return out, -1


@njit(cache=True, nogil=True)
def _hash(data: np.ndarray, start: int, stop: int) -> np.uint64:  # pragma: no cover - compiled
    """FNV-1a over ``data[start:stop]`` (UTF-8 bytes of one term)."""
    h = _FNV_OFFSET
    for i in range(start, stop):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def term_table(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """An open-addressing hash table of the terms (``offsets``/``data``: an Arrow string array's buffers).

    Slot values are term id + 1 (0: empty); the table has a power-of-two size at least twice
    the number of terms, so a probe sequence ends quickly.
    """
    n = offsets.shape[0] - 1
    size = 16
    while size < 2 * n:
        size *= 2
    slots = np.zeros(size, dtype=np.int64)
    mask = np.uint64(size - 1)
    for t in range(n):
        i = _hash(data, offsets[t], offsets[t + 1]) & mask
        while slots[i] != 0:
            i = (i + np.uint64(1)) & mask
        slots[i] = t + 1
    return slots


@njit(cache=True, nogil=True)
def _same(data: np.ndarray, a0: int, a1: int, q_data: np.ndarray, b0: int, b1: int) -> bool:  # pragma: no cover
    if a1 - a0 != b1 - b0:
        return False
    for i in range(a1 - a0):  # noqa: SIM110 - a loop compiles; a generator does not
        if data[a0 + i] != q_data[b0 + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def lookup_terms(slots: np.ndarray, offsets: np.ndarray, data: np.ndarray, q_lengths: np.ndarray, q_data: np.ndarray,
                 counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Term ids of query tokens (``q_data``: their UTF-8 bytes, ``q_lengths`` bytes each; query ``q``
    has ``counts[q]`` tokens), unknown tokens dropped; returns the ids and each query's span in them
    (CSR offsets).

    With no ``q_lengths`` (an empty array) the tokens in ``q_data`` are separated by one 0 byte
    each (a token holding none: the caller checks), and their lengths are found here.
    """
    nq = counts.shape[0]
    total = 0
    for q in range(nq):
        total += counts[q]
    separated = q_lengths.shape[0] == 0
    ids = np.empty(total, dtype=np.int64)
    q_indptr = np.zeros(nq + 1, dtype=np.int64)
    mask = np.uint64(slots.shape[0] - 1)
    j, n, b1 = 0, 0, 0
    for q in range(nq):
        for _ in range(counts[q]):
            if separated:
                b0 = b1 + 1 if j > 0 else 0  # past the separator
                b1 = b0
                while b1 < q_data.shape[0] and q_data[b1] != 0:
                    b1 += 1
            else:
                b0 = b1
                b1 = b0 + q_lengths[j]
            j += 1
            i = _hash(q_data, b0, b1) & mask
            while slots[i] != 0:
                t = slots[i] - 1
                if _same(data, offsets[t], offsets[t + 1], q_data, b0, b1):
                    ids[n] = t
                    n += 1
                    break
                i = (i + np.uint64(1)) & mask
        q_indptr[q + 1] = n
    return ids[:n], q_indptr


@njit(cache=True, nogil=True, inline="always")
def _better(s1: float, r1: int, s2: float, r2: int) -> bool:  # pragma: no cover - compiled
    """Ranking order: a higher score first, ties by lower row."""
    return s1 > s2 or (s1 == s2 and r1 < r2)


@njit(cache=True, nogil=True, inline="always")
def _sift_down(hs: np.ndarray, hr: np.ndarray, i: int, size: int) -> None:  # pragma: no cover - compiled
    """Restore the heap below ``i``; the root holds the worst kept entry."""
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        worst = left
        right = left + 1
        if right < size and _better(hs[worst], hr[worst], hs[right], hr[right]):
            worst = right
        if _better(hs[worst], hr[worst], hs[i], hr[i]):
            return
        hs[i], hs[worst] = hs[worst], hs[i]
        hr[i], hr[worst] = hr[worst], hr[i]
        i = worst


@njit(cache=True, nogil=True, inline="always")
def _sift_up(hs: np.ndarray, hr: np.ndarray, i: int) -> None:  # pragma: no cover - compiled
    while i > 0:
        parent = (i - 1) // 2
        if not _better(hs[parent], hr[parent], hs[i], hr[i]):
            return
        hs[i], hs[parent] = hs[parent], hs[i]
        hr[i], hr[parent] = hr[parent], hr[i]
        i = parent


@njit(cache=True, nogil=True)
def _block_max(scores: np.ndarray, start: int, stop: int) -> float:  # pragma: no cover - compiled
    m = scores[start]
    for i in range(start + 1, stop):
        m = max(m, scores[i])
    return m


@njit(cache=True, nogil=True)
def _block_maxima(scores: np.ndarray, n_rows: int, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[b]``: the maximum of the :data:`SCAN_BLOCK` (16) rows from ``b * 16`` (fewer in the last block).

    A full block's maximum is a tree of pairwise maxima (independent comparisons the processor
    overlaps: ~1.5x a running maximum, which waits on each comparison before the next).
    """
    full = n_rows // SCAN_BLOCK
    for b in range(full):
        s = scores[b * SCAN_BLOCK:(b + 1) * SCAN_BLOCK]
        m0, m1, m2, m3 = max(s[0], s[1]), max(s[2], s[3]), max(s[4], s[5]), max(s[6], s[7])
        m4, m5, m6, m7 = max(s[8], s[9]), max(s[10], s[11]), max(s[12], s[13]), max(s[14], s[15])
        out[b] = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    if full < out.shape[0]:
        out[full] = _block_max(scores, full * SCAN_BLOCK, n_rows)


@njit(cache=True, nogil=True)
def _kth_largest(values: np.ndarray, k: int, heap: np.ndarray, heap_at: np.ndarray, low: float) -> float:  # pragma: no cover
    """The ``k``-th largest of ``values`` (-inf when there are fewer), known to be at least ``low`` (smaller values
    are skipped); ``heap``/``heap_at``: scratch of ``k`` for :func:`_offer`."""
    size = 0
    for i in range(values.shape[0]):
        v = values[i]
        if v >= low and (size < k or v > heap[0]):
            size = _offer(heap, heap_at, size, k, v, i)
    return heap[0] if size == k else -np.inf


@njit(cache=True, nogil=True)
def _group_bound(maxima: np.ndarray, k: int) -> float:  # pragma: no cover - compiled
    """A score at least ``k`` rows reach: the least of the maxima of ``k`` disjoint groups of blocks (-inf when
    there are fewer than ``k`` blocks). Branch-free, unlike the exact ``k``-th largest block maximum."""
    nb = maxima.shape[0]
    if nb < k:
        return -np.inf
    g = nb // k
    bound = np.inf
    for j in range(k):
        m = maxima[j * g]
        for b in range(j * g + 1, (j + 1) * g):
            m = max(m, maxima[b])
        bound = min(bound, m)
    return bound


@njit(cache=True, nogil=True)
def _select_blocks(scores: np.ndarray, n_rows: int, k: int, floor: float, hs: np.ndarray, hr: np.ndarray,
                   maxima: np.ndarray, heap: np.ndarray, heap_at: np.ndarray) -> int:  # pragma: no cover
    """The ``k`` best rows scoring above ``floor`` into the heap ``hs``/``hr`` (every row a candidate); their count.

    Two passes: each block's maximum, then the ``k``-th largest of those maxima, ``v``. At least ``k``
    rows score ``v`` or more (each of ``k`` blocks holds one), so a block whose maximum is below ``v``
    holds no row of the top ``k``; only the others (about ``k`` blocks) are looked at, in ascending rows.
    """
    _block_maxima(scores, n_rows, maxima)
    v = max(_kth_largest(maxima, k, heap, heap_at, _group_bound(maxima, k)), floor)
    size = 0
    threshold = floor  # below v until k rows are kept; then the worst kept, at least v
    for b in range(maxima.shape[0]):
        if maxima[b] < v or maxima[b] <= threshold:
            continue
        for r in range(b * SCAN_BLOCK, min(b * SCAN_BLOCK + SCAN_BLOCK, n_rows)):
            s = scores[r]
            if s >= v and s > threshold:  # a row below v is not among the k best
                size = _offer(hs, hr, size, k, s, r)
                if size == k:
                    threshold = hs[0]
    return size


@njit(cache=True, nogil=True, inline="always")
def _offer(hs: np.ndarray, hr: np.ndarray, size: int, k: int, s: float, r: int) -> int:  # pragma: no cover
    """Keep ``(s, r)`` in the heap of the ``k`` best (it beats the worst kept when full); the new size."""
    if size < k:
        hs[size], hr[size] = s, r
        _sift_up(hs, hr, size)
        return size + 1
    hs[0], hr[0] = s, r
    _sift_down(hs, hr, 0, size)
    return size


@njit(cache=True, nogil=True)
def search(indptr: np.ndarray, rows: np.ndarray, weights: np.ndarray, n_rows: int, terms: np.ndarray,
           q_indptr: np.ndarray, k: int, allowed: np.ndarray, use_mask: bool, keep_zero: bool, scores: np.ndarray,
           seen: np.ndarray, touched: np.ndarray, out_rows: np.ndarray, out_scores: np.ndarray,
           counts: np.ndarray, term_dense: np.ndarray, dense_w: np.ndarray) -> None:  # pragma: no cover - compiled
    """Top-``k`` rows of each query (``terms[q_indptr[q]:q_indptr[q+1]]``, duplicates counted).

    A row is a candidate when it holds a query term (and ``allowed[row]`` where ``use_mask``);
    without ``keep_zero`` a candidate scoring exactly 0 is dropped (only terms the statistics
    do not know matched it). Scores sum in query-term order, then posting order.
    ``scores``/``seen``/``touched`` are zeroed scratch of at least the row count, left zeroed.

    A query whose postings are few next to the rows lists the rows it touches and selects
    among them; one with many adds without a branch per posting (a term with a dense row,
    ``dense_w[term_dense[t]]``, as one vectorised pass; not for Okapi), then selects by blocks of
    :data:`SCAN_BLOCK` rows and clears the scores at once. When every row is a candidate (no
    mask, not Okapi) it looks only at the blocks whose maximum reaches the ``k``-th largest
    block maximum (:func:`_select_blocks`: about ``k`` blocks); otherwise at each block whose
    maximum beats the worst row kept so far. Only
    Okapi (``keep_zero``) needs ``seen``: the other variants' weights are positive, so a row
    was touched exactly when its score is not 0. Selection keeps a heap of the ``k`` best
    behind a threshold (its worst score).

    Writes query ``q``'s rows and scores, best first, to ``out_rows[q, :counts[q]]`` and
    ``out_scores[q, :counts[q]]`` (``(nq, k)`` arrays; cells past the count are left as they were).
    """
    nq = q_indptr.shape[0] - 1
    floor = -np.inf if keep_zero else 0.0
    maxima = np.empty((n_rows + SCAN_BLOCK - 1) // SCAN_BLOCK, dtype=np.float64)
    heap, heap_at = np.empty(k, dtype=np.float64), np.empty(k, dtype=np.int64)
    for q in range(nq):
        total = 0
        for j in range(q_indptr[q], q_indptr[q + 1]):
            total += indptr[terms[j] + 1] - indptr[terms[j]]
        dense = total * 4 >= n_rows
        m = 0
        for j in range(q_indptr[q], q_indptr[q + 1]):
            t = terms[j]
            if dense and keep_zero:
                for p in range(indptr[t], indptr[t + 1]):
                    scores[rows[p]] += weights[p]
                    seen[rows[p]] = True
            elif dense and t < term_dense.shape[0] and term_dense[t] >= 0:  # the term's weights as a dense row
                row = dense_w[term_dense[t]]
                for r in range(n_rows):
                    scores[r] += row[r]
            elif dense:
                for p in range(indptr[t], indptr[t + 1]):
                    scores[rows[p]] += weights[p]
            else:
                for p in range(indptr[t], indptr[t + 1]):
                    r = rows[p]
                    w = weights[p]
                    if keep_zero:
                        if not seen[r]:
                            seen[r] = True
                            touched[m] = r
                            m += 1
                    elif w == 0.0:  # weights are positive but for terms the statistics do not know
                        continue
                    elif scores[r] == 0.0:  # first touch: every earlier weight was positive
                        touched[m] = r
                        m += 1
                    scores[r] += w
        hs, hr = out_scores[q], out_rows[q]
        size = 0
        threshold = floor  # the worst kept score once k are kept; candidates must beat it
        if dense and not keep_zero and not use_mask:  # every row a candidate: select among about k blocks
            size = _select_blocks(scores, n_rows, k, floor, hs, hr, maxima, heap, heap_at)
            scores[:n_rows] = 0.0
        elif dense:
            for b0 in range(0, n_rows, SCAN_BLOCK):
                b1 = min(b0 + SCAN_BLOCK, n_rows)
                if _block_max(scores, b0, b1) <= threshold:  # no row of the block beats the worst kept
                    continue
                for r in range(b0, b1):  # ascending rows: an equal score never beats a kept (lower) row
                    s = scores[r]
                    if s > threshold and not (keep_zero and not seen[r]) and not (use_mask and not allowed[r]):
                        size = _offer(hs, hr, size, k, s, r)
                        if size == k:
                            threshold = hs[0]
            scores[:n_rows] = 0.0
            if keep_zero:
                seen[:n_rows] = False
        else:
            for i in range(m):
                r = touched[i]
                s = scores[r]
                if (s > threshold or (s == threshold and size == k and r < hr[0])) and not (use_mask and not allowed[r]):
                    size = _offer(hs, hr, size, k, s, r)
                    if size == k:
                        threshold = hs[0]
                scores[r] = 0.0
                seen[r] = False
        counts[q] = size
        for end in range(size - 1, 0, -1):  # heap sort: the worst goes last, leaving best first
            hs[0], hs[end] = hs[end], hs[0]
            hr[0], hr[end] = hr[end], hr[0]
            _sift_down(hs, hr, 0, end)


@njit(cache=True, nogil=True)
def search_tokens(slots: np.ndarray, offsets: np.ndarray, data: np.ndarray, q_lengths: np.ndarray, q_data: np.ndarray,
                  q_counts: np.ndarray, indptr: np.ndarray, rows: np.ndarray, weights: np.ndarray, n_rows: int, k: int,
                  allowed: np.ndarray, use_mask: bool, keep_zero: bool, scores: np.ndarray, seen: np.ndarray,
                  touched: np.ndarray, out_rows: np.ndarray, out_scores: np.ndarray, counts: np.ndarray,
                  term_dense: np.ndarray, dense_w: np.ndarray) -> None:  # pragma: no cover - compiled
    """:func:`lookup_terms` then :func:`search` in one call from Python instead of two (each call pays ~0.2 µs,
    ~0.05 µs per argument and ~0.3 µs per array it returns: most of a single query's time in the kernels)."""
    terms, q_indptr = lookup_terms(slots, offsets, data, q_lengths, q_data, q_counts)
    search(indptr, rows, weights, n_rows, terms, q_indptr, k, allowed, use_mask, keep_zero, scores, seen, touched,
           out_rows, out_scores, counts, term_dense, dense_w)


@njit(cache=True, nogil=True)
def dense_scores(indptr: np.ndarray, rows: np.ndarray, weights: np.ndarray, terms: np.ndarray, q_indptr: np.ndarray,
                 n_rows: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Scores of each query against every row (summed in :func:`search`'s order) and which rows matched: ``(nq, n_rows)``."""
    nq = q_indptr.shape[0] - 1
    scores = np.zeros((nq, n_rows), dtype=np.float64)
    matched = np.zeros((nq, n_rows), dtype=np.bool_)
    for q in range(nq):
        for j in range(q_indptr[q], q_indptr[q + 1]):
            t = terms[j]
            for p in range(indptr[t], indptr[t + 1]):
                scores[q, rows[p]] += weights[p]
                matched[q, rows[p]] = True
    return scores, matched
