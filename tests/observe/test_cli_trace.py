from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit.cli import main


def test_search_trace_prints_a_stage_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "tiny"
    (root / "qrels").mkdir(parents=True)
    (root / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "gills"}), encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n", encoding="utf-8")
    corpus = [{"_id": "d1", "text": "Cats purr when content."}, {"_id": "d2", "text": "Fish breathe through gills."}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus), encoding="utf-8")
    out = tmp_path / "col"
    assert main(["index", str(root), str(out), "--no-vectors"]) == 0
    capsys.readouterr()
    assert main(["search", str(out), "fish gills", "cats", "-k", "1", "--mode", "bm25", "--trace"]) == 0
    captured = capsys.readouterr()
    assert "d2" in captured.out
    for stage in ("filter", "bm25.tokenize", "bm25.search", "hits", "total"):
        assert stage in captured.err
    assert "over 2 queries" in captured.err and "leg bm25: 2 candidates" in captured.err
