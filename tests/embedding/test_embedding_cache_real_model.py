"""The embedding cache with the real default model: fingerprint and identical vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ragkit import SentenceTransformerEmbedder
from ragkit.embedding import DEFAULT_MODEL_SHA256, CachedEmbedder


def test_fingerprint_and_cached_vectors_match_the_model(tmp_path: Path) -> None:
    model = SentenceTransformerEmbedder(query_prompt="query: ", batch_size=8)
    fp = model.cache_fingerprint("query")
    # backend="auto": queries run on ONNX Runtime, and the fingerprint says so (their last bits differ from torch's)
    assert fp == {"model": "sentence-transformers/all-MiniLM-L6-v2", "weights_sha256": DEFAULT_MODEL_SHA256,
                  "prompt": "query: ", "normalize": True, "max_seq_length": 256, "backend": "onnx"}
    assert "backend" not in model.cache_fingerprint("document")
    assert "backend" not in SentenceTransformerEmbedder(query_prompt="query: ", backend="torch").cache_fingerprint("query")
    assert model.cache_fingerprint("document")["prompt"] == ""
    texts = ["BM25 ranks documents by term statistics.", "Dense retrieval embeds queries and passages."]
    direct = model.embed_documents(texts)
    cached = CachedEmbedder(model, tmp_path)
    np.testing.assert_array_equal(cached.embed_documents(texts), direct)
    np.testing.assert_array_equal(CachedEmbedder(model, tmp_path).embed_documents(texts), direct)
    np.testing.assert_allclose(cached.embed_queries(texts[:1]), model.embed_queries(texts[:1]), atol=1e-6)
    assert SentenceTransformerEmbedder(max_seq_length=128).cache_fingerprint("document")["max_seq_length"] == 128


def test_a_model_given_by_path_is_fingerprinted_by_its_weights() -> None:
    from ragkit.embedding import default_model_path

    path = str(default_model_path())
    by_path = SentenceTransformerEmbedder(path, batch_size=8)
    assert by_path.model_id == path  # a path is not the default alias: generic route
    digest = by_path.weights_sha256()
    assert len(digest) == 64 and digest != DEFAULT_MODEL_SHA256  # hashed from the loaded parameters
    assert SentenceTransformerEmbedder(path).weights_sha256() == digest
    assert by_path.cache_fingerprint("document")["weights_sha256"] == digest
