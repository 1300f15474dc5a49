"""Bad values of ``ragkit index/search/serve`` flags: exit status 2, one line naming the flag, nothing built or written.

In-process (``ragkit.cli.main``), BM25 or the model-free HashEmbedder only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ragkit
from ragkit.cli import main
from ragkit.testing import HashEmbedder

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                            for i, t in enumerate(["cats purr a lot", "dogs bark at night", "fish swim in rivers"])))
    return path


@pytest.fixture
def markdown_collection(tmp_path: Path) -> Path:
    """A saved collection whose chunks carry MarkdownChunker's 'headings'."""
    docs = [ragkit.Document(id="guide.md", text="# Guide\n\n## Saving\n\nCall save(path) to write it.\n\nIt is atomic.\n")]
    out = tmp_path / "md"
    ragkit.build_collection(docs, chunker=ragkit.MarkdownChunker(tokenizer="regex", max_tokens=6, overlap=2),
                            embedder=HashEmbedder(dimension=16)).save(out)
    return out


def _refused(code: int, capsys: Capture, flag: str, command: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and flag in err, err
    line = next(line for line in err.splitlines() if line.startswith(f"ragkit {command}: error: "))
    assert flag in line
    return line


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "-inf", "1e-9"])
def test_max_file_mb_must_be_a_finite_positive_number(corpus: Path, tmp_path: Path, capsys: Capture, value: str) -> None:
    out = tmp_path / "col"
    line = _refused(main(["index", str(corpus), str(out), "--no-vectors", "--no-progress", f"--max-file-mb={value}"]),
                    capsys, "--max-file-mb", "index")
    assert "> 0" in line and "Got " in line
    assert not out.exists()


def test_max_file_mb_still_skips_large_files(tmp_path: Path, capsys: Capture) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "small.md").write_text("# Small\n\nA short note.\n")
    (docs / "big.md").write_text("# Big\n\n" + "word " * 400)
    report = tmp_path / "r.json"
    code = main(["index", str(docs), str(tmp_path / "col"), "--no-vectors", "--no-progress", "--max-file-mb", "0.001",
                 "--report", str(report)])
    assert code == 0, capsys.readouterr().err
    skipped = json.loads(report.read_text())["skipped"]
    assert [s["reason"] for s in skipped] == ["too large"] and "big.md" in json.dumps(skipped)


@pytest.mark.parametrize("where", ["missing-folder", "a-folder", "under-a-file", "inside-out", "the-source"])
def test_a_bad_report_path_is_refused_before_the_build(corpus: Path, tmp_path: Path, capsys: Capture, where: str) -> None:
    (tmp_path / "existing").mkdir()
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "col"
    report = {"missing-folder": tmp_path / "nope" / "r.json", "a-folder": tmp_path / "existing",
              "under-a-file": tmp_path / "afile" / "r.json", "inside-out": out / "r.json", "the-source": corpus}[where]
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["index", str(corpus), str(out), "--no-vectors", "--no-progress", "--report", str(report)])
    _refused(code, capsys, "--report", "index")
    assert not out.exists()  # refused up front: nothing built
    assert sorted(p.name for p in tmp_path.iterdir()) == before and list((tmp_path / "existing").iterdir()) == []
    assert corpus.read_text().startswith('{"id": "d0"')


def test_a_report_is_written_whole_and_replaces_an_old_one(corpus: Path, tmp_path: Path, capsys: Capture) -> None:
    report = tmp_path / "r.json"
    report.write_text("old")
    assert main(["index", str(corpus), str(tmp_path / "col"), "--no-vectors", "--no-progress", "--report", str(report)]) == 0
    assert json.loads(report.read_text())["skipped"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jsonl", "col", "r.json"]  # no temporary file left


def test_an_out_folder_below_a_file_is_refused(corpus: Path, tmp_path: Path, capsys: Capture) -> None:
    (tmp_path / "afile").write_text("x")
    _refused(main(["index", str(corpus), str(tmp_path / "afile" / "col"), "--no-vectors", "--no-progress"]),
             capsys, "OUT", "index")


@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_serve_refuses_a_query_log_that_cannot_be_a_folder(markdown_collection: Path, tmp_path: Path, capsys: Capture,
                                                           where: str) -> None:
    (tmp_path / "afile").write_text("x")
    log = tmp_path / "afile" if where == "a-file" else tmp_path / "afile" / "log"
    _refused(main(["serve", str(markdown_collection), "--allow-anonymous", "--query-log", str(log)]), capsys, "--query-log", "serve")
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("command", ["search", "eval"])
def test_expand_and_expand_section_are_exclusive(markdown_collection: Path, tmp_path: Path, capsys: Capture, command: str) -> None:
    given = ["search", str(markdown_collection), "save"] if command == "search" else ["eval", str(markdown_collection), str(tmp_path)]
    line = _refused(main([*given, "--expand-section", "--expand", "2"]), capsys, "--expand-section", command)  # before the data
    assert "--expand " in line and "window" in line and "section" in line


def test_expand_section_alone_grows_hits_to_their_section(markdown_collection: Path, capsys: Capture) -> None:
    assert main(["search", str(markdown_collection), "atomic", "--mode", "bm25", "-k", "1", "--expand-section", "--json"]) == 0
    hit = json.loads(capsys.readouterr().out.splitlines()[0])
    assert hit["text"].startswith("## Saving") and "atomic" in hit["text"]


def test_expand_section_without_headings_is_refused(corpus: Path, tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "col"
    assert main(["index", str(corpus), str(out), "--no-vectors", "--no-progress"]) == 0  # recursive chunks: no headings
    capsys.readouterr()
    line = _refused(main(["search", str(out), "cats", "--expand-section"]), capsys, "--expand-section", "search")
    assert "section_field" in line and "'headings'" in line
