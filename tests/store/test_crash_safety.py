"""Fault injection: a writer SIGKILLed at every write, fsync, rename and removal of its saves.

After each kill the collection must open with every checksum passing and search exactly
like the version before the interrupted save or the one after it, and a new writer must be
able to carry on.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import ragkit
from ragkit import Collection, Document, HybridRetriever
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries
from ragkit.testing.crash import Step, count_crash_points, crash_writer

pytestmark = pytest.mark.faults

QUERIES = synthetic_queries(10, seed=13)
Results = list[list[tuple[str, float]]]


def results(collection: Collection) -> Results:
    hits = HybridRetriever(collection).search_batch(QUERIES, k=8)
    return [[(f"{h.doc_id}#{h.position}", round(h.score, 6)) for h in q] for q in hits]


def as_dicts(docs: list[Document]) -> list[dict[str, Any]]:
    return [{"id": d.id, "text": d.text, "metadata": dict(d.metadata)} for d in docs]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Step], list[Results]]:
    docs = synthetic_documents(160, seed=17)
    base = tmp_path_factory.mktemp("crash") / "template"
    collection = ragkit.build_collection(docs[:120], chunker=ragkit.RecursiveChunker(tokenizer="regex"),
                                         embedder=HashEmbedder(dimension=32),
                                         indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
    collection.save(base)
    steps: list[Step] = [
        ("add", as_dicts(docs[120:160])),
        ("delete", [d.id for d in docs[:120:5]]),
        ("upsert", as_dicts([Document(id=d.id, text=d.text + " kalo mine", metadata=d.metadata) for d in docs[1:120:11]])),
    ]
    versions = [results(collection)]
    collection.add(docs[120:160])
    versions.append(results(collection))
    collection.delete(doc_ids=steps[1][1])
    versions.append(results(collection))
    collection.upsert([Document(id=d.id, text=d.text + " kalo mine", metadata=d.metadata) for d in docs[1:120:11]])
    versions.append(results(collection))
    assert len({str(v) for v in versions}) == 4  # every save changes what a search returns
    return base, steps, versions


def test_a_writer_killed_at_any_point_leaves_the_old_or_the_new_version(
    scenario: tuple[Path, list[Step], list[Results]], tmp_path: Path
) -> None:
    base, steps, versions = scenario
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    points = count_crash_points(probe, steps)
    with Collection.open(probe) as finished:
        assert results(finished) == versions[-1]
    assert len(points) >= 50, points
    assert {save for save, _ in points} == {1, 2, 3}
    labels = {label.split()[0] for _, label in points}
    assert {"mkdir", "write", "fsync", "rename", "replace", "remove"} <= labels
    outcomes = {"old": 0, "new": 0}
    for n, (save, label) in enumerate(points, start=1):
        root = tmp_path / f"kill-{n}"
        shutil.copytree(base, root)
        assert crash_writer(root, steps, kill_at=n), f"point {n} ({label}) was not reached"
        with Collection.open(root, verify=True) as survivor:  # every checksum is checked
            got = results(survivor)
            generation = survivor.generation
        assert generation in (save - 1, save), f"point {n} ({label}): generation {generation} during save {save}"
        assert got == versions[generation], f"point {n} ({label}): results differ from version {generation}"
        outcomes["old" if generation == save - 1 else "new"] += 1
        with Collection.open(root) as writer:  # the next writer carries on and cleans up
            writer.delete(doc_ids=[steps[0][1][0]["id"]]) if generation >= 1 else writer.add(
                [Document(id="after-crash", text="babalo kalo", metadata={"tenant": "t0"})])
            writer.save(root)
        assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]
        assert len([p for p in root.iterdir() if p.name.startswith("data-")]) == 1
        shutil.rmtree(root)
    assert outcomes["old"] > 0 and outcomes["new"] > 0
