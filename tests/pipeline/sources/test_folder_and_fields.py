"""One reading path for folders and files (Python and CLI), skip reports, and field mapping of record sources."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ragkit import Collection, ConfigError, InputError
from ragkit.cli import main
from ragkit.core.errors import EmptyCorpusError
from ragkit.pipeline import index_corpus
from ragkit.pipeline.sources import (
    CsvSource,
    FieldMap,
    FolderSource,
    JsonlSource,
    ParquetSource,
    open_source,
    read_folder,
    table_documents,
    table_skipped,
)


def _all(source) -> pa.Table:  # type: ignore[no-untyped-def]
    return pa.concat_tables(source.read(spec) for spec in source.plan(2))


def _skipped(source) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return [s for spec in source.plan(2) for s in table_skipped(source.read(spec))]


def test_a_new_users_folder_reads_pdf_and_docx_and_reports_the_binary(mixed_folder: Path) -> None:
    source = open_source(mixed_folder)
    assert isinstance(source, FolderSource)
    ids = _all(source).column("id").to_pylist()
    assert ids == ["faq.txt", "guide.docx", "notes.md", "reset.pdf"]
    assert _skipped(source) == [{"path": "firmware.bin", "reason": "unsupported type",
                                 "detail": _skipped(source)[0]["detail"]}]
    assert [d.id for d in read_folder(mixed_folder)] == ids  # the Python path reads the same


def test_a_folder_of_only_unreadable_files_says_why(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    make.encrypted_pdf(tmp_path / "locked.pdf")
    (tmp_path / "x.bin").write_bytes(b"\x00")
    with pytest.raises(EmptyCorpusError, match=r"(?s)holds no document with text.*x.bin: unsupported type.*locked.pdf: encrypted"):
        index_corpus(tmp_path, tmp_path / "out", indexes=[_bm25()], progress=False)


def test_a_symbolic_link_leading_outside_the_folder_is_skipped_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("the launch code is 0000")
    (outside / "more.md").write_text("# Private\n\nsalaries")
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "guide.md").write_text("# Guide\n\nreset the router")
    (folder / "link-to-secret.txt").symlink_to(outside / "secret.txt")
    (folder / "sub" / "inside-link.md").symlink_to(folder / "guide.md")  # inside the folder: read
    (folder / "private-dir").symlink_to(outside, target_is_directory=True)
    source = FolderSource(folder)
    table = _all(source)
    assert table.column("id").to_pylist() == ["guide.md", "sub/inside-link.md"]
    assert "launch code" not in " ".join(table.column("text").to_pylist())
    assert [(s["path"], s["reason"]) for s in _skipped(source)] == [("link-to-secret.txt", "outside the folder")]
    assert "a symbolic link to" in _skipped(source)[0]["detail"]
    assert [d.id for d in read_folder(folder)] == ["guide.md", "sub/inside-link.md"]
    with pytest.raises(InputError, match=r"link-to-secret.txt was not indexed \(outside the folder\)"):
        FolderSource(folder, strict=True).plan(10)
    assert [d.id for d in read_folder(folder / "link-to-secret.txt")] == ["link-to-secret.txt"]  # named on its own: read


def test_strict_makes_a_skip_an_error(mixed_folder: Path) -> None:
    with pytest.raises(InputError, match=r"firmware.bin was not indexed \(unsupported type\)"):
        FolderSource(mixed_folder, strict=True).plan(10)
    with pytest.raises(InputError, match="not indexed"):
        list(read_folder(mixed_folder, strict=True))


def test_cli_indexes_a_mixed_folder_reports_skips_and_writes_the_report(mixed_folder: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out, report = tmp_path / "col", tmp_path / "report.json"
    assert main(["index", str(mixed_folder), str(out), "--no-vectors", "--no-progress", "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "of 4 documents" in printed and "skipped 1 input(s): 1 unsupported type" in printed and "firmware.bin" in printed
    data = json.loads(report.read_text())
    assert data["documents"] == 4 and [s["path"] for s in data["skipped"]] == ["firmware.bin"]
    col = Collection.open(out)
    pages = [m for m, d in zip(col.chunks.column("metadata").to_pylist(), col.chunks.column("doc_id").to_pylist(),
                               strict=True) if d == "reset.pdf"]
    assert pages and all(m["page_start"] >= 1 for m in pages)
    assert main(["index", str(mixed_folder), str(tmp_path / "c2"), "--no-vectors", "--no-progress", "--strict"]) == 2
    assert "firmware.bin was not indexed" in capsys.readouterr().err


def test_cli_takes_a_single_pdf(tmp_path: Path, make, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    pdf = make.pdf(tmp_path / "reset.pdf")
    assert main(["index", str(pdf), str(tmp_path / "col"), "--no-vectors", "--no-progress"]) == 0
    assert "of 1 document" in capsys.readouterr().out
    assert main(["search", str(tmp_path / "col"), "flash memory", "--mode", "bm25", "-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["doc_id"] == "reset.pdf"


def _bm25():  # type: ignore[no-untyped-def]
    from ragkit import BM25Index

    return BM25Index()


RECORDS = [{"doc_id": "a", "content": "Reset the router.", "lang": "en", "year": 2020, "tags": ["x"], "nested": {"k": 1}},
           {"doc_id": 7, "content": "Routeur réinitialisé.", "lang": "fr", "year": 2021, "tags": [], "nested": {}},
           {"doc_id": "c", "content": "  ", "lang": "en", "year": 2022, "tags": [], "nested": {}}]


def _jsonl(path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    return path


def test_jsonl_field_mapping_keeps_every_scalar_field_by_default(tmp_path: Path) -> None:
    source = JsonlSource(_jsonl(tmp_path / "c.jsonl"), id_field="doc_id", text_field="content")
    docs = table_documents(_all(source))
    assert [(d.id, d.text) for d in docs] == [("a", "Reset the router."), ("7", "Routeur réinitialisé.")]
    assert dict(docs[0].metadata) == {"lang": "en", "year": 2020, "tags": ["x"]}  # nested objects are not metadata
    assert [s["reason"] for s in _skipped(source)] == ["empty"]
    only = JsonlSource(tmp_path / "c.jsonl", id_field="doc_id", text_field="content", metadata_fields=["lang"])
    assert dict(table_documents(_all(only))[1].metadata) == {"lang": "fr"}


def test_csv_and_parquet_map_fields_the_same_way(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k not in ("tags", "nested")} | {"title": f"T{i}"} for i, r in enumerate(RECORDS)]
    for r in rows:
        r["doc_id"] = str(r["doc_id"]).zfill(3)
    pa_table = pa.Table.from_pylist(rows)
    pq.write_table(pa_table, tmp_path / "c.parquet")
    (tmp_path / "c.csv").write_text("doc_id,content,lang,year,title\n" + "".join(
        f'{r["doc_id"]},"{r["content"]}",{r["lang"]},{r["year"]},{r["title"]}\n' for r in rows), encoding="utf-8")
    options = {"id_field": "doc_id", "text_field": "content", "title_field": "title"}
    got = []
    for source in (CsvSource(tmp_path / "c.csv", **options), ParquetSource(tmp_path / "c.parquet", **options),
                   open_source(tmp_path / "c.csv", **options)):
        docs = table_documents(_all(source))
        got.append([(d.id, d.text, dict(d.metadata)) for d in docs])
        assert [s["reason"] for s in _skipped(source)] == []  # a title alone is text
    assert got[0] == got[1] == got[2]
    assert got[0][0] == ("00a", "T0\n\nReset the router.", {"lang": "en", "year": 2020, "title": "T0"})
    assert got[0][2][1] == "T2"


def test_field_mapping_errors(tmp_path: Path, mixed_folder: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl")
    with pytest.raises(ConfigError, match="different fields"):
        FieldMap(id_field="x", text_field="x")
    with pytest.raises(ConfigError, match="not one str"):
        FieldMap(metadata_fields="lang")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="apply to JSONL, CSV and Parquet"):
        open_source(mixed_folder, id_field="doc_id")
    with pytest.raises(InputError, match="'id' must be a non-empty string"):
        JsonlSource(path).read(JsonlSource(path).plan(5)[0])
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), tmp_path / "a.parquet")
    with pytest.raises(InputError, match=r"no column\(s\) \['text'\].*--text-field"):
        ParquetSource(tmp_path / "a.parquet")


def test_cli_field_mapping_and_metadata_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _jsonl(tmp_path / "c.jsonl")
    out = tmp_path / "col"
    assert main(["index", str(path), str(out), "--no-vectors", "--no-progress", "--id-field", "doc_id",
                 "--text-field", "content", "--metadata-fields", "lang,year"]) == 0
    assert "skipped 1 input(s): 1 empty" in capsys.readouterr().out
    assert main(["search", str(out), "routeur", "--mode", "bm25", "--json", "--filter", '{"lang": "fr"}']) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [h["doc_id"] for h in hits] == ["7"]
    assert main(["index", str(path), str(tmp_path / "c2"), "--no-vectors", "--no-progress"]) == 2
    assert "'id' must be a non-empty string" in capsys.readouterr().err
