"""What ``index_corpus(resume=True)`` does in each on-disk state of a build (see ``ragkit.pipeline.commit``).

Complete outputs are reported complete without rebuilding; the two kills of the original
finding (a sharded build killed while saving shard folders, a merged build killed while
deleting its staging folder) resume; folders holding somebody else's files are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ragkit
from ragkit.pipeline.batch import STAGING, BuildReport
from ragkit.pipeline.commit import RECORD
from ragkit.store.layout import LAYOUT
from ragkit.store.manifest import MANIFEST
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries
from ragkit.testing.crash import count_call_points, crash_call

MODES = {"merged": False, "sharded": True}
QUERIES = synthetic_queries(5, seed=5)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "docs.jsonl"
    docs = synthetic_documents(30, seed=3)
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in docs), encoding="utf-8")
    return path


def build(corpus: Path, out: Path, sharded: bool, embedder: HashEmbedder | None = None, **options: Any) -> BuildReport:
    return ragkit.index_corpus(corpus, out, chunker=ragkit.RecursiveChunker(max_tokens=8, overlap=2, tokenizer="regex"),
                               embedder=embedder or HashEmbedder(dimension=16), shard_docs=10, progress=False,
                               keep_shards=sharded, **options)


def results(out: Path) -> Any:
    collection = ragkit.open_collection(out)
    try:
        return (collection.chunks.to_pydict(),
                [[(h.chunk_row, round(h.score, 9)) for h in q] for q in ragkit.HybridRetriever(collection).search_batch(QUERIES, k=6)])
    finally:
        collection.close()


def commit_point(out: Path, sharded: bool) -> bytes:
    return (out / (LAYOUT if sharded else MANIFEST)).read_bytes()


def kill_at(corpus: Path, out: Path, sharded: bool, label: str, occurrence: int = 1) -> None:
    """Kill a build of ``out`` at the ``occurrence``-th crash point whose label starts with ``label``."""
    points = count_call_points(lambda: build(corpus, out.with_name(out.name + "-traced"), sharded))
    matches = [n for n, got in enumerate(points, start=1) if got.startswith(label)]
    assert len(matches) >= occurrence, (label, points)
    assert crash_call(lambda: build(corpus, out, sharded), kill_at=matches[occurrence - 1])


@pytest.mark.parametrize("mode", MODES)
def test_resume_of_a_complete_output_reports_it_complete_without_rebuilding(corpus: Path, tmp_path: Path,
                                                                            mode: str) -> None:
    sharded, out = MODES[mode], tmp_path / "out"
    first = build(corpus, out, sharded)
    before, listing = commit_point(out, sharded), sorted(p.name for p in out.iterdir())
    assert RECORD in listing and STAGING not in listing
    embedder = HashEmbedder(dimension=16)
    report = build(corpus, out, sharded, embedder, resume=True)
    assert report.already_complete and not first.already_complete
    assert embedder.calls == 0
    assert (report.documents, report.chunks, report.shards, report.shards_resumed) == (30, first.chunks, 3, 3)
    assert report.summary().startswith("already complete") and "nothing rebuilt" in report.summary()
    assert commit_point(out, sharded) == before and sorted(p.name for p in out.iterdir()) == listing


@pytest.mark.parametrize("mode", MODES)
def test_a_kept_staging_folder_does_not_stop_a_complete_output_being_complete(corpus: Path, tmp_path: Path,
                                                                              mode: str) -> None:
    sharded, out = MODES[mode], tmp_path / "out"
    build(corpus, out, sharded, keep_staging=True)
    assert (out / STAGING).is_dir()
    assert build(corpus, out, sharded, resume=True, keep_staging=True).already_complete
    assert (out / STAGING).is_dir()  # kept, as asked
    assert build(corpus, out, sharded, resume=True).already_complete
    assert not (out / STAGING).exists()  # a finished build's leftovers are cleaned up


@pytest.mark.parametrize("mode", MODES)
def test_resume_over_a_complete_output_of_other_settings_starts_over(corpus: Path, tmp_path: Path, mode: str) -> None:
    sharded, out = MODES[mode], tmp_path / "out"
    build(corpus, out, sharded, HashEmbedder(dimension=8))
    embedder = HashEmbedder(dimension=16)
    report = build(corpus, out, sharded, embedder, resume=True)  # nothing of these settings to resume
    assert not report.already_complete and report.shards_resumed == 0 and embedder.calls == report.chunks
    build(corpus, tmp_path / "straight", sharded)
    assert results(out) == results(tmp_path / "straight")


def test_a_damaged_record_is_ignored(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(corpus, out, False)
    (out / RECORD).write_text("{not json")
    report = build(corpus, out, False, resume=True)
    assert not report.already_complete and json.loads((out / RECORD).read_text())["output"]["sharded"] is False


def test_sharded_build_killed_while_saving_shard_folders_resumes(corpus: Path, tmp_path: Path) -> None:
    """The original finding: the partial shard folders made resume fail with "holds other files"."""
    out = tmp_path / "out"
    kill_at(corpus, out, True, "replace manifest", occurrence=2)  # shard-00000 saved, shard-00001 about to commit
    assert {"shard-00000", "shard-00001"} <= {p.name for p in out.iterdir()} and not (out / LAYOUT).exists()
    embedder = HashEmbedder(dimension=16)
    report = build(corpus, out, True, embedder, resume=True)
    assert not report.already_complete and report.shards_resumed == 3 and embedder.calls == 0
    build(corpus, tmp_path / "straight", True)
    assert results(out) == results(tmp_path / "straight")


def test_merged_build_killed_while_deleting_its_staging_folder_is_complete(corpus: Path, tmp_path: Path) -> None:
    """The original finding: resume raised CorruptIndexError (the ledger listed deleted shard files)."""
    out = tmp_path / "out"
    kill_at(corpus, out, False, "remove shard-00001.arrow")
    assert (out / STAGING).is_dir() and (out / MANIFEST).is_file()
    before = commit_point(out, False)
    report = build(corpus, out, False, resume=True)
    assert report.already_complete and not (out / STAGING).exists() and commit_point(out, False) == before
    build(corpus, tmp_path / "straight", False)
    assert results(out) == results(tmp_path / "straight")


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_a_folder_with_unrelated_files_is_refused(corpus: Path, tmp_path: Path, mode: str, resume: bool) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    embedder = HashEmbedder(dimension=16)
    with pytest.raises((ragkit.ConfigError, ragkit.IndexFormatError), match="other files.*notes.txt"):
        build(corpus, out, MODES[mode], embedder, resume=resume)
    assert embedder.calls == 0 and sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_shard_like_folder_that_is_not_ours_is_refused(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "shard-00000").mkdir(parents=True)
    (out / "shard-00000" / "data.csv").write_text("mine")
    for resume in (False, True):
        with pytest.raises(ragkit.ConfigError, match="other files.*shard-00000"):
            build(corpus, out, True, resume=resume)
    assert sorted(p.name for p in out.iterdir()) == ["shard-00000"]


@pytest.mark.parametrize("mode", MODES)
def test_user_files_added_to_a_half_built_output_are_refused(corpus: Path, tmp_path: Path, mode: str) -> None:
    sharded, out = MODES[mode], tmp_path / "out"
    kill_at(corpus, out, sharded, "replace manifest", occurrence=2 if sharded else 1)
    (out / "notes.txt").write_text("mine")
    with pytest.raises((ragkit.ConfigError, ragkit.IndexFormatError), match="other files.*notes.txt"):
        build(corpus, out, sharded, resume=True)
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    build(corpus, out, sharded, resume=True)
    build(corpus, tmp_path / "straight", sharded)
    assert results(out) == results(tmp_path / "straight")


def test_an_unfinished_sharded_build_is_not_resumed_as_a_merged_one(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    kill_at(corpus, out, True, "replace manifest", occurrence=2)
    with pytest.raises(ragkit.ConfigError, match="unfinished sharded build.*keep_shards=True"):
        build(corpus, out, False, resume=True)
    assert build(corpus, out, True, resume=True).shards_resumed == 3
