"""The FAISS on-disk layout, read field by field without allocating from it.

:class:`FaissLayout` reads the fixed fields and the vectors (a ``size_t`` count, then the
data) of a FAISS index file held in a memory map, refusing every count that does not fit in
the bytes that follow, and checks the parts shared by several index types (index header,
product and scalar quantizers, HNSW graph, direct map, inverted lists, vector transforms,
RaBitQ) for internal consistency. :mod:`ragkit.index.vector.header` walks whole index types
with it.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass

import numpy as np

from ragkit.core.errors import CorruptIndexError

__all__ = ["MAX_DEPTH", "MAX_DIM", "FaissLayout", "Part"]

MAX_DEPTH = 8
_MAX_EF = 1 << 24  # HNSW search/construction queue; FAISS allocates it per search
MAX_DIM = 1 << 20
# scalar quantizer types: derived code size and number of trained floats (per dimension or in all)
_SQ = {0: ("8bit", 8, "d2"), 1: ("4bit", 4, "d2"), 2: ("8bit_uniform", 8, "2"), 3: ("4bit_uniform", 4, "2"), 4: ("fp16", 16, "0"),
       5: ("8bit_direct", 8, "0"), 6: ("6bit", 6, "d2"), 7: ("bf16", 16, "0"), 8: ("8bit_direct_signed", 8, "0")}
_LINEAR = ("rrot", "PCAm", "PcAm", "Pcam", "Viqm", "LTra")


@dataclass(frozen=True)
class Part:
    """What a checked (sub-)index holds."""

    d: int
    ntotal: int
    code_size: int = 0  # bytes per vector where the type has one (PQ: for HNSW storage checks)
    pq: tuple[int, int] | None = None  # (M, nbits) of a PQ


class FaissLayout:
    """A cursor over a FAISS index file; every read checks that the bytes exist."""

    def __init__(self, name: str, buf: mmap.mmap) -> None:
        self.name, self.buf, self.pos, self.size = name, buf, 0, len(buf)

    # -- primitives ------------------------------------------------------------------
    def fail(self, what: str, problem: str) -> CorruptIndexError:
        return CorruptIndexError(f"{self.name}: {what} (at byte {self.pos}) {problem}; the file is damaged or not the "
                                 "FAISS index this collection wrote. Restore it or rebuild the collection.")

    def take(self, n: int, what: str) -> int:
        if n < 0 or n > self.size - self.pos:
            raise self.fail(what, f"needs {n} bytes but only {self.size - self.pos} remain")
        at = self.pos
        self.pos += n
        return at

    def scalar(self, fmt: str, what: str) -> int | float:
        at = self.take(struct.calcsize(fmt), what)
        return struct.unpack_from("<" + fmt, self.buf, at)[0]  # type: ignore[no-any-return]

    def i32(self, what: str) -> int:
        return int(self.scalar("i", what))

    def u64(self, what: str) -> int:
        return int(self.scalar("Q", what))

    def i64(self, what: str) -> int:
        return int(self.scalar("q", what))

    def flag(self, what: str) -> bool:
        value = int(self.scalar("B", what))
        if value > 1:
            raise self.fail(what, f"is {value}, not a bool")
        return bool(value)

    def fourcc(self, what: str) -> str:
        at = self.take(4, what)
        return bytes(self.buf[at:at + 4]).decode("latin-1")

    def vector(self, itemsize: int, what: str, expect: int | None = None) -> tuple[int, int]:
        """A FAISS vector (size_t count, then data): its offset and count, checked to fit in the file."""
        count = self.u64(f"{what} length")
        if count > (self.size - self.pos) // itemsize:
            raise self.fail(what, f"declares {count} items of {itemsize} bytes but only {self.size - self.pos} bytes remain")
        if expect is not None and count != expect:
            raise self.fail(what, f"holds {count} items, expected {expect}")
        return self.take(count * itemsize, what), count

    def array(self, dtype: str, what: str, expect: int | None = None) -> np.ndarray:
        dt = np.dtype(dtype)
        at, count = self.vector(dt.itemsize, what, expect)
        return np.frombuffer(self.buf, dtype=dt, count=count, offset=at)

    def need(self, ok: bool, what: str, problem: str) -> None:
        if not ok:
            raise self.fail(what, problem)

    # -- shared parts ----------------------------------------------------------------
    def header(self, what: str) -> tuple[int, int, bool]:
        d = self.i32(f"{what} dimension")
        self.need(0 < d <= MAX_DIM, f"{what} dimension", f"is {d}")
        ntotal = self.i64(f"{what} ntotal")
        self.need(ntotal >= 0, f"{what} ntotal", f"is {ntotal}")
        self.take(16, f"{what} header")
        trained = self.flag(f"{what} is_trained")
        metric = self.i32(f"{what} metric")
        self.need(0 <= metric <= 64, f"{what} metric", f"is {metric}")
        if metric > 1:
            self.scalar("f", f"{what} metric_arg")
        return d, ntotal, trained

    def pq(self, d: int, trained: bool, what: str = "product quantizer") -> tuple[int, int, int]:
        pd, m, nbits = self.u64(f"{what} d"), self.u64(f"{what} M"), self.u64(f"{what} nbits")
        self.need(pd == d and 0 < m <= d and d % m == 0 and 0 < nbits <= 16, what, f"has d={pd}, M={m}, nbits={nbits} for {d} dims")
        self.vector(4, f"{what} centroids", d << nbits if trained else None)
        return m, nbits, (m * nbits + 7) // 8

    def sq(self, d: int, trained: bool) -> int:
        qtype = self.i32("scalar quantizer type")
        self.need(qtype in _SQ, "scalar quantizer type", f"{qtype} is unknown")
        self.take(8, "scalar quantizer range")
        self.need(self.u64("scalar quantizer d") == d, "scalar quantizer d", f"differs from the index's {d}")
        declared = self.u64("scalar quantizer code size")  # FAISS derives it again from the type; a real file agrees
        _, bits, kind = _SQ[qtype]
        self.need(declared == (d * bits + 7) // 8, "scalar quantizer code size", f"{declared} is not that of {d} {bits}-bit codes")
        n_trained = {"d2": 2 * d, "2": 2, "0": 0}[kind]
        self.vector(4, "scalar quantizer ranges", n_trained if trained else None)
        return declared

    def hnsw(self, ntotal: int, what: str = "HNSW graph") -> None:
        self.vector(8, f"{what} level probabilities")
        cum = self.array("<i4", f"{what} neighbours per level").astype(np.int64)
        levels = self.array("<i4", f"{what} levels", ntotal)
        offsets = self.array("<u8", f"{what} offsets", ntotal + 1)
        neighbours = self.array("<i4", f"{what} links")
        entry, max_level = self.i32(f"{what} entry point"), self.i32(f"{what} max level")
        ef_construction, ef_search = self.i32(f"{what} efConstruction"), self.i32(f"{what} efSearch")
        self.take(4, f"{what} header")
        self.need(cum.size > 0 and cum[0] == 0 and bool(np.all(np.diff(cum) >= 0)), f"{what} neighbours per level", "are not cumulative")
        if ntotal:
            self.need(int(levels.min()) >= 1 and int(levels.max()) < cum.size, f"{what} levels", f"lie outside 1..{cum.size - 1}")
            self.need(int(offsets[0]) == 0 and bool(np.array_equal(np.diff(offsets), cum[levels])), f"{what} offsets",
                      "do not match the levels")
            self.need(0 <= entry < ntotal and max_level == int(levels[entry]) - 1, f"{what} entry point",
                      f"{entry} (level {max_level}) is invalid")
        else:
            self.need(entry == -1 and max_level == -1, f"{what} entry point", f"{entry} (level {max_level}) in an empty graph")
        self.need(int(offsets[-1]) == neighbours.size, f"{what} links", f"number {neighbours.size}, the offsets {int(offsets[-1])}")
        if neighbours.size:
            self.need(int(neighbours.min()) >= -1 and int(neighbours.max()) < ntotal, f"{what} links", f"point outside 0..{ntotal - 1}")
        self.need(0 < ef_search <= _MAX_EF and 0 < ef_construction <= _MAX_EF, f"{what} efSearch/efConstruction",
                  f"{ef_search}/{ef_construction} out of range")

    def direct_map(self, ntotal: int, nlist: int) -> None:
        kind = int(self.scalar("B", "direct map type"))
        self.need(kind in (0, 1, 2), "direct map type", f"{kind} is unknown")
        array = self.array("<i8", "direct map", ntotal if kind == 1 else 0)
        if array.size:
            self.need(int(array.min()) >= 0 and int((array >> 32).max()) < nlist, "direct map", "points outside the lists")
        if kind == 2:
            self.vector(16, "direct map hash table", ntotal)

    def invlists(self, nlist: int, code_size: int, ntotal: int, what: str = "inverted lists",
                 blocks: tuple[int, int] | None = None) -> None:
        """Array lists (``ilar``) or, for fast-scan codes, lists of ``blocks`` = (vectors, bytes) per block (``ilbl``)."""
        kind = self.fourcc(f"{what} type")
        self.need(kind == ("ilar" if blocks is None else "ilbl"), f"{what} type", f"{kind!r} is not in-file array lists")
        self.need(self.u64(f"{what} count") == nlist, f"{what} count", f"differs from the index's {nlist} lists")
        declared = self.u64(f"{what} code size")
        self.need(declared == (code_size if blocks is None else (1 << 64) - 1), f"{what} code size", f"{declared} differs from "
                  f"the index's {code_size}")
        if blocks is not None:
            return self.block_lists(nlist, ntotal, what, blocks)
        layout = self.fourcc(f"{what} layout")
        sizes = np.zeros(nlist, dtype=np.int64)
        if layout == "full":
            sizes[:] = self.array("<u8", f"{what} sizes", nlist).astype(np.int64)
        else:
            self.need(layout == "sprs", f"{what} layout", f"{layout!r} is unknown")
            pairs = self.array("<u8", f"{what} sizes")
            self.need(pairs.size % 2 == 0 and bool(np.all(pairs[0::2] < nlist)), f"{what} sizes", "are malformed")
            sizes[pairs[0::2].astype(np.int64)] = pairs[1::2].astype(np.int64)
        self.need(bool(np.all(sizes >= 0)) and int(sizes.sum()) == ntotal, f"{what} sizes", f"do not add up to ntotal {ntotal}")
        self.need(ntotal * (code_size + 8) <= self.size - self.pos, f"{what} data", "extend past the end of the file")
        for n in sizes[sizes > 0].tolist():
            self.take(n * code_size, f"{what} codes")
            self.ids(self.take(n * 8, f"{what} ids"), n, ntotal, what)
        return None

    def block_lists(self, nlist: int, ntotal: int, what: str, blocks: tuple[int, int]) -> None:
        per_block, block_size = self.u64(f"{what} block"), self.u64(f"{what} block size")
        self.need((per_block, block_size) == blocks, f"{what} block", f"{per_block}/{block_size} differs from the index's {blocks}")
        total = 0
        for _ in range(nlist):
            at, n = self.vector(8, f"{what} ids")
            self.ids(at, n, ntotal, what)
            self.vector(1, f"{what} codes", -(-n // per_block) * block_size)
            total += n
        self.need(total == ntotal, f"{what} sizes", f"add up to {total}, not ntotal {ntotal}")

    def ids(self, at: int, n: int, ntotal: int, what: str) -> None:
        ids = np.frombuffer(self.buf, dtype="<i8", count=n, offset=at)
        if n:
            self.need(int(ids.min()) >= 0 and int(ids.max()) < ntotal, f"{what} ids", f"point outside 0..{ntotal - 1}")

    def transform(self, depth: int) -> tuple[int, int]:
        kind = self.fourcc("vector transform type")
        what = f"vector transform {kind!r}"
        if kind in _LINEAR:
            if kind in ("PCAm", "PcAm", "Pcam"):
                self.take({"PCAm": 5, "PcAm": 9, "Pcam": 13}[kind], f"{what} parameters")
                for part in ("mean", "eigenvalues", "matrix"):
                    self.vector(4, f"{what} {part}")
            elif kind == "Viqm":
                self.take(8, f"{what} parameters")
            bias = self.flag(f"{what} bias flag")
            _, n_a = self.vector(4, f"{what} matrix")
            _, n_b = self.vector(4, f"{what} bias")
        elif kind == "RmDT":
            remap = self.array("<i4", f"{what} map")
        elif kind == "VNrm":
            self.take(4, f"{what} norm")
        elif kind == "VCnt":
            _, n_mean = self.vector(4, f"{what} mean")
        elif kind == "Viqt":
            self.vector(4, f"{what} mean")
            self.flag(f"{what} PCA flag")
            self.need(depth < MAX_DEPTH, what, "is nested too deeply")
            self.transform(depth + 1)
            self.transform(depth + 1)
        else:
            raise self.fail("vector transform type", f"{kind!r} is not one ragkit checks")
        d_in, d_out, trained = self.i32(f"{what} d_in"), self.i32(f"{what} d_out"), self.flag(f"{what} is_trained")
        self.need(0 < d_in <= MAX_DIM and 0 < d_out <= MAX_DIM, what, f"maps {d_in} to {d_out} dims")
        if kind in _LINEAR and trained:
            self.need(n_a == d_in * d_out and n_b == (d_out if bias else n_b), what, f"matrix of {n_a} floats for {d_in} x {d_out}")
        elif kind == "RmDT":
            self.need(remap.size == d_out and (not remap.size or (int(remap.min()) >= -1 and int(remap.max()) < d_in)), what,
                      "map is malformed")
        elif kind == "VCnt" and trained:
            self.need(n_mean == d_in, what, f"mean has {n_mean} floats for {d_in} dims")
        if kind in ("VNrm", "VCnt"):
            self.need(d_in == d_out, what, f"maps {d_in} to {d_out} dims")
        return d_in, d_out

    # -- index types -----------------------------------------------------------------
    def rabitq(self, d: int, what: str) -> int:
        rd, code_size = self.u64(f"{what} quantizer d"), self.u64(f"{what} code size")
        self.i32(f"{what} quantizer metric")
        expected = (d + 7) // 8 + 8
        self.need(rd == d and code_size == expected, f"{what} quantizer", f"has d={rd}, code size {code_size}; expected {d}, {expected}")
        return code_size

    # -- binary indexes --------------------------------------------------------------
