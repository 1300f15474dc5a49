"""Shared fixtures: tiny corpora, the deterministic fake embedder, the real SciFact data."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import ragkit
from ragkit.eval import default_data_dir
from ragkit.testing import HashEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ANIMALS = [
    ("cats", "Cats purr when they are content. A cat sleeps most of the day.", {"kind": "mammal", "legs": 4, "tags": ["pet", "feline"]}),
    ("dogs", "Dogs bark at strangers and fetch sticks. A dog is a loyal pet.", {"kind": "mammal", "legs": 4, "tags": ["pet"]}),
    ("birds", "Birds sing at dawn. Most birds can fly and build nests.", {"kind": "bird", "legs": 2, "tags": ["wild"]}),
    ("fish", "Fish swim in rivers and oceans. They breathe through gills.", {"kind": "fish", "legs": 0, "tags": ["wild", "pet"]}),
    ("snakes", "Snakes have no legs and move by slithering. Some snakes are venomous.", {"kind": "reptile", "legs": 0, "tags": ["wild"]}),
    ("horses", "Horses gallop across fields. A horse can sleep standing up.", {"kind": "mammal", "legs": 4, "tags": ["farm"]}),
]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach the network: any outbound connection fails loudly."""

    def guard(*args: object, **kwargs: object) -> None:
        raise RuntimeError("network access attempted in a test")

    monkeypatch.setattr(socket, "create_connection", guard)


@pytest.fixture
def animal_docs() -> list[ragkit.Document]:
    return [ragkit.Document(id=i, text=t, metadata=m) for i, t, m in ANIMALS]


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder(dimension=32)


@pytest.fixture
def small_chunker() -> ragkit.RecursiveChunker:
    return ragkit.RecursiveChunker(max_tokens=12, overlap=2, tokenizer="regex")


@pytest.fixture
def animal_collection(animal_docs: list[ragkit.Document], embedder: HashEmbedder,
                      small_chunker: ragkit.RecursiveChunker) -> ragkit.Collection:
    return ragkit.build_collection(animal_docs, chunker=small_chunker, embedder=embedder,
                                   indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])


def _beir_dir(name: str) -> Path:
    base = default_data_dir()
    if base is None or not (base / name / "corpus.jsonl").is_file():
        pytest.skip(f"BEIR data for {name} not found (set RAGKIT_DATA_DIR or provide ../shared/data/{name})")
    return base / name


@pytest.fixture(scope="session")
def scifact_dir() -> Path:
    return _beir_dir("scifact")


@pytest.fixture(scope="session")
def embedding_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache root for the whole session, so a corpus is encoded at most once.

    ``$RAGKIT_CACHE_DIR`` when set (vectors then survive across sessions), else a
    session temporary folder. Embeddings go under ``<root>/embeddings``.
    """
    env = os.environ.get("RAGKIT_CACHE_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("ragkit-cache")


@pytest.fixture
def animal_text() -> dict[str, str]:
    return {doc_id: text for doc_id, text, _ in ANIMALS}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI (``CI`` set) a skip is a failure, except GPU tests on a machine without a GPU.

    Tests that need data (../shared/data) or an oracle (pytrec_eval, bm25s, rank-bm25) skip
    on a developer's partial setup, but CI must run them: a silent skip there would hide a
    missing install step or data set.
    """
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and "gpu" not in item.keywords and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run it: {reason}"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray instance with 2 CPUs for one test module (the module importorskips ``ray`` itself)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
