"""Check what a FAISS index file declares before FAISS reads it.

FAISS's reader trusts the file: it allocates whatever a vector's 8-byte length field says
(up to 2^40 elements) before reading it, and a few fields it never re-checks (HNSW links,
inverted-list ids, scalar-quantizer code sizes) are later used as memory offsets. This
module walks the binary layout of the index types ragkit writes (``faiss/impl/index_read.cpp``:
a fourcc, then ``d, ntotal, dummy, dummy, is_trained, metric_type`` and the type's own
fields; every vector is a ``size_t`` count followed by its data) without allocating from
it, and refuses a file when any declared count does not fit in the bytes that follow, the
sizes disagree with each other, or the index does not hold the expected ``ntotal`` rows of
``dimension``. A file that passes is exactly consumed by the walk.

Checked types: Flat (IP/L2), ScalarQuantizer, PQ, PQ fast-scan, RaBitQ, HNSW over Flat/SQ/PQ,
IVF with Flat/SQ/PQ/PQ fast-scan/RaBitQ codes over any checked quantizer, pre-transforms
(OPQ, PCA, random rotation, normalisation, centring, ITQ, remapping), refinement,
IDMap/IDMap2, and binary Flat/HNSW/IVF/IDMap. Any other type is refused.
"""

from __future__ import annotations

import mmap
from pathlib import Path

from ragkit.core.errors import CorruptIndexError
from ragkit.index.vector.layout import MAX_DEPTH, MAX_DIM, FaissLayout, Part

__all__ = ["check_faiss_file"]


