from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ragkit
from ragkit import ConfigError, CorruptIndexError, HybridRetriever, InputError
from ragkit.observe import LOG_SCHEMA, ObservedRetriever, QueryLog, read_log

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def record(i: int, **over: Any) -> dict[str, Any]:
    row = {"ts": T0 + dt.timedelta(minutes=i), "query": f"q{i}", "k": 3, "filters": None, "retriever": "hybrid",
           "collection": "c", "generation": "1,1", "rows": [i, i + 1], "doc_ids": [f"d{i}", f"d{i + 1}"],
           "scores": [0.9, 0.5], "top1": 0.9, "legs": [{"name": "bm25", "rows": [i], "scores": [3.0]}],
           "latency_s": 0.01, "batch_size": 1, "stages": [{"name": "hits", "seconds": 0.001}]}
    row.update(over)
    return row


def test_observed_searches_are_logged_with_results_and_timings(animal_collection: ragkit.Collection, tmp_path: Path) -> None:
    retriever = HybridRetriever(animal_collection)
    with QueryLog(tmp_path / "log") as log:
        observed = ObservedRetriever(retriever, collection="animals", query_log=log)
        results = observed.search_batch(["cats purr", "fish gills"], k=3, filters={"legs": {"$gte": 0}})
        observed.search("dogs bark", k=2)
        assert log.files() == []  # nothing readable before the segment closes
    table = read_log(tmp_path / "log")
    assert table.schema.equals(LOG_SCHEMA)
    assert table.column("query").to_pylist() == ["cats purr", "fish gills", "dogs bark"]
    assert table.column("rows")[0].as_py() == [h.chunk_row for h in results[0]]
    assert table.column("doc_ids")[1].as_py() == [h.doc_id for h in results[1]]
    assert table.column("top1")[0].as_py() == pytest.approx(results[0][0].score)
    assert table.column("filters")[0].as_py() == '{"legs":{"$gte":0}}' and table.column("filters")[2].as_py() is None
    assert table.column("generation")[0].as_py() == ",".join(map(str, retriever.generation))
    legs = table.column("legs")[0].as_py()
    assert [leg["name"] for leg in legs] == ["bm25", "dense"] and len(legs[1]["rows"]) == 3
    stages = [s["name"] for s in table.column("stages")[2].as_py()]
    assert stages[-1] == "hits" and "dense.embed" in stages
    assert table.column("batch_size").to_pylist() == [2, 2, 1]
    assert all(x > 0 for x in table.column("latency_s").to_pylist())


def test_segments_rotate_by_row_count(tmp_path: Path) -> None:
    log = QueryLog(tmp_path, max_rows=5, flush_rows=2)
    log.append([record(i) for i in range(12)])
    assert len(log.files()) == 2  # two full segments closed; two rows in the open one
    assert list(tmp_path.glob("*.part"))
    log.close()
    files = log.files()
    assert [pa.ipc.open_file(pa.memory_map(str(f))).read_all().num_rows for f in files] == [5, 5, 2]
    assert read_log(tmp_path).column("query").to_pylist() == [f"q{i}" for i in range(12)]
    assert not list(tmp_path.glob("*.part"))


def test_segments_rotate_by_size_and_old_ones_are_dropped(tmp_path: Path) -> None:
    log = QueryLog(tmp_path, max_bytes=1, flush_rows=1, max_files=3)
    log.append([record(i) for i in range(7)])
    log.close()
    assert len(log.files()) == 3
    assert read_log(tmp_path).column("query").to_pylist() == ["q4", "q5", "q6"]


def test_a_reopened_log_continues_numbering(tmp_path: Path) -> None:
    with QueryLog(tmp_path) as log:
        log.append([record(0)])
    with QueryLog(tmp_path) as log:
        log.append([record(1)])
    assert len(QueryLog(tmp_path).files()) == 2
    assert read_log(tmp_path).column("query").to_pylist() == ["q0", "q1"]


def test_time_window_filter(tmp_path: Path) -> None:
    with QueryLog(tmp_path) as log:
        log.append([record(i) for i in range(10)])
    part = read_log(tmp_path, start=T0 + dt.timedelta(minutes=3), end=T0 + dt.timedelta(minutes=6))
    assert part.column("query").to_pylist() == ["q3", "q4", "q5"]
    with pytest.raises(InputError, match="timezone-aware"):
        read_log(tmp_path, start=dt.datetime(2026, 1, 1))


def test_bad_records_are_refused_and_logged_rows_survive(tmp_path: Path) -> None:
    log = QueryLog(tmp_path, flush_rows=1)
    log.append([record(0)])
    with pytest.raises(InputError, match="schema"):
        log.append([record(1, rows="not a list")])
    log.close()
    assert read_log(tmp_path).column("query").to_pylist() == ["q0"]


def test_bad_configuration_and_corrupt_segments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_rows"):
        QueryLog(tmp_path, max_rows=0)
    with pytest.raises(InputError, match="prefix"):
        QueryLog(tmp_path, prefix="../x")
    (tmp_path / "queries-20260101T000000Z-000001.arrow").write_bytes(b"not arrow")
    with pytest.raises(CorruptIndexError, match="not a readable query-log segment"):
        read_log(tmp_path)


def test_an_empty_log_reads_as_an_empty_table(tmp_path: Path) -> None:
    table = read_log(tmp_path)
    assert table.num_rows == 0 and table.schema.equals(LOG_SCHEMA)
