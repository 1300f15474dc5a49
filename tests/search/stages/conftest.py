"""A small corpus with metadata and access lists, as one collection and as a sharded one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit import BM25Index, FaissIndex, ShardedCollection
from ragkit.testing import HashEmbedder

WORDS = np.array(["cat", "dog", "bird", "fish", "snake", "horse", "fly", "swim", "legs", "purr", "sleep", "day",
                  "bark", "sing", "nest", "gills", "river", "ocean", "and", "the"])
GROUPS = ["red", "green", "blue"]
QUERIES = ["cat and dog", "fish swim river", "bird sing nest", "horse legs day"]


def stage_docs(n: int = 40, seed: int = 5) -> list[ragkit.Document]:
    rng = np.random.default_rng(seed)
    return [ragkit.Document(id=f"d{i}", text=" ".join(rng.choice(WORDS, size=int(rng.integers(6, 40)))),
                            metadata={"group": "even" if i % 2 == 0 else "odd", "acl": [GROUPS[i % 3]]})
            for i in range(n)]


def stage_chunker() -> ragkit.RecursiveChunker:
    return ragkit.RecursiveChunker(max_tokens=8, overlap=2, tokenizer="regex")


def build(docs: list[ragkit.Document]) -> ragkit.Collection:
    return ragkit.build_collection(docs, chunker=stage_chunker(), embedder=HashEmbedder(dimension=16),
                                   indexes=[FaissIndex("Flat"), BM25Index()])


@pytest.fixture
def docs() -> list[ragkit.Document]:
    return stage_docs()


@pytest.fixture
def collection(docs: list[ragkit.Document]) -> ragkit.Collection:
    return build(docs)


@pytest.fixture
def sharded(tmp_path: Path, docs: list[ragkit.Document]) -> ShardedCollection:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": d.id, "text": d.text, **d.metadata}) + "\n" for d in docs))
    source = ragkit.pipeline.JsonlSource(corpus, metadata_fields=["group", "acl"])
    ragkit.index_corpus(source, tmp_path / "sharded", chunker=stage_chunker(), embedder=HashEmbedder(dimension=16),
                        indexes=[FaissIndex("Flat"), BM25Index()], shard_docs=11, keep_shards=True, progress=False)
    return ShardedCollection.open(tmp_path / "sharded", embedder=HashEmbedder(dimension=16))
