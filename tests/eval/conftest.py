"""Fixtures for the evaluation tests: a writer of tiny BEIR folders.

``scifact_dir`` (the real data, or a skip) comes from ``tests/conftest.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

TINY_CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "Cats purr when content."},
    {"_id": "d2", "title": "", "text": "Dogs bark at strangers."},
    {"_id": "d3", "title": "Only a title", "text": ""},
    {"_id": "d4", "title": "  ", "text": "\n"},  # blank: skipped
    {"_id": "d5", "title": "Birds", "text": "Birds sing at dawn."},
]
TINY_QUERIES = [
    {"_id": "q1", "text": "why do cats purr"},
    {"_id": "q2", "text": "barking dogs"},
    {"_id": "q3", "text": "dawn chorus"},  # judged only in the train split
]
TINY_QRELS = {
    "test": [("q1", "d1", 1), ("q1", "d2", 0), ("q2", "d2", 2), ("q2", "d3", 1)],
    "train": [("q3", "d5", 1)],
}

WriteBeir = Callable[..., Path]


@pytest.fixture
def write_beir(tmp_path: Path) -> WriteBeir:
    """Return ``write(name="tiny", corpus=..., queries=..., qrels=...) -> folder``."""

    def write(
        name: str = "tiny",
        corpus: list[dict] | None = None,
        queries: list[dict] | None = None,
        qrels: dict[str, list[tuple[str, str, int]]] | None = None,
    ) -> Path:
        root = tmp_path / name
        (root / "qrels").mkdir(parents=True)
        for file, records in (("corpus.jsonl", corpus or TINY_CORPUS), ("queries.jsonl", queries or TINY_QUERIES)):
            (root / file).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        for split, rows in (qrels or TINY_QRELS).items():
            body = "".join(f"{q}\t{d}\t{s}\n" for q, d, s in rows)
            (root / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + body, encoding="utf-8")
        return root

    return write
