"""CachedEmbedder: each text is encoded once per model + settings; vectors survive restarts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit import ConfigError, InputError
from ragkit.embedding import CachedEmbedder, EmbeddingCache, default_cache_dir
from ragkit.testing import HashEmbedder


class PromptedEmbedder(HashEmbedder):
    """A fake embedder that declares its fingerprint, like SentenceTransformerEmbedder does."""

    def __init__(self, query_prompt: str = "", document_prompt: str = "") -> None:
        super().__init__(dimension=16)
        self.prompts = {"query": query_prompt, "document": document_prompt}
        self.batches: list[list[str]] = []

    def cache_fingerprint(self, mode: str) -> dict[str, Any]:
        return {"model": "prompted", "prompt": self.prompts[mode], "normalize": True, "max_seq_length": 128}

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return super().embed_documents([self.prompts["document"] + t for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return super().embed_queries([self.prompts["query"] + t for t in texts])


def test_hits_are_not_re_encoded(tmp_path: Path) -> None:
    inner = HashEmbedder(dimension=16)
    emb = CachedEmbedder(inner, tmp_path)
    first = emb.embed_documents(["alpha", "beta", "gamma"])
    assert inner.calls == 3 and (emb.hits, emb.misses) == (0, 3)
    again = emb.embed_documents(["gamma", "alpha", "beta"])
    assert inner.calls == 3 and emb.hits == 3
    np.testing.assert_array_equal(again, first[[2, 0, 1]])
    mixed = emb.embed_documents(["beta", "delta", "alpha", "delta"])
    assert inner.calls == 4  # only "delta", once although asked twice
    np.testing.assert_array_equal(mixed, inner.embed_documents(["beta", "delta", "alpha", "delta"]))


def test_vectors_equal_the_wrapped_embedder_and_persist_across_instances(tmp_path: Path) -> None:
    texts = [f"text number {i}" for i in range(50)]
    reference = HashEmbedder(dimension=16).embed_documents(texts)
    CachedEmbedder(HashEmbedder(dimension=16), tmp_path).embed_documents(texts)
    fresh_inner = HashEmbedder(dimension=16)
    fresh = CachedEmbedder(fresh_inner, tmp_path)
    np.testing.assert_array_equal(fresh.embed_documents(texts), reference)
    assert fresh_inner.calls == 0 and fresh.hits == 50
    assert list(tmp_path.rglob("*.tmp")) == []  # atomic writes leave nothing behind


def test_settings_are_part_of_the_key(tmp_path: Path) -> None:
    base = PromptedEmbedder()
    CachedEmbedder(base, tmp_path).embed_documents(["x", "y"])
    other_prompt = PromptedEmbedder(document_prompt="passage: ")
    CachedEmbedder(other_prompt, tmp_path).embed_documents(["x", "y"])
    assert other_prompt.batches == [["x", "y"]]  # another prompt: encoded again
    other_model = HashEmbedder(dimension=16, model="another")
    CachedEmbedder(other_model, tmp_path).embed_documents(["x"])
    assert other_model.calls == 1
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3


def test_queries_share_vectors_with_documents_only_when_the_prompt_is_the_same(tmp_path: Path) -> None:
    same = PromptedEmbedder()
    emb = CachedEmbedder(same, tmp_path)
    emb.embed_documents(["shared text"])
    emb.embed_queries(["shared text"])
    assert same.batches == [["shared text"]]
    prompted = PromptedEmbedder(query_prompt="query: ")
    emb = CachedEmbedder(prompted, tmp_path / "p")
    emb.embed_documents(["shared text"])
    emb.embed_queries(["shared text"])
    assert prompted.batches == [["shared text"], ["shared text"]]


def test_query_caching_can_be_turned_off(tmp_path: Path) -> None:
    inner = HashEmbedder(dimension=16)
    emb = CachedEmbedder(inner, tmp_path, cache_queries=False)
    emb.embed_queries(["q"])
    emb.embed_queries(["q"])
    assert inner.calls == 2 and emb.hits == 0


def test_an_unreadable_shard_is_ignored_and_re_encoded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    CachedEmbedder(HashEmbedder(dimension=16), tmp_path).embed_documents(["a", "b"])
    (shard,) = tmp_path.rglob("shard-*.arrow")
    good = shard.read_bytes()
    shard.write_bytes(good[: len(good) // 2])
    inner = HashEmbedder(dimension=16)
    with caplog.at_level(logging.WARNING, logger="ragkit.embedding.cache"):
        out = CachedEmbedder(inner, tmp_path).embed_documents(["a", "b"])
    assert inner.calls == 2 and "unreadable shard" in caplog.text
    np.testing.assert_array_equal(out, HashEmbedder(dimension=16).embed_documents(["a", "b"]))
    assert shard.exists()  # nothing stored is deleted


def test_empty_and_bad_input(tmp_path: Path) -> None:
    emb = CachedEmbedder(HashEmbedder(dimension=16), tmp_path)
    assert emb.embed_documents([]).shape == (0, 16)
    with pytest.raises(InputError, match="single str"):
        emb.embed_documents("not a list")
    with pytest.raises(ConfigError, match="'embedder' parameter of CachedEmbedder"):
        CachedEmbedder(object(), tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="JSON-serialisable"):
        EmbeddingCache(tmp_path, {"bad": object()})


def test_the_wrapper_is_transparent_to_collections(tmp_path: Path, animal_docs: list[ragkit.Document],
                                                    small_chunker: ragkit.RecursiveChunker) -> None:
    inner = HashEmbedder(dimension=16)
    emb = CachedEmbedder(inner, tmp_path / "cache")
    assert emb.model_id == inner.model_id and emb.dimension == 16 and emb.get_config() == inner.get_config()
    col = ragkit.build_collection(animal_docs, chunker=small_chunker, embedder=emb,
                                  indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
    calls = inner.calls
    ragkit.build_collection(animal_docs, chunker=small_chunker, embedder=emb,
                            indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
    assert inner.calls == calls  # the rebuild encoded nothing
    reopened = ragkit.Collection.open(col.save(tmp_path / "col"))
    assert type(reopened.embedder) is HashEmbedder
    assert [h.doc_id for h in ragkit.DenseRetriever(reopened).search("cats purr", k=2)] == \
        [h.doc_id for h in ragkit.DenseRetriever(col).search("cats purr", k=2)]


def test_default_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAGKIT_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    assert CachedEmbedder(HashEmbedder(dimension=8)).cache_dir == tmp_path / "embeddings"
    monkeypatch.delenv("RAGKIT_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "ragkit"
