"""Concurrency: threads searching during changes and saves; reader snapshots and writers across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import ragkit
from ragkit import Collection, ConflictError, Document, HybridRetriever
from ragkit.store import collect_garbage
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries

QUERIES = synthetic_queries(12, seed=11)
SRC = str(Path(ragkit.__file__).resolve().parents[1])
Results = list[list[tuple[str, float]]]


def build(docs: list[Document]) -> Collection:
    return ragkit.build_collection(docs, chunker=ragkit.RecursiveChunker(tokenizer="regex"), embedder=HashEmbedder(dimension=32),
                                   indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])


def results(collection: Collection) -> Results:
    hits = HybridRetriever(collection, fusion="rrf").search_batch(QUERIES, k=8)  # rank-based: exact across versions
    return [[(f"{h.doc_id}#{h.position}", round(h.score, 6)) for h in q] for q in hits]


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return synthetic_documents(400, seed=21)


def changes(collection: Collection, docs: list[Document], save_to: Path | None = None) -> None:
    """The writer's script: adds, deletes, upserts, with a save after each step when ``save_to`` is given."""
    for step in range(6):
        _apply_step(collection, docs, step)
        if save_to is not None:
            collection.save(save_to)


def test_threads_searching_during_changes_and_saves_see_whole_versions(docs: list[Document], tmp_path: Path) -> None:
    # expected results of every generation, computed single-threaded on an identical collection
    expected: dict[int, Results] = {}
    oracle = build(docs[:300])
    expected[0] = results(oracle)
    for step in range(6):
        _apply_step(oracle, docs, step)
        expected[oracle.generation] = results(oracle)
    assert len(expected) == 7

    collection = build(docs[:300])
    errors: list[BaseException] = []
    seen: list[tuple[int, Results]] = []
    unlocked: list[Results] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                with collection.reading():
                    generation = collection.generation
                    seen.append((generation, results(collection)))
                unlocked.append(results(collection))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        for step in range(6):
            _apply_step(collection, docs, step)
            collection.save(tmp_path / "col")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert len(seen) >= 6 and len({g for g, _ in seen}) >= 2  # the searches overlapped the changes
    for generation, got in seen:
        assert got == expected[generation], f"generation {generation}"
    versions = list(expected.values())
    assert all(got in versions for got in unlocked)
    with Collection.open(tmp_path / "col") as reopened:
        assert results(reopened) == expected[6]


def _apply_step(collection: Collection, docs: list[Document], step: int) -> None:
    if step % 3 == 0:
        collection.add(docs[300 + 20 * step: 320 + 20 * step])
    elif step % 3 == 1:
        collection.delete(doc_ids=[d.id for d in docs[step:300:9]])
    else:
        collection.upsert([Document(id=d.id, text=d.text + " kalo", metadata=d.metadata) for d in docs[step:300:13]])


