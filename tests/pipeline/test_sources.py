from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ragkit import ConfigError, InputError
from ragkit.eval import load_beir
from ragkit.pipeline.sources import (
    DOCUMENT_SCHEMA,
    BeirSource,
    FolderSource,
    JsonlSource,
    ParquetSource,
    html_to_text,
    iter_batches,
    open_source,
    read_folder,
    table_documents,
)


def _all(source, shard_docs: int) -> pa.Table:  # type: ignore[no-untyped-def]
    return pa.concat_tables(source.read(spec) for spec in source.plan(shard_docs))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text("# A\n\nalpha text", encoding="utf-8")
    (root / "sub" / "b.txt").write_text("beta text", encoding="utf-8")
    (root / "c.html").write_text("<html><head><title>Gamma</title><style>p{}</style></head>"
                                 "<body><h2>Head</h2><p>gamma &amp; delta</p><script>var x;</script></body></html>", encoding="utf-8")
    (root / "empty.md").write_text("   \n", encoding="utf-8")
    (root / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (root / "skip.bin").write_bytes(b"\x00\x01")
    return root


def test_folder_reads_text_markdown_and_html_in_path_order(folder: Path) -> None:
    table = _all(FolderSource(folder), shard_docs=2)
    assert table.schema == DOCUMENT_SCHEMA
    assert table.column("id").to_pylist() == ["a.md", "c.html", "sub/b.txt"]
    html = table_documents(table)[1]
    assert html.text == "## Head\n\ngamma & delta"
    assert html.metadata == {"source": "c.html", "format": "html", "title": "Gamma"}


def test_folder_plan_cuts_files_into_shards(folder: Path) -> None:
    plan = FolderSource(folder).plan(2)
    assert [s["index"] for s in plan] == [0, 1, 2]
    assert [len(s["files"]) for s in plan] == [2, 2, 1]  # empty / non-UTF-8 files are reported at read time
    assert [s["path"] for s in plan[0]["skipped"]] == ["skip.bin"]  # unsupported types, at planning


def test_read_folder_reads_what_the_folder_source_reads(folder: Path) -> None:
    docs = list(read_folder(folder))
    assert [d.id for d in docs] == ["a.md", "c.html", "sub/b.txt"]  # every readable type, as `ragkit index`
    assert docs[0].metadata == {"source": "a.md", "format": "md"}
    assert [d.id for d in read_folder(folder, suffixes=[".md", ".txt"])] == ["a.md", "sub/b.txt"]


def test_folder_source_reads_a_single_file(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    table = _all(FolderSource(tmp_path / "f.txt"), 5)
    assert table.column("id").to_pylist() == ["f.txt"]
    with pytest.raises(InputError, match="neither a folder"):
        FolderSource(tmp_path / "missing")


def test_html_to_text_drops_scripts_and_keeps_structure() -> None:
    text, title = html_to_text("<title>T</title><ul><li>one</li><li>two</li></ul><noscript>no</noscript>")
    assert (text, title) == ("one\ntwo", "T")


def _write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" if r is not None else "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("shard_docs", [1, 2, 3, 10])
def test_jsonl_byte_ranges_cover_every_record_once(tmp_path: Path, shard_docs: int) -> None:
    records = [{"id": f"d{i}", "text": f"text number {i}", "lang": "en"} for i in range(7)]
    path = _write_jsonl(tmp_path / "c.jsonl", [records[0], None, *records[1:]])  # a blank line inside
    source = JsonlSource(path, metadata_fields=["lang"])
    plan = source.plan(shard_docs)
    assert sum(s["docs"] for s in plan) == 7
    table = _all(source, shard_docs)
    assert table.column("id").to_pylist() == [r["id"] for r in records]
    assert table_documents(table)[3].metadata == {"lang": "en"}


def test_jsonl_int_ids_and_blank_texts(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": 7, "text": "seven"}, {"id": "b", "text": "  "}])
    assert _all(JsonlSource(path), 5).column("id").to_pylist() == ["7"]


@pytest.mark.parametrize(("line", "message"), [
    ("{bad", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"text": "x"}', "'id' must be a non-empty string"),
    ('{"id": "a", "text": 3}', "'text' must be a string"),
])
def test_jsonl_bad_records_name_the_problem(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    source = JsonlSource(path)
    with pytest.raises(InputError, match=message):
        source.read(source.plan(10)[0])


def test_jsonl_duplicate_ids_in_a_shard(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    source = JsonlSource(path)
    with pytest.raises(InputError, match="duplicate document id 'a'"):
        source.read(source.plan(10)[0])


def test_beir_source_matches_load_beir(beir_folder: Path) -> None:
    expected = load_beir(beir_folder).documents
    got = table_documents(_all(BeirSource(beir_folder), 2))
    assert [(d.id, d.text, dict(d.metadata)) for d in got] == [(d.id, d.text, dict(d.metadata)) for d in expected]


def test_beir_source_needs_a_corpus(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no corpus.jsonl"):
        BeirSource(tmp_path)


def test_parquet_row_ranges_across_row_groups_and_files(tmp_path: Path) -> None:
    root = tmp_path / "pq"
    root.mkdir()
    ids = [f"d{i}" for i in range(23)]
    texts = [f"text {i}" if i != 5 else " " for i in range(23)]
    pq.write_table(pa.table({"id": ids[:17], "body": texts[:17], "year": list(range(17))}), root / "a.parquet", row_group_size=4)
    pq.write_table(pa.table({"id": ids[17:], "body": texts[17:], "year": list(range(17, 23))}), root / "b.parquet")
    source = ParquetSource(root, text_field="body", metadata_fields=["year"])
    plan = source.plan(5)
    assert [s["docs"] for s in plan] == [5, 5, 5, 2, 5, 1]
    table = _all(source, 5)
    assert table.column("id").to_pylist() == [i for i, t in zip(ids, texts, strict=True) if t.strip()]
    assert table_documents(table)[0].metadata == {"year": 0}


def test_parquet_missing_column(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), tmp_path / "a.parquet")
    with pytest.raises(InputError, match=r"no column\(s\) \['text'\]"):
        ParquetSource(tmp_path / "a.parquet")


def test_open_source_guesses_the_kind(tmp_path: Path, folder: Path, beir_folder: Path) -> None:
    jsonl = _write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "x"}])
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    pq.write_table(pa.table({"id": ["a"], "text": ["x"]}), pq_dir / "p.parquet")
    assert isinstance(open_source(beir_folder), BeirSource)
    assert type(open_source(jsonl)) is JsonlSource
    assert isinstance(open_source(pq_dir), ParquetSource)
    assert isinstance(open_source(pq_dir / "p.parquet"), ParquetSource)
    assert isinstance(open_source(folder), FolderSource)
    with pytest.raises(InputError, match="does not exist"):
        open_source(tmp_path / "missing")
    with pytest.raises(ConfigError, match="kind"):
        open_source(folder, kind="xml")


def test_iter_batches_streams_record_batches(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": f"d{i}", "text": "x"} for i in range(5)])
    batches = list(iter_batches(JsonlSource(path), shard_docs=2))
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert [b.num_rows for b in batches] == [2, 2, 1]
