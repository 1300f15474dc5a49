"""A FAISS file whose size fields lie is refused before FAISS reads it, fast and without allocating what it claims.

FAISS's reader allocates every vector its file declares (up to 2^40 elements) before
reading it: an 8-byte change to a 1.3 KB file once cost 91 s and 12.6 GiB, or a bare
``MemoryError`` under a memory cap. For every factory type, every vector-length field and
the header's dimension and row count are overwritten with huge and off-by-one values (the
file keeps its size), with ``verify=False`` and with ``verify=True`` after re-sealing the
manifest; each open runs in a child process capped at 1.5 GiB of address space above what
its imports take, and must end in ``CorruptIndexError`` within 2 s.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import pytest

import ragkit
from ragkit.index.vector.header import check_faiss_file
from ragkit.index.vector.layout import FaissLayout
from ragkit.testing import HashEmbedder, synthetic_documents

_spec = importlib.util.spec_from_file_location("corruption_runner", Path(__file__).with_name("corruption_runner.py"))
assert _spec is not None and _spec.loader is not None
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)

FACTORIES = ["Flat", "HNSW32", "IVF8,Flat", "IVF8,SQ8", "IVF8,PQ4x4", "SQ8", "PQ4x4", "HNSW16,SQ8", "OPQ4,IVF8,PQ4x4",
             "BFlat", "BHNSW32", "BIVF8"]
HUGE = [(1 << 40) - 1, 1 << 36, 1 << 31]
N_DOCS = 300


def size_fields(path: Path) -> list[tuple[int, int, str]]:
    """(offset, width, name) of every vector length and every dimension, count and code size, as the file's layout places them."""
    fields: list[tuple[int, int, str]] = []
    real_u64, real_i32, real_i64 = FaissLayout.u64, FaissLayout.i32, FaissLayout.i64

    def record(real: Any, width: int) -> Any:
        def read(self: FaissLayout, what: str) -> Any:
            at = self.pos
            value = real(self, what)
            if what.endswith(("length", "dimension", "ntotal", "nlist", "M", "nbits", "code size")):
                fields.append((at, width, what))
            return value
        return read

    try:
        FaissLayout.u64, FaissLayout.i32, FaissLayout.i64 = record(real_u64, 8), record(real_i32, 4), record(real_i64, 8)  # type: ignore[method-assign]
        binary = json.loads(path.parent.joinpath("faiss_meta.json").read_text())["factory"].startswith("B")
        check_faiss_file(path, binary=binary, dimension=16, ntotal=N_DOCS)
    finally:
        FaissLayout.u64, FaissLayout.i32, FaissLayout.i64 = real_u64, real_i32, real_i64  # type: ignore[method-assign]
    return fields


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    docs = synthetic_documents(N_DOCS, seed=5)
    chunker = ragkit.RecursiveChunker(max_tokens=64, overlap=0, tokenizer="regex")
    out = {}
    for factory in FACTORIES:
        collection = ragkit.build_collection(docs, chunker=chunker, embedder=HashEmbedder(dimension=16),
                                             indexes=[ragkit.FaissIndex(factory, device="cpu"), ragkit.BM25Index()])
        out[factory] = collection.save(tmp_path_factory.mktemp("faiss") / factory.replace(",", "_"))
    return out


def faiss_file(root: Path) -> str:
    manifest = json.loads((root / "manifest.json").read_text())
    return next(f for f in manifest["files"] if f.endswith("vectors.faiss"))


def test_every_factory_type_is_walked_exactly(collections: dict[str, Path]) -> None:
    for factory, root in collections.items():
        with ragkit.Collection.open(root, verify=False) as collection:  # the check passes on every real file
            assert len(ragkit.DenseRetriever(collection).search("babalo kalo", k=3)) == 3, factory
        assert len(size_fields(root / faiss_file(root))) >= 3, factory


def test_lying_size_fields_are_refused_fast_and_without_allocating(collections: dict[str, Path]) -> None:
    cases: list[dict[str, Any]] = []
    for factory, root in collections.items():
        rel = faiss_file(root)
        data = (root / rel).read_bytes()
        for offset, width, what in size_fields(root / rel):
            value = int.from_bytes(data[offset:offset + width], "little", signed=width == 4)
            mask = (1 << (8 * width)) - 1
            for new in [*HUGE, value + 1, value - 1]:
                patch = (new & mask).to_bytes(width, "little")
                if patch == data[offset:offset + width]:
                    continue
                for verify in (False, True):
                    cases.append({"id": f"{factory} {what} @{offset} = {new} verify={verify}", "root": str(root), "file": rel,
                                  "kind": "bytes", "offset": offset, "data": patch.hex(), "reseal": verify, "verify": verify,
                                  "huge": new in HUGE})
    assert len(cases) > 300
    outcomes = list(runner.run_cases(cases, timeout=30.0))
    by_id = {c["id"]: c for c in cases}
    failures = []
    for result in outcomes:
        case = by_id[result["id"]]
        if result["outcome"] in ("MemoryError", "hang") or result["outcome"].startswith("crash") or result["seconds"] > 2.0:
            failures.append(result)
        elif case["huge"] and result["outcome"] != "CorruptIndexError":
            failures.append(result)  # a declared size the file cannot hold is always refused
        elif result["outcome"] not in ("CorruptIndexError", "ok"):
            failures.append(result)
    assert not failures, failures[:10]
    assert sum(r["outcome"] == "CorruptIndexError" for r in outcomes) >= len(cases) * 0.9


def test_the_error_names_the_file_and_the_field(collections: dict[str, Path]) -> None:
    root = collections["Flat"]
    rel = faiss_file(root)
    offset = next(at for at, _, what in size_fields(root / rel) if what.endswith("vectors length"))
    data = bytearray((root / rel).read_bytes())
    original = bytes(data)
    data[offset:offset + 8] = struct.pack("<Q", 1 << 36)
    (root / rel).write_bytes(bytes(data))
    try:
        with pytest.raises(ragkit.CorruptIndexError, match=r"vectors.faiss: index 'IxFI' vectors .*declares 68719476736 items"):
            ragkit.Collection.open(root, verify=False)
    finally:
        (root / rel).write_bytes(original)


def test_an_unknown_index_type_is_refused(collections: dict[str, Path]) -> None:
    root = collections["Flat"]
    rel = faiss_file(root)
    original = (root / rel).read_bytes()
    (root / rel).write_bytes(b"IxZZ" + original[4:])
    try:
        with pytest.raises(ragkit.CorruptIndexError, match=r"index 'IxZZ' \(at byte 4\) is not an index type ragkit checks"):
            ragkit.Collection.open(root, verify=False)
    finally:
        (root / rel).write_bytes(original)
