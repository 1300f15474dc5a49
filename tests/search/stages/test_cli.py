"""`ragkit search` and `ragkit eval` with --rerank, --depth, --mmr and --expand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ragkit
from ragkit.cli import main

from .conftest import build, stage_docs
from .test_cross_encoder import _tiny_bert


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-stages")
    build(stage_docs()).save(root / "col")
    _tiny_bert(root / "model")
    docs = stage_docs()
    (root / "corpus.jsonl").write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in docs))
    beir = root / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": d.id, "title": "", "text": d.text}) + "\n" for d in docs))
    (beir / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": t}) + "\n"
                                                for i, t in enumerate(["cat dog", "fish river", "bird nest"])))
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td1\t1\nq1\td2\t1\nq2\td3\t1\n")
    return root


def test_search_with_every_stage(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", str(folder / "col"), "cat dog", "fish river", "-k", "3", "--rerank", str(folder / "model"),
                 "--depth", "8", "--mmr", "0.5", "--per-document", "1", "--expand", "1",
                 "--expand-source", str(folder / "corpus.jsonl"), "--json", "--trace"])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = [json.loads(line) for line in out.out.splitlines() if line.strip()]
    texts = {d.id: d.text for d in stage_docs()}
    assert rows and all(texts[r["doc_id"]][r["start"]:r["end"]] == r["text"] for r in rows)
    assert all("rerank" in r["legs"] for r in rows)
    for query in ("cat dog", "fish river"):
        docs = [r["doc_id"] for r in rows if r["query"] == query]
        assert len(docs) == len(set(docs))
    assert "rerank" in out.err and "mmr" in out.err and "expand" in out.err


def test_stage_options_without_their_stage_are_refused(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", str(folder / "col"), "cat", "--depth", "5"]) == 2
    assert "--rerank" in capsys.readouterr().err
    assert main(["search", str(folder / "col"), "cat", "--max-chars", "100"]) == 2
    assert "--expand" in capsys.readouterr().err
    assert main(["search", str(folder / "col"), "cat", "-k", "9", "--rerank", str(folder / "model"), "--depth", "5"]) == 2
    assert "candidates" in capsys.readouterr().err


def test_eval_with_a_reranker(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", str(folder / "col"), str(folder / "beir"), "--modes", "bm25", "--rerank", str(folder / "model"),
                 "--depth", "10", "-k", "100", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    row = json.loads(out.strip().splitlines()[-1])
    assert row["mode"] == "bm25" and 0.0 <= row["metrics"]["ndcg@10"] <= 1.0


def test_a_bi_encoder_given_as_reranker_is_refused(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ragkit  # the CLI reports ragkit errors with exit code 2
    code = main(["search", str(folder / "col"), "cat", "--rerank", str(_tiny_bert(tmp_path / "bi", head=False))])
    assert code == 2 and "not a cross-encoder" in capsys.readouterr().err