# -- across processes ----------------------------------------------------------------------
def spawn(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


_PRELUDE = """
import json, sys
import ragkit
from ragkit import Collection, Document, HybridRetriever
from ragkit.testing import synthetic_documents, synthetic_queries
QUERIES = synthetic_queries(12, seed=11)
def results(c):
    found = HybridRetriever(c, fusion="rrf").search_batch(QUERIES, k=8)
    return [[(f"{h.doc_id}#{h.position}", round(h.score, 6)) for h in q] for q in found]
"""

_READER = _PRELUDE + """
collection = Collection.open(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # the writer saves new versions meanwhile
print(json.dumps(results(collection)), flush=True)
sys.stdin.readline()
collection.close()
print("closed", flush=True)
sys.stdin.readline()
"""


def as_json(r: Results) -> list[list[list[object]]]:
    return json.loads(json.dumps(r))  # type: ignore[no-any-return]


def test_a_reader_process_keeps_its_snapshot_while_a_writer_saves(docs: list[Document], tmp_path: Path) -> None:
    root = tmp_path / "col"
    collection = build(docs[:300])
    collection.save(root)
    before = results(collection)
    first_dir = json.loads((root / "manifest.json").read_text())["data_dir"]
    reader = spawn(_READER, str(root))
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "ready", reader.stderr.read() if reader.stderr else ""
        with Collection.open(root) as writer:
            changes(writer, docs, save_to=root)  # six saves while the reader holds version 1
            after = results(writer)
        assert after != before
        assert (root / first_dir).is_dir(), "a version a reader holds was removed"
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert json.loads(reader.stdout.readline()) == as_json(before)  # the reader still sees its own version
        reader.stdin.write("close\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "closed"
        assert collect_garbage(root) == []
        current = json.loads((root / "manifest.json").read_text())["data_dir"]
        assert sorted(p.name for p in root.iterdir()) == sorted([".lock", "manifest.json", current])
        with Collection.open(root) as latest:
            assert results(latest) == after
    finally:
        reader.kill()
        reader.wait()


_WRITER = _PRELUDE + """
root, rounds = sys.argv[1], int(sys.argv[2])
extra = [Document(id="extra", text="babalo bababa kalo", metadata={"tenant": "t0", "acl": ["g0"], "year": 2001, "lang": "en"})]
for i in range(rounds):
    collection = Collection.open(root)
    if i % 2 == 0:
        collection.add(extra)
    else:
        collection.delete(doc_ids=["extra"])
    collection.save(root)
    collection.close()
print("done", flush=True)
"""


def test_readers_opening_during_a_stream_of_saves_always_get_a_whole_version(docs: list[Document], tmp_path: Path) -> None:
    root = tmp_path / "col"
    collection = build(docs[:300])
    collection.save(root)
    without = results(collection)
    collection.add([Document(id="extra", text="babalo bababa kalo", metadata={"tenant": "t0", "acl": ["g0"], "year": 2001,
                                                                                 "lang": "en"})])
    with_extra = results(collection)
    writer = spawn(_WRITER, str(root), "24")
    opened = 0
    try:
        while writer.poll() is None or opened == 0:
            with Collection.open(root) as snapshot:
                got = results(snapshot)
            assert got in (without, with_extra)
            opened += 1
        assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
    finally:
        writer.kill()
        writer.wait()
    assert opened >= 3
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]
    assert len([p for p in root.iterdir() if p.name.startswith("data-")]) <= 3  # at most the versions readers held
    assert collect_garbage(root) == []
    assert len([p for p in root.iterdir() if p.name.startswith("data-")]) == 1


_CONFLICTING = _PRELUDE + """
collection = Collection.open(sys.argv[1])
collection.delete(doc_ids=["d0"])
collection.save(sys.argv[1])
print("saved", flush=True)
"""


def test_a_second_writer_cannot_silently_discard_the_first_ones_changes(docs: list[Document], tmp_path: Path) -> None:
    root = build(docs[:50]).save(tmp_path / "col")
    mine = Collection.open(root)
    other = spawn(_CONFLICTING, str(root))
    out, err = other.communicate(timeout=120)
    assert out.strip() == "saved", err
    mine.add(docs[50:52])
    with pytest.raises(ConflictError, match="another writer saved version .* reopen the collection"):
        mine.save(root)
    mine.close()
    with Collection.open(root) as current:  # the other writer's change is intact, ours was refused
        assert "d0#0" not in current.chunk_ids() and "d50#0" not in current.chunk_ids()
        current.add(docs[50:52])
        current.save(root)
    with Collection.open(root) as final:
        assert "d0#0" not in final.chunk_ids() and "d50#0" in final.chunk_ids()


_CONCURRENT_WRITER = _PRELUDE + """
from ragkit import ConflictError
root, n = sys.argv[1], int(sys.argv[2])
conflicts = 0
for i in range(5):
    while True:
        collection = Collection.open(root)
        collection.add([Document(id=f"p{n}-{i}", text=f"writer {n} round {i} kalo", metadata={"tenant": "t0"})])
        try:
            collection.save(root)
            break
        except ConflictError:
            conflicts += 1
        finally:
            collection.close()
print(conflicts, flush=True)
"""


def test_concurrent_writer_processes_serialise_and_lose_no_update(docs: list[Document], tmp_path: Path) -> None:
    root = build(docs[:60]).save(tmp_path / "col")
    writers = [spawn(_CONCURRENT_WRITER, str(root), str(n)) for n in range(3)]
    conflicts = 0
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        conflicts += int(out)
    with Collection.open(root) as final:
        ids = set(final.chunk_ids())
        assert {f"p{n}-{i}#0" for n in range(3) for i in range(5)} <= ids  # every writer's every change survived
        assert final.num_chunks == 60 + 15 and final.generation == 15
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]


def test_a_version_that_cannot_be_cleaned_up_does_not_fail_the_save(docs: list[Document], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ragkit.store import folder

    collection = build(docs[:40])
    root = collection.save(tmp_path / "col")
    first = json.loads((root / "manifest.json").read_text())["data_dir"]
    real_open = open

    def no_lock_files(path: object, *args: object, **kwargs: object) -> object:
        if str(path).endswith(".readers.lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(folder, "open", no_lock_files, raising=False)
    collection.add(docs[40:42])
    collection.save(root)  # published even though the old version could not be locked for removal
    monkeypatch.undo()
    assert (root / first).is_dir()
    with Collection.open(root) as reopened:
        assert reopened.num_chunks == 42
    assert collect_garbage(root) == [] and not (root / first).exists()