class _IndexWalk(FaissLayout):
    """Whole index types, float and binary, on top of the shared parts."""

    def sub(self, what: str, depth: int, d: int, ntotal: int) -> Part:
        info = self.index(depth + 1, what)
        self.need(info.d == d and info.ntotal == ntotal, what, f"holds {info.ntotal} vectors of {info.d} dims, "
                  f"its parent {ntotal} of {d}")
        return info

    def ivf(self, depth: int, what: str) -> tuple[int, int, bool, int]:
        d, ntotal, trained = self.header(what)
        nlist = self.u64(f"{what} nlist")
        self.u64(f"{what} nprobe")
        self.need(0 < nlist <= self.size, f"{what} nlist", f"is {nlist}")
        self.sub(f"{what} quantizer", depth, d, nlist)
        self.direct_map(ntotal, nlist)
        return d, ntotal, trained, nlist

    def index(self, depth: int, what: str = "index") -> Part:
        self.need(depth <= MAX_DEPTH, what, "is nested too deeply")
        kind = self.fourcc(f"{what} type")
        what = f"{what} {kind!r}"
        if kind in ("IxFI", "IxF2", "IxFl"):
            d, ntotal, _ = self.header(what)
            self.vector(4, f"{what} vectors", ntotal * d)
            return Part(d, ntotal, 4 * d)
        if kind == "IxSQ":
            d, ntotal, trained = self.header(what)
            code_size = self.sq(d, trained)
            self.vector(1, f"{what} codes", ntotal * code_size)
            return Part(d, ntotal, code_size)
        if kind in ("IxPq", "IxPo", "IxPQ"):
            d, ntotal, trained = self.header(what)
            m, nbits, code_size = self.pq(d, trained)
            self.vector(1, f"{what} codes", ntotal * code_size)
            if kind != "IxPQ":
                self.take(9, f"{what} search settings")
            return Part(d, ntotal, code_size, (m, nbits))
        if kind == "IPfs":
            d, ntotal, trained = self.header(what)
            m, nbits, _ = self.pq(d, trained)
            self.need(nbits == 4, what, f"fast-scan needs 4-bit codes, has {nbits}")
            self.take(4, f"{what} implementation")
            bbs = self.i32(f"{what} block size")
            self.take(4, f"{what} query block size")
            ntotal2, m2 = self.u64(f"{what} ntotal2"), self.u64(f"{what} M2")
            self.need(bbs > 0 and bbs % 32 == 0 and ntotal2 == -(-ntotal // bbs) * bbs and m2 == (m + 1) // 2 * 2, what,
                      f"block layout {bbs}/{ntotal2}/{m2} does not fit {ntotal} codes of M={m}")
            self.vector(1, f"{what} codes", ntotal2 * m2 // 2)
            return Part(d, ntotal)
        if kind == "Ixrq":
            d, ntotal, _ = self.header(what)
            code_size = self.rabitq(d, what)
            self.vector(1, f"{what} codes", ntotal * code_size)
            self.vector(4, f"{what} center", None)
            self.take(1, f"{what} qb")
            return Part(d, ntotal, code_size)
        if kind in ("IHNf", "IHNs", "IHNp"):
            d, ntotal, _ = self.header(what)
            self.hnsw(ntotal)
            storage = self.sub(f"{what} storage", depth, d, ntotal)
            if kind == "IHNp":
                self.need(storage.pq is not None and storage.pq[0] * 4 << (2 * storage.pq[1]) <= max(1 << 28, 16 * self.size), what,
                          "needs a PQ storage of at most 8-bit codes")
            return Part(d, ntotal)
        if kind in ("IwFl", "IwSq", "IwSQ", "IwPQ", "Iwrq", "IwPf"):
            return self.ivf_index(kind, depth, what)
        if kind == "IxPT":
            d, ntotal, _ = self.header(what)
            count = self.i32(f"{what} transform count")
            self.need(0 < count <= MAX_DEPTH, f"{what} transform count", f"is {count}")
            d_now = d
            for _ in range(count):
                d_in, d_out = self.transform(depth)
                self.need(d_in == d_now, f"{what} chain", f"feeds {d_now} dims into a transform of {d_in}")
                d_now = d_out
            self.sub(f"{what} inner index", depth, d_now, ntotal)
            return Part(d, ntotal)
        if kind == "IxRF":
            d, ntotal, _ = self.header(what)
            self.sub(f"{what} base index", depth, d, ntotal)
            self.sub(f"{what} refine index", depth, d, ntotal)
            k_factor = float(self.scalar("f", f"{what} k_factor"))
            self.need(0 < k_factor <= 1 << 16, f"{what} k_factor", f"is {k_factor}")
            return Part(d, ntotal)
        if kind in ("IxMp", "IxM2"):
            d, ntotal, _ = self.header(what)
            self.sub(f"{what} inner index", depth, d, ntotal)
            self.vector(8, f"{what} id map", ntotal)
            return Part(d, ntotal)
        raise self.fail(f"{what}", "is not an index type ragkit checks before reading")

    def ivf_index(self, kind: str, depth: int, what: str) -> Part:
        d, ntotal, trained, nlist = self.ivf(depth, what)
        if kind == "IwFl":
            code_size = 4 * d
        elif kind in ("IwSq", "IwSQ"):
            code_size = self.sq(d, trained)
            self.need(self.u64(f"{what} code size") == code_size, f"{what} code size", f"differs from the quantizer's {code_size}")
            if kind == "IwSq":
                self.flag(f"{what} by_residual")
        elif kind == "IwPQ":
            self.flag(f"{what} by_residual")
            declared = self.u64(f"{what} code size")
            code_size = self.pq(d, trained)[2]
            self.need(declared == code_size, f"{what} code size", f"{declared} differs from the quantizer's {code_size}")
        elif kind == "Iwrq":
            code_size = self.rabitq(d, what)
            self.need(self.u64(f"{what} code size") == code_size, f"{what} code size", f"differs from the quantizer's {code_size}")
            self.take(2, f"{what} settings")
        else:  # IwPf: PQ fast-scan codes in blocks
            self.flag(f"{what} by_residual")
            declared = self.u64(f"{what} code size")
            bbs, m2 = self.i32(f"{what} block size"), self.u64(f"{what} M2")
            self.take(12, f"{what} settings")
            m, nbits, code_size = self.pq(d, trained)
            self.need(nbits == 4 and declared == code_size and m2 == (m + 1) // 2 * 2 and 0 < bbs <= 1 << 16 and bbs % 32 == 0,
                      what, f"fast-scan layout (block {bbs}, M2 {m2}) does not fit 4-bit codes of {code_size} bytes")
            self.invlists(nlist, code_size, ntotal, f"{what} lists", (bbs, bbs * m2 // 2))
            return Part(d, ntotal, code_size)
        self.invlists(nlist, code_size, ntotal, f"{what} lists")
        return Part(d, ntotal, code_size)

    def binary(self, depth: int, what: str = "binary index") -> Part:
        self.need(depth <= MAX_DEPTH, what, "is nested too deeply")
        kind = self.fourcc(f"{what} type")
        what = f"{what} {kind!r}"
        d, code_size = self.i32(f"{what} dimension"), self.i32(f"{what} code size")
        ntotal = self.i64(f"{what} ntotal")
        self.need(0 < d <= MAX_DIM and d % 8 == 0 and code_size == d // 8 and ntotal >= 0, what,
                  f"declares d={d}, code size {code_size}, ntotal {ntotal}")
        self.flag(f"{what} is_trained")
        self.i32(f"{what} metric")
        if kind == "IBxF":
            self.vector(1, f"{what} codes", ntotal * code_size)
        elif kind == "IBHf":
            self.hnsw(ntotal)
            self.binary_sub(f"{what} storage", depth, d, ntotal)
        elif kind == "IBwF":
            nlist = self.u64(f"{what} nlist")
            self.u64(f"{what} nprobe")
            self.need(0 < nlist <= self.size, f"{what} nlist", f"is {nlist}")
            self.binary_sub(f"{what} quantizer", depth, d, nlist)
            self.direct_map(ntotal, nlist)
            self.invlists(nlist, code_size, ntotal, f"{what} lists")
        elif kind in ("IBMp", "IBM2"):
            self.binary_sub(f"{what} inner index", depth, d, ntotal)
            self.vector(8, f"{what} id map", ntotal)
        else:
            raise self.fail(what, "is not a binary index type ragkit checks before reading")
        return Part(d, ntotal, code_size)

    def binary_sub(self, what: str, depth: int, d: int, ntotal: int) -> None:
        info = self.binary(depth + 1, what)
        self.need(info.d == d and info.ntotal == ntotal, what, f"holds {info.ntotal} codes of {info.d} bits, its parent {ntotal} of {d}")


def check_faiss_file(path: Path, *, binary: bool, dimension: int, ntotal: int, ntotal_from: str = "the collection") -> None:
    """Refuse ``path`` unless it is a complete FAISS index of ``ntotal`` vectors of ``dimension``
    whose every declared size fits the file (see the module docstring). ``ntotal_from`` names
    the file the expected count comes from.

    Raises:
        CorruptIndexError: naming the file, the field, its byte offset and what is wrong.
    """
    name = path.name
    problem = None
    try:
        with open(path, "rb") as fh:
            if fh.seek(0, 2) == 0:
                raise CorruptIndexError(f"{name}: the file is empty; restore it or rebuild the collection.")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                try:
                    _check(name, mapped, binary=binary, dimension=dimension, ntotal=ntotal, ntotal_from=ntotal_from)
                except CorruptIndexError as exc:  # keep only the message: its traceback holds views of the mapping
                    problem = str(exc)
    except OSError as exc:
        raise CorruptIndexError(f"{name}: cannot be read ({exc}).") from exc
    if problem is not None:
        raise CorruptIndexError(problem)


def _check(name: str, mapped: mmap.mmap, *, binary: bool, dimension: int, ntotal: int, ntotal_from: str) -> None:
    walk = _IndexWalk(name, mapped)
    info = walk.binary(0) if binary else walk.index(0)
    if walk.pos != walk.size:
        raise walk.fail("the end of the index", f"is followed by {walk.size - walk.pos} unexpected bytes")
    if info.ntotal != ntotal:
        raise CorruptIndexError(f"{ntotal_from}: does not match {name} ({info.ntotal} slots): it records {ntotal}. Restore "
                                "the files or rebuild the collection.")
    if info.d != dimension:
        raise CorruptIndexError(f"{name}: dimension {info.d}, the collection records {dimension}. Restore it or rebuild the "
                                "collection.")
