"""load_beir and default_data_dir on tiny folders written in tmp_path and on real SciFact."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ragkit.core.documents import Document
from ragkit.core.errors import ConfigError, InputError
from ragkit.eval import BeirDataset, default_data_dir, load_beir


def test_tiny_folder_documents(write_beir) -> None:
    ds = load_beir(write_beir())
    assert isinstance(ds, BeirDataset)
    assert ds.name == "tiny" and ds.split == "test"
    assert [d.id for d in ds.documents] == ["d1", "d2", "d3", "d5"]
    assert all(isinstance(d, Document) for d in ds.documents)
    by_id = {d.id: d for d in ds.documents}
    assert by_id["d1"].text == "Cats\n\nCats purr when content."
    assert by_id["d1"].metadata == {"title": "Cats"}
    assert by_id["d2"].text == "Dogs bark at strangers."  # blank title: text only
    assert by_id["d2"].metadata == {"title": ""}
    assert by_id["d3"].text == "Only a title"  # blank text: title only


def test_blank_records_skipped_with_warning(write_beir, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="ragkit.eval.beir"):
        load_beir(write_beir())
    assert "skipped 1 record(s)" in caplog.text


def test_queries_restricted_to_split(write_beir) -> None:
    root = write_beir()
    test = load_beir(root)
    assert test.queries == {"q1": "why do cats purr", "q2": "barking dogs"}
    assert test.qrels == {"q1": {"d1": 1, "d2": 0}, "q2": {"d2": 2, "d3": 1}}
    train = load_beir(root, split="train")
    assert train.queries == {"q3": "dawn chorus"}
    assert train.qrels == {"q3": {"d5": 1}}


def test_repr_is_short(write_beir) -> None:
    assert repr(load_beir(write_beir())) == (
        "BeirDataset(name='tiny', split='test', documents=4, queries=2, judgements=4)"
    )


def test_judged_doc_missing_from_corpus_warns(write_beir, caplog) -> None:
    root = write_beir(qrels={"test": [("q1", "d1", 1), ("q1", "d4", 1)]})  # d4 is blank, skipped
    with caplog.at_level(logging.WARNING, logger="ragkit.eval.beir"):
        ds = load_beir(root)
    assert ds.qrels == {"q1": {"d1": 1, "d4": 1}}  # kept: still counts as relevant
    assert "1 judged document id(s) are not in the loaded corpus" in caplog.text


def test_accepts_str_and_pathlike(write_beir) -> None:
    root = write_beir()
    assert load_beir(str(root)).qrels == load_beir(root).qrels


# -- bad input ---------------------------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        load_beir(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)
    assert "corpus.jsonl" in str(info.value) and "qrels/<split>.tsv" in str(info.value)


@pytest.mark.parametrize("victim", ["corpus.jsonl", "queries.jsonl"])
def test_missing_file(write_beir, victim: str) -> None:
    root = write_beir()
    (root / victim).unlink()
    with pytest.raises(InputError, match=f"has no '{victim}'") as info:
        load_beir(root)
    assert str(root / victim) in str(info.value) and "Expected" in str(info.value)


def test_missing_qrels_folder(write_beir) -> None:
    root = write_beir()
    for f in (root / "qrels").iterdir():
        f.unlink()
    (root / "qrels").rmdir()
    with pytest.raises(InputError, match="no 'qrels' folder"):
        load_beir(root)


def test_unknown_split_lists_available(write_beir) -> None:
    with pytest.raises(InputError, match=r"split 'dev'.*Available splits: 'test', 'train'\."):
        load_beir(write_beir(), split="dev")


def test_bad_split_type(write_beir) -> None:
    with pytest.raises(ConfigError, match="'split' parameter"):
        load_beir(write_beir(), split="")


def test_bad_json_line_names_line(write_beir) -> None:
    root = write_beir()
    with (root / "corpus.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    with pytest.raises(InputError, match=r"corpus\.jsonl:6: not valid JSON"):
        load_beir(root)


def test_record_without_id(write_beir) -> None:
    root = write_beir(corpus=[{"title": "t", "text": "x"}])
    with pytest.raises(InputError, match=r"corpus\.jsonl:1: '_id' must be a non-empty string"):
        load_beir(root)


def test_duplicate_document_id(write_beir) -> None:
    root = write_beir(corpus=[{"_id": "d1", "text": "a"}, {"_id": "d1", "text": "b"}],
                      qrels={"test": [("q1", "d1", 1)]})
    with pytest.raises(InputError, match="duplicate document id 'd1'"):
        load_beir(root)


def test_bad_qrels_score(write_beir) -> None:
    root = write_beir(qrels={"test": [("q1", "d1", "high")]})
    with pytest.raises(InputError, match=r"test\.tsv:2: score must be an integer"):
        load_beir(root)


def test_bad_qrels_field_count(write_beir) -> None:
    root = write_beir()
    with (root / "qrels" / "test.tsv").open("a", encoding="utf-8") as fh:
        fh.write("q1 0 d1 1\n")
    with pytest.raises(InputError, match="expected 3 tab-separated fields"):
        load_beir(root)


def test_judged_query_missing_from_queries(write_beir) -> None:
    root = write_beir(qrels={"test": [("q9", "d1", 1)]})
    with pytest.raises(InputError, match=r"1 query id\(s\) judged .* \(first: 'q9'\)"):
        load_beir(root)


# -- default_data_dir --------------------------------------------------------------------


def test_default_data_dir_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAGKIT_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path


def test_default_data_dir_fallback(monkeypatch) -> None:
    monkeypatch.delenv("RAGKIT_DATA_DIR", raising=False)
    found = default_data_dir()
    repo_root = Path(__file__).resolve().parents[2]
    expected = repo_root.parent / "shared" / "data"
    if expected.is_dir():  # compared resolved: the data folder may be reached through a symlink
        assert found is not None and found.resolve() == expected.resolve()
    else:
        assert found is None


# -- real data ---------------------------------------------------------------------------


def test_real_scifact(scifact_dir: Path) -> None:
    ds = load_beir(scifact_dir)
    assert ds.name == "scifact"
    assert len(ds.documents) == 5183
    assert len({d.id for d in ds.documents}) == 5183
    assert len(ds.queries) == 300
    assert set(ds.queries) == set(ds.qrels)
    assert sum(len(j) for j in ds.qrels.values()) == 339
    first = ds.documents[0]
    assert first.id == "4983"
    assert first.text.startswith(first.metadata["title"] + "\n\n")
