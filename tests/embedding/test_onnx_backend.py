"""The ONNX Runtime backend: same vectors as torch, exported once and cached by weights, no torch at query time."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ragkit import SentenceTransformerEmbedder
from ragkit.core.errors import ConfigError, MissingDependencyError, ModelIntegrityError
from ragkit.embedding import onnx_export
from ragkit.embedding.onnx_model import describe_model

pytest.importorskip("onnxruntime", reason="onnxruntime is a runtime dependency; .ci/run installs it")

TEXTS = [
    "what is bm25?",
    "   leading and trailing spaces   ",
    "",
    "Ünïcödé — 日本語 🎉",
    "word " * 400,  # truncated at max_seq_length
    "How are chunk offsets kept exact when a document is split?",
]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = sorted({w.strip("?.,!").lower() for t in TEXTS for w in t.split()} - {""})


def tiny_model(folder: Path, *, pooling: str = "mean", dense: bool = False, seed: int = 0) -> Path:
    """A 2-layer BERT saved as a sentence-transformers folder (Transformer + Pooling [+ Dense] + Normalize)."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "vocab.txt").write_text("\n".join([*SPECIAL, *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(raw / "vocab.txt"), do_lower_case=True).save_pretrained(raw)
    torch.manual_seed(seed)
    BertModel(BertConfig(vocab_size=len(SPECIAL) + len(WORDS), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64)).save_pretrained(raw)
    transformer = models.Transformer(str(raw), max_seq_length=48)
    modules = [transformer, models.Pooling(16, pooling_mode=pooling)]
    if dense:
        modules.append(models.Dense(16, 8))
    modules.append(models.Normalize())
    out = folder / "st"
    SentenceTransformer(modules=modules, device="cpu").save(str(out))
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny-st"))


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAGKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_default_model_gives_torchs_vectors() -> None:
    """The default model: queries and documents, with a prompt, equal torch's to float32 rounding."""
    onnx = SentenceTransformerEmbedder(backend="onnx", query_prompt="query: ", batch_size=2)
    torch_ = SentenceTransformerEmbedder(backend="torch", query_prompt="query: ")
    for mode in ("embed_queries", "embed_documents"):
        got, want = getattr(onnx, mode)(TEXTS), getattr(torch_, mode)(TEXTS)
        assert got.dtype == np.float32 and got.shape == (len(TEXTS), 384)
        np.testing.assert_allclose(got, want, atol=2e-6)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    assert onnx.dimension == 384 and onnx.max_seq_length == 256 and onnx.device == "cpu"
    assert onnx.model_id == torch_.model_id  # same vectors: a collection built with either accepts the other
    auto = SentenceTransformerEmbedder()
    assert auto.onnx_encoder("query") is not None and auto.onnx_encoder("document") is None


@pytest.mark.parametrize("pooling", ["mean", "cls", "max", "mean_sqrt_len_tokens"])
def test_pooling_modes_match_torch(tmp_path: Path, cache: Path, pooling: str) -> None:
    folder = tiny_model(tmp_path / "m", pooling=pooling, seed=1)
    onnx = SentenceTransformerEmbedder(str(folder), backend="onnx", batch_size=4)
    torch_ = SentenceTransformerEmbedder(str(folder), backend="torch")
    np.testing.assert_allclose(onnx.embed_documents(TEXTS), torch_.embed_documents(TEXTS), atol=1e-5)
    assert onnx.max_seq_length == 48  # from the model's sentence_bert_config.json
    order = [3, 0, 5, 1, 4, 2]
    np.testing.assert_allclose(onnx.embed_documents([TEXTS[i] for i in order]), onnx.embed_documents(TEXTS)[order],
                               atol=1e-6)


