"""Opening while a writer saves and collects old versions: every open gets a whole, current-or-newer version.

The window between a reader's reading the manifest and pinning the version it names is
widened (a delay in that step), and so is the writer's removal of an old version (files
deleted one by one, slowly). Before pinning was made race-free, a reader arriving during a
removal re-created the reader lock inside the folder being deleted and then reported the
healthy collection as corrupt.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
import types
from pathlib import Path
from typing import Any

import ragkit
from ragkit import Collection, Document, HybridRetriever
from ragkit.store import collect_garbage, folder
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries

QUERIES = synthetic_queries(6, seed=3)
EXTRA = Document(id="extra", text="babalo bababa kalo", metadata={"tenant": "t0", "acl": ["g0"], "year": 2001, "lang": "en"})


def results(collection: Collection) -> list[list[tuple[str, float]]]:
    hits = HybridRetriever(collection, fusion="rrf").search_batch(QUERIES, k=6)  # rank-based: exact across versions
    return [[(f"{h.doc_id}#{h.position}", round(h.score, 6)) for h in q] for q in hits]


def slow_rmtree(path: Any, ignore_errors: bool = False, **kwargs: Any) -> None:
    """shutil.rmtree, one entry at a time with a pause after each: the removal takes a while."""
    for parent, dirs, files in os.walk(path, topdown=False):
        for name in sorted(files):
            try:
                os.unlink(os.path.join(parent, name))
            except OSError:
                if not ignore_errors:
                    raise
            time.sleep(0.002)
        for name in dirs:
            try:
                os.rmdir(os.path.join(parent, name))
            except OSError:
                if not ignore_errors:
                    raise
    time.sleep(0.02)
    try:
        os.rmdir(path)
    except OSError:
        if not ignore_errors:
            raise


def test_opens_racing_saves_and_garbage_collection_always_get_a_whole_version(tmp_path: Path, monkeypatch: Any) -> None:
    root = tmp_path / "col"
    collection = ragkit.build_collection(synthetic_documents(150, seed=8), chunker=ragkit.RecursiveChunker(tokenizer="regex"),
                                         embedder=HashEmbedder(dimension=16),
                                         indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
    collection.save(root)
    without = results(collection)
    collection.add([EXTRA])
    with_extra = results(collection)

    readers = threading.local()
    real_resolve = folder.resolve_member

    def resolve_slowly(base: Path, relative: Any) -> Path:  # in open: between reading the manifest and pinning
        path = real_resolve(base, relative)
        if getattr(readers, "reader", False):
            time.sleep(random.uniform(0, 0.1))
        return path

    monkeypatch.setattr(folder, "resolve_member", resolve_slowly)
    monkeypatch.setattr(folder, "shutil", types.SimpleNamespace(**{**vars(shutil), "rmtree": slow_rmtree}))

    stop = threading.Event()
    errors: list[BaseException] = []
    opened = [0]

    def reader() -> None:
        readers.reader = True
        while not stop.is_set():
            try:
                with Collection.open(root) as snapshot:
                    got = results(snapshot)
                assert got in (without, with_extra), "results of no saved version"
                opened[0] += 1
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        i = 0  # at least 30 saves, and on until the readers have opened 30 times (a loaded machine runs them slower)
        while (i < 30 or opened[0] < 30) and i < 300:
            with Collection.open(root) as writer:
                if i % 2 == 0:
                    writer.add([EXTRA])
                else:
                    writer.delete(doc_ids=["extra"])
                writer.save(root)
            i += 1
            if errors:
                break
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, repr(errors[0])
    assert opened[0] >= 30
    monkeypatch.undo()
    assert collect_garbage(root) == []
    assert len([p for p in root.iterdir() if p.name.startswith("data-")]) == 1
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]
