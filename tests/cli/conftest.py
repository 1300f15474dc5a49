"""The ``ragkit`` command as a user runs it: a real subprocess, its stdout, stderr and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import ragkit
from ragkit.testing import HashEmbedder

ANIMALS = [
    ("cats", "Cats purr when they are content and sleep a lot.", "Cats"),
    ("dogs", "Dogs bark at strangers and love to fetch sticks.", "Dogs"),
    ("fish", "Fish breathe through gills and swim in rivers.", "Fish"),
]


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def ragkit_cli(*args: str | Path, stdin: str | None = None, timeout: float = 120) -> Result:
    """``python -m ragkit.cli ARGS`` in a fresh process."""
    proc = subprocess.run([sys.executable, "-m", "ragkit.cli", *map(str, args)], capture_output=True, text=True,
                          input=stdin, env=cli_env(), timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    """A 3-document BEIR folder with two judged queries."""
    root = tmp_path / "tiny"
    (root / "qrels").mkdir(parents=True)
    corpus = [{"_id": i, "title": title, "text": text} for i, text, title in ANIMALS]
    queries = [{"_id": "q1", "text": "why do cats purr"}, {"_id": "q2", "text": "how do fish breathe"}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries), encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tcats\t1\nq2\tfish\t1\n", encoding="utf-8")
    return root


@pytest.fixture
def bm25_collection(beir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "bm25"
    result = ragkit_cli("index", beir, out, "--no-vectors", "--no-progress")
    assert result.code == 0, result.err
    return out


@pytest.fixture
def hybrid_collection(tmp_path: Path) -> Path:
    """A saved hybrid collection with Markdown headings and metadata, embedded by the model-free HashEmbedder."""
    docs = [ragkit.Document(id="guide.md", text="# Guide\n\n## Saving\n\nCall save(path) to write the collection.\n",
                            metadata={"format": "md", "lang": "en"}),
            ragkit.Document(id="fish.md", text="# Fish\n\nFish breathe through gills.\n", metadata={"format": "md", "lang": "en"})]
    col = ragkit.build_collection(docs, chunker=ragkit.MarkdownChunker(tokenizer="regex", max_tokens=40, overlap=4),
                                  embedder=HashEmbedder(dimension=16))
    out = tmp_path / "hybrid"
    col.save(out)
    return out


@pytest.fixture
def cli() -> Callable[..., Result]:
    """``cli("search", folder, "query")`` runs ``python -m ragkit.cli search folder query`` (see :func:`ragkit_cli`)."""
    return ragkit_cli
