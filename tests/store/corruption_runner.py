"""Run corruption cases in child processes with an address-space cap and a per-case timeout.

A case damages one file of a saved collection (overwrites bytes, truncates it, or replaces it),
optionally re-seals the manifest over the damaged file (new size and sha256, so that even
``verify=True`` gets past the checksums), opens the collection and searches it (dense,
BM25, hybrid, filtered), then restores the file. The child reports one JSON line per case:
``ok``, ``odd`` (results that do not look like a search's: too many hits, duplicates, hits
outside the collection) or the exception's class. A child that dies (a crash) or does not
answer within the timeout (a hang) is replaced and the case recorded as ``crash`` / ``hang``.

Used by ``test_faiss_header.py`` and ``test_corruption_fuzz.py``; run as a script it is the child.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SRC = str(Path(__file__).resolve().parents[2] / "src")
QUERIES = ["babalo kalo", "kalo", "mimo tatu babalo"]


def _results_look_right(collection: Any, results: list[list[Any]], k: int) -> str | None:
    ids = set(collection.chunk_ids())
    for hits in results:
        keys = [f"{h.doc_id}#{h.position}" for h in hits]
        if len(hits) > k:
            return f"{len(hits)} hits for k={k}"
        if len(set(keys)) != len(keys):
            return "duplicate hits"
        if not set(keys) <= ids:
            return "a hit outside the collection"
    return None


def _search(root: Path, verify: bool) -> str | None:
    import ragkit

    with ragkit.Collection.open(root, verify=verify) as collection:
        problems = []
        legs: list[Any] = [ragkit.BM25Retriever(collection)]
        for name, index in collection.indexes.items():
            if index.kind == "vector":
                legs.append(ragkit.DenseRetriever(collection, index=name))
        legs.append(ragkit.HybridRetriever(collection, retrievers=legs[:2]) if len(legs) > 1 else legs[0])
        for leg in legs:
            problems.append(_results_look_right(collection, leg.search_batch(QUERIES, k=5), 5))
            problems.append(_results_look_right(collection, [leg.search(QUERIES[0], k=3, filters={"lang": "en"})], 3))
        return next((p for p in problems if p), None)


def _reseal(root: Path, relative: str) -> None:
    from ragkit.store.manifest import describe_file, seal_manifest

    path = root / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"][relative] = describe_file(root, relative)
    path.write_text(json.dumps(seal_manifest(manifest)), encoding="utf-8")


def _run_case(case: dict[str, Any]) -> dict[str, Any]:
    import time

    from ragkit.core.errors import RagkitError

    root = Path(case["root"])
    target = root / case["file"]
    manifest = root / "manifest.json"
    original, original_manifest = target.read_bytes(), manifest.read_bytes()
    start = time.perf_counter()
    try:
        data = bytearray(original)
        if case["kind"] == "truncate":
            data = data[: case["size"]]
        elif case["kind"] == "replace":
            data = bytearray.fromhex(case["data"])
        else:
            at = case["offset"]
            patch = bytes.fromhex(case["data"])
            data[at:at + len(patch)] = patch
        target.write_bytes(bytes(data))
        if case.get("reseal") and case["file"] != "manifest.json":
            _reseal(root, case["file"])
        odd = _search(root, case["verify"])
        outcome, message, ragkit_error = ("odd", odd, False) if odd else ("ok", "", False)
    except Exception as exc:  # every outcome is recorded; the parent asserts on them
        outcome, message, ragkit_error = type(exc).__name__, str(exc)[:300], isinstance(exc, RagkitError)
    finally:
        target.write_bytes(original)
        manifest.write_bytes(original_manifest)
    return {"id": case["id"], "outcome": outcome, "ragkit": ragkit_error, "message": message,
            "seconds": round(time.perf_counter() - start, 4)}


def _child(cap: int) -> None:
    import resource

    # import everything (ragkit imports FAISS, SciPy, Arrow compute and numba lazily) before capping the address space
    import faiss  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import scipy.sparse  # noqa: F401

    import ragkit

    # numba and its compiled kernels load on the first BM25 search
    import ragkit.index.bm25.kernels
    import ragkit.store.manifest  # noqa: F401

    with open("/proc/self/status", encoding="utf-8") as fh:
        size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + cap, size + cap))
    print(json.dumps({"ready": size}), flush=True)
    for line in sys.stdin:
        print(json.dumps(_run_case(json.loads(line))), flush=True)


class _Child:
    def __init__(self, cap: int) -> None:
        env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "CUDA_VISIBLE_DEVICES": ""}
        self.process = subprocess.Popen([sys.executable, __file__, str(cap)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, env=env)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def answer(self, timeout: float) -> dict[str, Any] | None:
        """The next JSON line, or None when the child died or said nothing for ``timeout`` seconds."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if line is None else json.loads(line)  # type: ignore[no-any-return]

    def send(self, case: dict[str, Any]) -> bool:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(case) + "\n")
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def run_cases(cases: Iterable[dict[str, Any]], *, cap: int = 1536 << 20, timeout: float = 20.0,
              start_timeout: float = 120.0) -> Iterator[dict[str, Any]]:
    """Yield one outcome per case, run in order in one child (replaced after a crash or hang)."""
    child: _Child | None = None
    try:
        for case in cases:
            if child is None:
                child = _Child(cap)
                ready = child.answer(start_timeout)
                assert ready is not None and "ready" in ready, "the child process did not start"
            target, manifest = Path(case["root"], case["file"]), Path(case["root"], "manifest.json")
            backup = target.read_bytes(), manifest.read_bytes()
            answer = child.answer(timeout) if child.send(case) else None
            if answer is None:  # the child died or hangs mid-case: the next case needs the files back
                code = child.process.poll()
                child.stop()
                child = None
                target.write_bytes(backup[0])
                manifest.write_bytes(backup[1])
                yield {"id": case["id"], "outcome": "hang" if code is None else f"crash ({code})", "ragkit": False,
                       "message": "", "seconds": timeout if code is None else 0.0}
            else:
                yield answer
    finally:
        if child is not None:
            child.stop()


if __name__ == "__main__":
    _child(int(sys.argv[1]))
