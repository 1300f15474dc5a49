"""A corruption fuzzer: damaged files of a saved collection give a ragkit error or a search that still looks right.

A small collection (a Flat and an HNSW FAISS index, BM25, a deleted row, ``HashEmbedder``)
is saved once. Each case damages one file (manifest, chunk table, rows, FAISS files, exact
vectors, slots, FAISS metadata, BM25 files): flips a bit, overwrites 1-8 bytes with random
bytes, 0x00 or 0xFF (mostly inside the headers and footers), truncates it, or, for the
manifest, changes one value and seals it again. Same-size damage is opened with
``verify=False``; every case is also opened with ``verify=True`` after re-sealing the
manifest over the damaged file (so the checksums pass and the file readers must cope).
Every opened collection is searched (dense on both indexes, BM25, hybrid, filtered).

The only acceptable outcomes are a ``RagkitError`` or results that look like a search's;
never another exception, a crash, a hang (20 s per case) or an allocation past the cap
(each child process may map 1.5 GiB beyond what its imports take). Cases run in batches in
two child processes. The default run tries 1,500 cases (about 30 s); ``-m faults`` many more
(``RAGKIT_FUZZ_CASES``, default 10000; a few minutes, so it is also marked ``slow``).
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import random
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

import ragkit
from ragkit.store.manifest import seal_manifest
from ragkit.testing import HashEmbedder, synthetic_documents

_spec = importlib.util.spec_from_file_location("corruption_runner", Path(__file__).with_name("corruption_runner.py"))
assert _spec is not None and _spec.loader is not None
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)

WORKERS = 2


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    collection = ragkit.build_collection(
        synthetic_documents(40, seed=23), chunker=ragkit.RecursiveChunker(max_tokens=8, overlap=0, tokenizer="regex"),
        embedder=HashEmbedder(dimension=16),
        indexes={"flat": ragkit.FaissIndex("Flat", device="cpu"), "hnsw": ragkit.FaissIndex("HNSW16", device="cpu"),
                 "bm25": ragkit.BM25Index()})
    collection.delete(doc_ids=["d3"])
    return collection.save(tmp_path_factory.mktemp("fuzz") / "template")


def _offset(rng: random.Random, size: int) -> int:
    region = rng.random()
    if region < 0.4:
        return rng.randrange(min(size, 128))  # headers: magic, schema, FAISS fourcc and sizes
    if region < 0.7:
        return size - 1 - rng.randrange(min(size, 256))  # Arrow footers
    return rng.randrange(size)


def _manifest_change(rng: random.Random, manifest: dict[str, Any]) -> dict[str, Any]:
    """One value of the manifest replaced by another type or an extreme value, then sealed again."""
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in items:
            paths.append((node, key))
            walk(value)

    changed = json.loads(json.dumps(manifest))
    walk(changed)
    node, key = rng.choice(paths)
    node[key] = rng.choice([None, True, False, 0, -1, 2**63, 1e308, "", "x", "../x", [], {}, [1], {"type": "FaissIndex"},
                            "data-0000000000000000", 10**15])
    if rng.random() < 0.2 and isinstance(node, dict):
        del node[key]
    return seal_manifest(changed)


def make_cases(template: Path, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    manifest = json.loads((template / "manifest.json").read_text())
    files = [*sorted(manifest["files"]), "manifest.json"]
    sizes = {f: (template / f).stat().st_size for f in files}
    cases = []
    while len(cases) < n:
        rel = rng.choice(files)
        size = sizes[rel]
        kind = rng.choice(["flip", "overwrite", "overwrite", "truncate"] + (["json"] if rel == "manifest.json" else []))
        case: dict[str, Any] = {"file": rel, "kind": "bytes"}
        if kind == "truncate":
            case.update(kind="truncate", size=rng.randrange(size))
        elif kind == "json":
            case.update(kind="replace", data=json.dumps(_manifest_change(rng, manifest)).encode().hex())
        elif kind == "flip":
            at = _offset(rng, size)
            original = (template / rel).read_bytes()[at]
            case.update(offset=at, data=bytes([original ^ (1 << rng.randrange(8))]).hex())
        else:
            length = rng.randint(1, 8)
            at = min(_offset(rng, size), max(size - length, 0))
            fill = rng.choice(["random", "zero", "ones"])
            patch = bytes(rng.randrange(256) for _ in range(length)) if fill == "random" else bytes([0 if fill == "zero" else 255] * length)
            if (template / rel).read_bytes()[at:at + length] == patch:
                continue  # no damage at all
            case.update(offset=at, data=patch.hex())
        modes = [(True, True)] if rel != "manifest.json" else [(True, False), (False, False)]
        if kind != "truncate" and rel != "manifest.json":
            modes.append((False, False))  # same size: only the checksums could tell
        if rel != "manifest.json" and rng.random() < 0.1:
            modes.append((True, False))  # checksums on, not re-sealed: always detected
        for verify, reseal in modes:
            cases.append({**case, "id": f"{len(cases)} {rel} {kind} {case.get('offset', case.get('size', ''))} verify={verify}",
                          "verify": verify, "reseal": reseal, "mutation": kind})
    return cases[:n]


def run_fuzz(template: Path, tmp_path: Path, n: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cases = make_cases(template, n, seed)
    outcomes: list[dict[str, Any]] = []
    lock = threading.Lock()

    def work(part: list[dict[str, Any]], root: Path) -> None:
        shutil.copytree(template, root)
        for result in runner.run_cases([{**c, "root": str(root)} for c in part]):
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=work, args=(cases[i::WORKERS], tmp_path / f"work-{i}")) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return cases, outcomes


def check(cases: list[dict[str, Any]], outcomes: list[dict[str, Any]]) -> collections.Counter[str]:
    by_id = {c["id"]: c for c in cases}
    assert len(outcomes) == len(cases)
    bad = [o for o in outcomes if o["outcome"] not in ("ok",) and not o["ragkit"]]
    assert not bad, [(o["id"], o["outcome"], o["message"]) for o in bad[:10]]
    unsealed = [o for o in outcomes if by_id[o["id"]]["verify"] and not by_id[o["id"]]["reseal"]
                and by_id[o["id"]]["file"] != "manifest.json" and o["outcome"] != "CorruptIndexError"]
    assert not unsealed, unsealed[:5]  # with checksums on, damage to a data file is always detected
    counts = collections.Counter(o["outcome"] for o in outcomes)
    by_file: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for o in outcomes:
        case = by_id[o["id"]]
        by_file[case["file"].split("/", 1)[-1]][f"{o['outcome']} (verify={case['verify']})"] += 1
    summary = {"cases": len(cases), "outcomes": dict(counts.most_common()),
               "by file": {f: dict(c.most_common()) for f, c in sorted(by_file.items())},
               "slowest case (s)": max(o["seconds"] for o in outcomes)}
    print("\ncorruption fuzzer:", json.dumps(summary, indent=1))
    return counts


def test_a_bounded_fuzz_run_finds_only_ragkit_errors(template: Path, tmp_path: Path) -> None:
    cases, outcomes = run_fuzz(template, tmp_path, n=int(os.environ.get("RAGKIT_FUZZ_QUICK", "1500")), seed=1)
    counts = check(cases, outcomes)
    assert counts["CorruptIndexError"] > 0 and counts["ok"] > 0


@pytest.mark.faults
@pytest.mark.slow  # minutes: only with -m faults (or a full run), not in the default -m "not slow"
def test_a_long_fuzz_run_finds_only_ragkit_errors(template: Path, tmp_path: Path) -> None:
    cases, outcomes = run_fuzz(template, tmp_path, n=int(os.environ.get("RAGKIT_FUZZ_CASES", "10000")), seed=2)
    check(cases, outcomes)