def test_export_is_cached_by_weights_and_reused(tiny: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = SentenceTransformerEmbedder(str(tiny), backend="onnx").embed_queries(TEXTS)
    folders = list((cache / "onnx").iterdir())
    assert len(folders) == 1
    meta = json.loads((folders[0] / "onnx.json").read_text())
    from ragkit.core.hashing import sha256_file

    assert folders[0].name == meta["weights_sha256"] == sha256_file(tiny / "model.safetensors")
    assert meta["verified_max_abs_diff"] <= onnx_export.TOLERANCE

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("exported again although a verified export is cached")

    monkeypatch.setattr(onnx_export, "export_model", refuse)
    np.testing.assert_array_equal(SentenceTransformerEmbedder(str(tiny), backend="onnx").embed_queries(TEXTS), first)


def test_a_corrupt_export_is_detected_and_made_again(tiny: Path, cache: Path, caplog: pytest.LogCaptureFixture) -> None:
    want = SentenceTransformerEmbedder(str(tiny), backend="onnx").embed_queries(TEXTS)
    (folder,) = (cache / "onnx").iterdir()
    data = bytearray((folder / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="ragkit.embedding.onnx_model"):
        got = SentenceTransformerEmbedder(str(tiny), backend="onnx").embed_queries(TEXTS)
    assert "does not match its recorded sha256" in caplog.text
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert [p.name for p in (cache / "onnx").iterdir()] == [folder.name]  # replaced in place, nothing left aside


def test_onnx_runtime_never_reads_an_export_that_fails_its_checksum(tiny: Path, cache: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """model.onnx is hashed while onnxruntime and the tokenizer load, and checked before a session reads it."""
    import onnxruntime

    from ragkit.embedding.onnx_model import OnnxEncoder

    SentenceTransformerEmbedder(str(tiny), backend="onnx").embed_queries(TEXTS)
    (folder,) = (cache / "onnx").iterdir()
    opened: list[str] = []
    real = onnxruntime.InferenceSession

    def recording(path: str, *args: object, **kwargs: object) -> object:
        opened.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", recording)
    assert OnnxEncoder(folder).encode(TEXTS[:1]).shape == (1, 16) and len(opened) == 1
    data = bytearray((folder / "model.onnx").read_bytes())
    data[len(data) // 3] ^= 0x01
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="recorded sha256"):
        OnnxEncoder(folder)
    assert len(opened) == 1  # the altered file was never given to ONNX Runtime


def test_a_cached_export_of_the_default_model_does_not_hash_its_torch_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queries on ONNX read the verified export, not model.safetensors: hashing those 90 MB too cost every new process
    ~65 ms. Exporting still verifies them (it reads them)."""
    from ragkit.embedding import default_model

    assert SentenceTransformerEmbedder(backend="onnx").onnx_encoder("query") is not None  # exported (once) if needed

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the default model's weights were hashed although a verified export is cached")

    monkeypatch.setattr(default_model, "verify_weights", refuse)
    embedder = SentenceTransformerEmbedder(backend="onnx")
    assert embedder.onnx_encoder("query") is not None and embedder.embed_queries(["bm25"]).shape == (1, 384)


def test_an_export_that_disagrees_with_torch_is_refused(tiny: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)  # no export can pass
    with pytest.raises(ModelIntegrityError, match="away from torch"):
        SentenceTransformerEmbedder(str(tiny), backend="onnx").embed_queries(["x"])
    assert not (cache / "onnx").exists() or not any((cache / "onnx").iterdir())  # no folder under any name
    # backend="auto" falls back to torch and still answers
    auto = SentenceTransformerEmbedder(str(tiny))
    np.testing.assert_allclose(auto.embed_queries(TEXTS), SentenceTransformerEmbedder(str(tiny), backend="torch")
                               .embed_queries(TEXTS), atol=1e-6)
    assert auto.onnx_encoder("query") is None


def test_unsupported_model_refused_by_onnx_and_served_by_torch_under_auto(tmp_path: Path, cache: Path) -> None:
    folder = tiny_model(tmp_path / "dense", dense=True)
    with pytest.raises(ConfigError, match="Transformer, Pooling and optionally Normalize"):
        SentenceTransformerEmbedder(str(folder), backend="onnx").embed_queries(["x"])
    with pytest.raises(ConfigError, match="modules.json"):
        describe_model(tmp_path)
    auto = SentenceTransformerEmbedder(str(folder))
    assert auto.embed_queries(["x"]).shape == (1, 8) and auto.dimension == 8
    assert auto.onnx_encoder("query") is None


def test_missing_onnxruntime(tiny: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(MissingDependencyError, match="onnxruntime"):
        SentenceTransformerEmbedder(str(tiny), backend="onnx").embed_queries(["x"])
    assert SentenceTransformerEmbedder(str(tiny)).embed_queries(["x"]).shape == (1, 16)


def test_backend_is_validated_and_round_trips() -> None:
    with pytest.raises(ConfigError, match=r"'backend'.*'auto', 'torch', 'onnx'.*'tensorrt'"):
        SentenceTransformerEmbedder(backend="tensorrt")
    with pytest.raises(ConfigError, match=r"'device'.*backend='onnx'.*'cuda'"):
        SentenceTransformerEmbedder(backend="onnx", device="cuda")
    config = SentenceTransformerEmbedder(backend="onnx").get_config()
    assert config["backend"] == "onnx"
    assert SentenceTransformerEmbedder.from_config(config).config.backend == "onnx"
    older = {k: v for k, v in config.items() if k not in ("backend", "type")}  # a manifest from before the option
    assert SentenceTransformerEmbedder.from_config(older).config.backend == "auto"


def test_queries_need_no_torch_import(tmp_path: Path) -> None:
    """A fresh process embeds queries (default backend) with the cached export: torch is never imported."""
    SentenceTransformerEmbedder().embed_queries(["warm the export cache"])  # this process may export
    code = (
        "import sys\n"
        "from ragkit import SentenceTransformerEmbedder\n"
        "v = SentenceTransformerEmbedder().embed_queries(['what is bm25?'])\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "print(v.shape, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "(1, 384) []", out.stderr
