"""A batch build SIGKILLed at any moment resumes to the same result as an uninterrupted build.

Each kill runs ``index_corpus`` in a forked child (``ragkit.testing.crash``) that dies at the
N-th crash point of the build (every file write, fsync, rename and removal of shard files,
the ledger, the collection saves, the layout, the record and the staging clean-up), or is
SIGKILLed from outside after a random (seeded) delay. ``index_corpus(..., resume=True)`` then
runs in this process and must give the chunk table, vectors and dense/BM25/hybrid results of
an uninterrupted build, or report the build already complete when it was. The default run
tries a spread of crash points and a few random kills; ``-m faults`` tries every point and
more random kills (run with ``-s`` to see the counts).
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit.pipeline.batch import STAGING, BuildReport
from ragkit.pipeline.commit import RECORD
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries
from ragkit.testing.crash import count_call_points, crash_call, kill_call_after

QUERIES = synthetic_queries(6, seed=5)
MODES = {"merged": False, "sharded": True}
Signature = dict[str, Any]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    docs = synthetic_documents(30, seed=3)
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in docs), encoding="utf-8")
    return path


def build(corpus: Path, out: Path, sharded: bool, embedder: HashEmbedder | None = None, **options: Any) -> BuildReport:
    return ragkit.index_corpus(corpus, out, chunker=ragkit.RecursiveChunker(max_tokens=8, overlap=2, tokenizer="regex"),
                               embedder=embedder or HashEmbedder(dimension=16), shard_docs=10, progress=False,
                               keep_shards=sharded, **options)


def signature(out: Path) -> Signature:
    """Everything a user sees of a built output: chunks, every stored vector (via probes), search results."""
    collection = ragkit.open_collection(out)  # every checksum verified
    try:
        probes = HashEmbedder(dimension=16).embed_queries(QUERIES)
        scores = np.zeros((len(QUERIES), collection.num_rows))
        for q, cands in enumerate(collection.index("vector").search_rows(probes, k=collection.num_rows)):
            scores[q, cands.rows] = cands.scores
        results = {}
        for retriever in (ragkit.DenseRetriever, ragkit.BM25Retriever, ragkit.HybridRetriever):
            hits = retriever(collection).search_batch(QUERIES, k=8)
            results[retriever.__name__] = [[(h.chunk_row, h.doc_id, h.start, round(h.score, 9)) for h in q] for q in hits]
        return {"chunks": collection.chunks.to_pydict(), "scores": scores, "results": results}
    finally:
        collection.close()


def assert_same(expected: Signature, got: Signature, where: str) -> None:
    assert got["chunks"] == expected["chunks"], f"{where}: chunk tables differ"
    np.testing.assert_array_equal(got["scores"], expected["scores"], err_msg=f"{where}: vectors differ")
    assert got["results"] == expected["results"], f"{where}: search results differ"


def assert_clean(out: Path, sharded: bool) -> None:
    """After a finished (resumed) build: no staging folder, no leftovers of interrupted writes."""
    names = {p.name for p in out.iterdir()}
    assert STAGING not in names and RECORD in names, names
    collections = [out / n for n in names if n.startswith("shard-")] if sharded else [out]
    for root in collections:
        assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")], root
        assert len([p for p in root.iterdir() if p.name.startswith("data-")]) == 1, root
    assert not [n for n in names if n.endswith(".tmp")], names


@dataclass
class Scenario:
    """One build to kill: its mode, what the output folder holds before it starts, and the uninterrupted result."""

    sharded: bool
    expected: Signature
    points: list[str]  # the build's crash points, in order
    seconds: float  # how long the build takes in a forked child
    base: Path | None = None  # an output of other settings the build replaces (None: a new folder)

    def prepare(self, out: Path) -> None:
        if self.base is not None:
            shutil.copytree(self.base, out)


def build_seconds(corpus: Path, root: Path, scenario: Scenario, runs: int = 3) -> float:
    """The fastest of ``runs`` builds in a forked child (as the kills run them), each into a fresh folder."""
    timings = []
    for n in range(runs):
        out = root / f"timed-{n}"
        scenario.prepare(out)
        start = time.perf_counter()
        assert not kill_call_after(lambda: build(corpus, out, scenario.sharded), delay=600)  # noqa: B023
        timings.append(time.perf_counter() - start)
    return min(timings)


def _scenario(corpus: Path, root: Path, sharded: bool, base: Path | None) -> Scenario:
    straight = root / "straight"
    scenario = Scenario(sharded, {}, [], 0.0, base)
    scenario.prepare(straight)
    build(corpus, straight, sharded)
    scenario.expected = signature(straight)
    scenario.prepare(root / "traced")
    scenario.points = count_call_points(lambda: build(corpus, root / "traced", sharded))
    scenario.seconds = build_seconds(corpus, root, scenario)
    return scenario


@pytest.fixture(scope="module")
def scenarios(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    """Per mode: a build into a new folder, and a rebuild over a complete output made with other settings."""
    out = {}
    for mode, sharded in MODES.items():
        out[mode] = _scenario(corpus, tmp_path_factory.mktemp(f"new-{mode}"), sharded, None)
        old = tmp_path_factory.mktemp(f"old-{mode}") / "out"
        build(corpus, old, sharded, HashEmbedder(dimension=8))  # other settings: its vectors must all go
        out[f"rebuild-{mode}"] = _scenario(corpus, tmp_path_factory.mktemp(f"rebuild-{mode}"), sharded, old)
    return out


def resume_and_check(corpus: Path, out: Path, scenario: Scenario, where: str) -> str:
    """Resume the build in ``out``; check it against the uninterrupted one; returns the outcome."""
    embedder = HashEmbedder(dimension=16)
    report = build(corpus, out, scenario.sharded, embedder, resume=True)
    assert_same(scenario.expected, signature(out), where)
    assert_clean(out, scenario.sharded)
    assert report.chunks == len(scenario.expected["chunks"]["doc_id"]) and report.documents == 30, where
    if report.already_complete:
        assert embedder.calls == 0 and "already complete" in report.summary(), where
        return "already complete"
    return "resumed"


def kill_at_points(corpus: Path, tmp_path: Path, name: str, scenario: Scenario,
                   pick: Callable[[int, str], bool]) -> Counter[str]:
    tally: Counter[str] = Counter()
    points = scenario.points
    for n, label in enumerate(points, start=1):
        if not pick(n, label):
            continue
        out = tmp_path / f"{name}-{n}"
        scenario.prepare(out)
        assert crash_call(lambda: build(corpus, out, scenario.sharded), kill_at=n), f"point {n} ({label}) not reached"  # noqa: B023
        tally["kills"] += 1
        tally[resume_and_check(corpus, out, scenario, f"{name} point {n}/{len(points)} ({label})")] += 1
        shutil.rmtree(out)
    print(f"\n{name}: {len(points)} crash points, {dict(tally)}")
    return tally


def random_kills(corpus: Path, tmp_path: Path, name: str, scenario: Scenario, kills: int, seed: int) -> Counter[str]:
    rng = np.random.default_rng(seed)
    tally: Counter[str] = Counter()
    seconds = min(scenario.seconds, build_seconds(corpus, tmp_path / f"{name}-timed", scenario))  # as fast as now
    for n in range(kills):
        delay = float(rng.uniform(0.0, seconds * 0.9))
        out = tmp_path / f"{name}-random-{n}"
        scenario.prepare(out)
        killed = kill_call_after(lambda: build(corpus, out, scenario.sharded), delay=delay)  # noqa: B023
        tally["killed" if killed else "finished before the kill"] += 1
        tally[resume_and_check(corpus, out, scenario, f"{name} random kill {n} after {delay:.3f}s")] += 1
        shutil.rmtree(out)
    print(f"\n{name}: {kills} random kills (build {seconds:.2f}s, seed {seed}): {dict(tally)}")
    return tally


SCENARIOS = [*MODES, *(f"rebuild-{m}" for m in MODES)]


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_spread_of_crash_points_resumes_to_the_same_result(corpus: Path, scenarios: dict[str, Scenario],
                                                             tmp_path: Path, name: str) -> None:
    points = scenarios[name].points
    step = max(1, len(points) // (12 if name in MODES else 5))
    tally = kill_at_points(corpus, tmp_path, name, scenarios[name], lambda n, _: n % step == 1 or n > len(points) - 4)
    assert tally["kills"] >= 8 and tally["resumed"] >= 1
    if name in MODES:
        assert tally["already complete"] >= 1


@pytest.mark.parametrize("mode", MODES)
def test_a_few_random_kills_resume_to_the_same_result(corpus: Path, scenarios: dict[str, Scenario], tmp_path: Path,
                                                      mode: str) -> None:
    random_kills(corpus, tmp_path, mode, scenarios[mode], kills=3, seed=11)


@pytest.mark.faults
@pytest.mark.parametrize("mode", MODES)
def test_every_crash_point_resumes_to_the_same_result(corpus: Path, scenarios: dict[str, Scenario], tmp_path: Path,
                                                      mode: str) -> None:
    points = scenarios[mode].points
    labels = {label.split()[0] for label in points}
    assert {"write", "fsync", "rename", "replace", "remove"} <= labels, labels
    tally = kill_at_points(corpus, tmp_path, mode, scenarios[mode], lambda n, _: True)
    assert tally["kills"] == len(points)
    assert tally["already complete"] > 0 and tally["resumed"] > 0


@pytest.mark.faults
@pytest.mark.parametrize("mode", MODES)
def test_a_rebuild_killed_over_an_old_output_resumes_to_the_new_result(corpus: Path, scenarios: dict[str, Scenario],
                                                                       tmp_path: Path, mode: str) -> None:
    """Over a complete output of other settings: every removal, commit and clean-up point, every third other point."""
    scenario = scenarios[f"rebuild-{mode}"]
    commits = [n for n, label in enumerate(scenario.points, start=1) if label.startswith(("replace", "rename"))]
    tally = kill_at_points(corpus, tmp_path, f"rebuild-{mode}", scenario,
                           lambda n, label: n % 3 == 0 or n <= 8 or n >= commits[-1] or label.startswith(("remove", "replace")))
    assert tally["kills"] >= len(scenario.points) // 3
    assert tally["already complete"] > 0 and tally["resumed"] > 0


@pytest.mark.faults
@pytest.mark.parametrize("name", SCENARIOS)
def test_random_kills_resume_to_the_same_result(corpus: Path, scenarios: dict[str, Scenario], tmp_path: Path,
                                                name: str) -> None:
    tally = random_kills(corpus, tmp_path, name, scenarios[name], kills=20, seed=2024)
    assert tally["killed"] >= 10  # the delays stay within one build's duration: most runs are killed


@pytest.mark.faults
@pytest.mark.parametrize("mode", MODES)
def test_resumes_killed_again_and_again_end_identical(corpus: Path, scenarios: dict[str, Scenario], tmp_path: Path,
                                                      mode: str) -> None:
    """Kill the build, then kill each resume too (random delays, up to 5 kills in a row), then resume to the end.

    The first kill of each chain dies at a random crash point (so every chain starts from an interrupted build,
    however fast this machine runs it); the resumes are SIGKILLed after random delays.
    """
    scenario = scenarios[mode]
    rng = np.random.default_rng(7)
    resume_kills, finished = 0, 0
    for chain in range(5):
        out = tmp_path / f"chain-{chain}"
        point = int(rng.integers(1, len(scenario.points) + 1))
        assert crash_call(lambda: build(corpus, out, scenario.sharded), kill_at=point), f"point {point} not reached"  # noqa: B023
        for _ in range(5):
            delay = float(rng.uniform(0.0, scenario.seconds))
            if not kill_call_after(lambda: build(corpus, out, scenario.sharded, resume=True), delay=delay):  # noqa: B023
                finished += 1
                break
            resume_kills += 1
        resume_and_check(corpus, out, scenario, f"{mode} chain {chain} (first kill at point {point})")
    print(f"\n{mode}: 5 chains, each killed at a crash point, then {resume_kills} resumes killed at random, "
          f"{finished} chains finished by a resume")


def test_a_child_killed_inside_a_progress_bar_lock_does_not_block_this_process() -> None:
    """The harness itself: tqdm's lock is a semaphore shared across fork unless the child gets its own."""
    import os
    import signal
    import threading

    from tqdm.auto import tqdm

    tqdm(total=1, disable=True).close()  # the parent has made its lock (and monitor) before forking

    def die_holding_the_lock() -> None:
        tqdm.get_lock().acquire()
        os.kill(os.getpid(), signal.SIGKILL)

    assert crash_call(die_holding_the_lock, kill_at=0)
    bar = threading.Thread(target=lambda: tqdm(total=1, disable=True).close(), daemon=True)
    bar.start()
    bar.join(timeout=10)
    assert not bar.is_alive(), "the killed child left tqdm's lock held: this process's next progress bar hangs"
