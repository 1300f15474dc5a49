"""Each option and message of ``ragkit index/search/eval/info`` through a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def test_version_names_ragkit_and_its_libraries(cli: Any) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.startswith(f"ragkit {__import__('ragkit').__version__} (python ")
    assert "numpy" in result.out and "pyarrow" in result.out


def test_help_lists_every_command(cli: Any) -> None:
    result = cli("--help")
    for command in ("index", "search", "eval", "info", "--version"):
        assert command in result.out


def test_index_bm25_options_are_recorded_and_counts_agree_in_number(tmp_path: Path, cli: Any) -> None:
    docs = tmp_path / "one"
    docs.mkdir()
    (docs / "note.md").write_text("# Note\n\nRunning runners ran.\n", encoding="utf-8")
    out = tmp_path / "col"
    result = cli("index", docs, out, "--no-vectors", "--no-progress", "--shard-docs", "1", "--bm25-variant", "okapi",
                        "--bm25-k1", "1.2", "--bm25-b", "0.5", "--stemmer", "none")
    assert result.code == 0, result.err
    assert "shards of 1 document)" in result.out
    assert "saved 1 chunk of 1 document " in result.out and "(1 shard;" in result.out
    assert "emb" not in result.out + result.err  # nothing about embedding without vectors
    info = json.loads(cli("info", out, "--json").out)
    assert info["indexes"]["bm25"] == {"kind": "bm25", "type": "BM25Index", "variant": "okapi", "k1": 1.2, "b": 0.5,
                                       "stemmer": None, "stopwords": "en"}
    hits = cli("search", out, "runners", "--json")
    assert json.loads(hits.out.splitlines()[0])["doc_id"] == "note.md"


def test_verbose_prints_the_summary_once(beir: Path, tmp_path: Path, cli: Any) -> None:
    result = cli("-v", "index", beir, tmp_path / "col", "--no-vectors", "--no-progress")
    assert result.code == 0, result.err
    assert (result.out + result.err).count("saved 3 chunks of 3 documents") == 1


def test_progress_lines_without_a_terminal_have_rate_and_end_once(beir: Path, tmp_path: Path, cli: Any) -> None:
    result = cli("index", beir, tmp_path / "col", "--no-vectors")
    lines = [line for line in result.err.splitlines() if line.startswith("indexing (local):")]
    assert len(lines) == 1  # the closing line; no duplicated final bar
    assert "3/3 documents (100%)" in lines[0] and "documents/s" in lines[0] and "embedded" not in lines[0]


def test_bad_index_options_are_named_by_their_flag(beir: Path, tmp_path: Path, cli: Any) -> None:
    for flag, value in (("--shard-docs", "0"), ("--bm25-b", "2"), ("--bm25-k1", "-1"), ("--stemmer", "klingon")):
        result = cli("index", beir, tmp_path / "o", "--no-vectors", flag, value)
        assert result.code == 2
        assert result.err.startswith("ragkit index: error: ") and flag in result.err, result.err


def test_search_fusion_options_and_json_metadata(hybrid_collection: Path, cli: Any) -> None:
    result = cli("search", hybrid_collection, "how do I save?", "-k", "2", "--fusion", "rrf", "--rrf-k", "10", "--weights", "0.2", "0.8",
                        "--candidates", "5", "--json")
    assert result.code == 0, result.err
    hits = [json.loads(line) for line in result.out.splitlines()]
    assert [h["rank"] for h in hits] == [1, 2]
    saving = next(h for h in hits if h["headings"] == ["Guide", "Saving"])
    assert saving["metadata"]["lang"] == "en" and saving["metadata"]["format"] == "md"
    assert set(saving["legs"]) <= {"bm25", "dense"}
    scores = {}
    for weights in (("0", "1"), ("1", "1")):
        out = cli("search", hybrid_collection, "fish gills", "--fusion", "score", "--weights", *weights, "--json").out
        scores[weights] = [json.loads(line)["score"] for line in out.splitlines()]
    assert scores[("0", "1")] != scores[("1", "1")]  # the weights reach the fusion
    bad = cli("search", hybrid_collection, "x", "--fusion", "score", "--rrf-k", "5")
    assert bad.code == 2 and "--rrf-k applies to --fusion rrf" in bad.err
    bad = cli("search", hybrid_collection, "x", "--candidates", "0")
    assert bad.code == 2 and "--candidates" in bad.err


def test_queries_from_a_file_or_stdin(hybrid_collection: Path, tmp_path: Path, cli: Any) -> None:
    file = tmp_path / "queries.txt"
    file.write_text("fish gills\n\nsave the collection\n", encoding="utf-8")
    from_file = cli("search", hybrid_collection, "--queries-file", file, "-k", "1", "--json")
    assert [json.loads(line)["query"] for line in from_file.out.splitlines()] == ["fish gills", "save the collection"]
    from_stdin = cli("search", hybrid_collection, "--queries-file", "-", "-k", "1", "--json", stdin="fish gills\n")
    assert json.loads(from_stdin.out)["doc_id"] == "fish.md"
    none = cli("search", hybrid_collection)
    assert none.code == 2 and "--queries-file" in none.err
    missing = cli("search", hybrid_collection, "--queries-file", tmp_path / "nope.txt")
    assert missing.code == 2 and "--queries-file" in missing.err and "Traceback" not in missing.err


def test_empty_query_is_numbered_from_one(hybrid_collection: Path, cli: Any) -> None:
    result = cli("search", hybrid_collection, "fish", "   ")
    assert result.code == 2 and "Query #2 of 2 is empty" in result.err


def test_search_on_a_bm25_only_collection(bm25_collection: Path, cli: Any) -> None:
    fallback = cli("search", bm25_collection, "fish gills", "-k", "1")
    assert fallback.code == 0 and "BM25 only" in fallback.err and "fish" in fallback.out
    dense = cli("search", bm25_collection, "fish", "--mode", "dense")
    assert dense.code == 2 and "--mode bm25" in dense.err and "--no-vectors" in dense.err


def test_eval_runs_what_the_collection_supports(bm25_collection: Path, beir: Path, cli: Any) -> None:
    default = cli("eval", bm25_collection, beir)
    assert default.code == 0, default.err
    assert "evaluating bm25 only" in default.err
    assert "2 judged queries (test), 3 chunks" in default.out and "dense" not in default.out
    rows = cli("eval", bm25_collection, beir, "--metrics", "ndcg@3", "recall@2", "-k", "3", "--json")
    data = [json.loads(line) for line in rows.out.splitlines()]
    assert [d["mode"] for d in data] == ["bm25"] and set(data[0]["metrics"]) == {"ndcg@3", "recall@2"}
    assert data[0]["metrics"]["ndcg@3"] == 1.0 and data[0]["k"] == 3 and data[0]["queries"] == 2
    deep = cli("eval", bm25_collection, beir, "--metrics", "recall@100", "-k", "10")
    assert deep.code == 2 and "raise -k" in deep.err
    dense = cli("eval", bm25_collection, beir, "--modes", "dense")
    assert dense.code == 2 and "--modes bm25" in dense.err
    assert "mode" not in dense.out  # the header is not printed before the error


def test_info_describes_a_collection(hybrid_collection: Path, cli: Any) -> None:
    text = cli("info", hybrid_collection)
    assert text.code == 0, text.err
    assert "chunks of 2 documents" in text.out and "model: hash" in text.out.lower()
    assert "index vector: vector FaissIndex" in text.out and "index bm25: bm25 BM25Index" in text.out
    assert "fields: format (string), headings" in text.out and "size on disk:" in text.out
    data = json.loads(cli("info", hybrid_collection, "--json").out)
    assert data["documents"] == 2 and data["dimension"] == 16 and data["kind"] == "collection"
    assert data["size_bytes"] == sum(p.stat().st_size for p in hybrid_collection.rglob("*") if p.is_file())
    assert data["read_by"]["ragkit"] == __import__("ragkit").__version__ and data["format_version"] == 2


def test_missing_collection_points_to_the_command_that_builds_one(tmp_path: Path, cli: Any) -> None:
    for command in (("search", tmp_path, "x"), ("info", tmp_path)):
        result = cli(*command)
        assert result.code == 2
        assert f"Build one with: ragkit index SOURCE {tmp_path}" in result.err
        assert "build_collection" not in result.err


def test_index_whole_documents_gives_one_chunk_each(beir: Path, tmp_path: Path, cli: Any) -> None:
    out = tmp_path / "col"
    result = cli("index", beir, out, "--no-vectors", "--no-progress", "--chunker", "whole")
    assert result.code == 0, result.err
    assert "saved 3 chunks of 3 documents" in result.out
    info = json.loads(cli("info", out, "--json").out)
    assert info["chunker"] == {"type": "WholeDocumentChunker"}
