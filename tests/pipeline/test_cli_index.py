"""``ragkit index`` on the streaming builder: engines, resume, shards, summary, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ragkit.cli import main
from ragkit.pipeline import batch


def test_index_prints_progress_summary_and_builds_a_searchable_collection(beir_folder: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "col"
    assert main(["index", str(beir_folder), str(out), "--no-vectors", "--shard-docs", "4"]) == 0
    printed = capsys.readouterr()
    assert "indexing beir source" in printed.out and "13 documents" in printed.out and "4 shards" in printed.out
    assert "doc" in printed.err  # the tqdm bar
    assert main(["search", str(out), "gills", "--mode", "bm25", "-k", "1", "--json"]) == 0
    hit = json.loads(capsys.readouterr().out.splitlines()[0])
    assert hit["doc_id"] in {"fish", "sharks"}


def test_keep_shards_writes_a_sharded_collection_that_search_and_eval_open(beir_folder: Path, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sharded"
    assert main(["index", str(beir_folder), str(out), "--no-vectors", "--shard-docs", "5", "--keep-shards", "--no-progress"]) == 0
    assert "sharded collection" in capsys.readouterr().out
    assert (out / "shards.json").is_file()
    assert main(["search", str(out), "honey flowers", "-k", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[0])["doc_id"] == "bees"
    assert "BM25 only" in captured.err
    assert main(["eval", str(out), str(beir_folder), "--modes", "bm25"]) == 0
    assert "bm25" in capsys.readouterr().out


def test_resume_continues_an_interrupted_index(beir_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "col"
    real = batch.write_shard
    written: list[int] = []

    def crash_on_third(directory: Path, index: int, *args: Any) -> dict[str, Any]:
        if index == 2:
            raise KeyboardInterrupt  # as a Ctrl-C during shard 2
        written.append(index)
        return real(directory, index, *args)

    monkeypatch.setattr(batch, "write_shard", crash_on_third)
    assert main(["index", str(beir_folder), str(out), "--no-vectors", "--shard-docs", "3", "--no-progress"]) == 130
    assert "2 of 5 shards (6 of 13 documents) are saved" in capsys.readouterr().err
    monkeypatch.setattr(batch, "write_shard", real)
    assert written == [0, 1]
    assert main(["index", str(beir_folder), str(out), "--no-vectors", "--shard-docs", "3", "--no-progress", "--resume"]) == 0
    assert "(2 resumed from an earlier run)" in capsys.readouterr().out


def test_errors_name_the_option(beir_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["index", str(beir_folder), str(tmp_path / "o"), "--no-vectors", "--shard-docs", "0"]) == 2
    assert "shard_docs" in capsys.readouterr().err
    assert main(["index", str(tmp_path / "missing"), str(tmp_path / "o"), "--no-vectors"]) == 2
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    assert main(["index", str(beir_folder), str(tmp_path / "o"), "--no-vectors", "--engine", "ray", "--no-progress"]) == 2
    assert "pip install 'ragkit[ray]'" in capsys.readouterr().err
