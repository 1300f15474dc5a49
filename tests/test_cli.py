"""The ``ragkit`` command line on tiny corpora (BM25 in-process; one real-model run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit.cli import main


@pytest.fixture
def beir_folder(tmp_path: Path) -> Path:
    root = tmp_path / "tiny"
    (root / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Cats", "text": "Cats purr when they are content and sleep a lot."},
        {"_id": "d2", "title": "Dogs", "text": "Dogs bark at strangers and love to fetch sticks."},
        {"_id": "d3", "title": "Fish", "text": "Fish breathe through gills and swim in rivers."},
    ]
    queries = [{"_id": "q1", "text": "why do cats purr"}, {"_id": "q2", "text": "how do fish breathe"}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries), encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n", encoding="utf-8")
    return root


def test_help_explains_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "ragkit.cli", "--help"], capture_output=True, text=True, check=True)
    for word in ("index", "search", "eval"):
        assert word in out.stdout
    sub = subprocess.run([sys.executable, "-m", "ragkit.cli", "index", "--help"], capture_output=True, text=True, check=True)
    assert "--vector-index" in sub.stdout and "BEIR" in sub.stdout


def test_index_search_eval_bm25(beir_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "col"
    assert main(["index", str(beir_folder), str(out), "--no-vectors"]) == 0
    assert "saved 3 chunks of 3 documents" in capsys.readouterr().out
    assert main(["search", str(out), "purring cats", "--mode", "bm25", "-k", "2", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["doc_id"] == "d1" and lines[0]["rank"] == 1
    assert main(["eval", str(out), str(beir_folder), "--modes", "bm25"]) == 0
    report = capsys.readouterr().out
    assert "bm25" in report and "1.0000" in report  # both queries find their document first


def test_errors_are_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", str(tmp_path), "anything"]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert main(["search", str(tmp_path), "x", "--filter", "{bad"]) == 2
    assert "--filter is not valid JSON" in capsys.readouterr().err


def test_index_and_search_a_folder_with_the_default_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(
        "# Guide\n\n## Saving\n\nCall save(path) to write the collection atomically.\n\n"
        "## Searching\n\nHybrid search fuses BM25 and dense vectors with reciprocal rank fusion.\n",
        encoding="utf-8",
    )
    (docs / "notes.txt").write_text("Unrelated notes about gardening and tomatoes.", encoding="utf-8")
    out = tmp_path / "col"
    assert main(["index", str(docs), str(out), "--vector-index", "HNSW32"]) == 0
    capsys.readouterr()
    assert main(["search", str(out), "how do I write an index to disk?", "-k", "2"]) == 0
    printed = capsys.readouterr().out
    assert "guide.md" in printed and "Guide > Saving" in printed
    assert "legs: bm25" in printed or "legs: dense" in printed


def test_search_falls_back_to_bm25_without_vectors(beir_folder: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "col"
    assert main(["index", str(beir_folder), str(out), "--no-vectors"]) == 0
    capsys.readouterr()
    assert main(["search", str(out), "fish gills", "-k", "1"]) == 0
    captured = capsys.readouterr()
    assert "BM25 only" in captured.err and "d3" in captured.out
