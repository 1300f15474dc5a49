"""CrossEncoderReranker through the real sentence-transformers CrossEncoder route, on a tiny model built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit import HybridRetriever
from ragkit.core.errors import ConfigError, InputError, MissingDependencyError
from ragkit.core.protocols import Reranker
from ragkit.embedding.cross_encoder import CrossEncoderReranker
from ragkit.search import Rerank
from ragkit.testing import check_reranker, construction_is_light

from .conftest import QUERIES, WORDS

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _tiny_bert(folder: Path, *, head: bool = True, labels: int = 1) -> Path:
    """A 2-layer BERT with a classification head (or none), its WordPiece vocabulary, saved as a model folder."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join([*SPECIAL, *sorted(set(WORDS.tolist()))]) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    config = BertConfig(vocab_size=len(SPECIAL) + len(set(WORDS.tolist())), hidden_size=16, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=128, num_labels=labels)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config) if head else BertModel(config)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_bert(tmp_path_factory.mktemp("tiny-cross-encoder"))


def test_construction_loads_nothing() -> None:
    assert construction_is_light("__import__('ragkit.embedding.cross_encoder', fromlist=['x'])"
                                 ".CrossEncoderReranker('some/model', batch_size=4)") == []
    assert construction_is_light("__import__('ragkit.search', fromlist=['x']).Rerank('some/model')") == []


def test_scores_pairs_with_the_real_cross_encoder(tiny: Path) -> None:
    reranker = CrossEncoderReranker(str(tiny), device="auto", batch_size=3, max_length=32)
    assert isinstance(reranker, Reranker)
    check_reranker(reranker)
    queries = ["cat dog", "cat dog", "fish river", "bird nest"]
    texts = ["the cat and the dog", "fish swim", "river fish ocean", "bird sing nest day"]
    scores = reranker.score(queries, texts)
    assert scores.dtype == np.float64 and scores.shape == (4,) and np.isfinite(scores).all()
    np.testing.assert_allclose(reranker.score(queries[::-1], texts[::-1]), scores[::-1], rtol=1e-5, atol=1e-6)
    from sentence_transformers import CrossEncoder

    direct = CrossEncoder(str(tiny), device="cpu", max_length=32).predict(list(zip(queries, texts, strict=True)),
                                                                          activation_fn=__import__("torch").nn.Identity())
    np.testing.assert_allclose(scores, np.asarray(direct, dtype=np.float64).ravel(), rtol=1e-4, atol=1e-5)
    assert reranker.score([], []).shape == (0,)
    assert reranker.device.startswith(("cpu", "cuda"))


def test_reranks_a_search_by_its_scores(tiny: Path, collection: ragkit.Collection) -> None:
    reranker = CrossEncoderReranker(str(tiny), max_length=32)
    hybrid = HybridRetriever(collection)
    fused = hybrid.retrieve(QUERIES[:2], 10)
    hits = hybrid.then(Rerank(reranker, candidates=10)).search_batch(QUERIES[:2], 4)
    texts = collection.chunks.column("text").to_pylist()
    for query, before, got in zip(QUERIES[:2], fused, hits, strict=True):
        scores = reranker.score([query] * len(before), [texts[r] for r in before.rows.tolist()])
        # the tiny random model scores many texts within 1e-9 of each other, and a score moves by that much with
        # the batch it is computed in: compare scores to a tolerance, not the order of near-ties
        expected = dict(zip(before.rows.tolist(), scores.tolist(), strict=True))
        got_rows, got_scores = [h.chunk_row for h in got], np.array([h.score for h in got])
        assert len(got_rows) == 4 and set(got_rows) <= set(expected)
        assert np.all(np.diff(got_scores) <= 1e-7)
        np.testing.assert_allclose(got_scores, [expected[r] for r in got_rows], atol=1e-7)
        np.testing.assert_allclose(got_scores, np.sort(scores)[::-1][:4], atol=1e-7)


def test_a_bi_encoder_is_not_a_cross_encoder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a cross-encoder"):
        CrossEncoderReranker(str(_tiny_bert(tmp_path / "bi", head=False))).score(["q"], ["t"])


def test_a_head_with_several_labels_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="3 output labels"):
        CrossEncoderReranker(str(_tiny_bert(tmp_path / "nli", labels=3))).load()


def test_a_missing_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load"):
        CrossEncoderReranker(str(tmp_path / "nothing-here")).load()


def test_onnx_without_optimum_names_what_to_install(tiny: Path) -> None:
    try:
        import optimum.onnxruntime  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="optimum-onnx"):
            CrossEncoderReranker(str(tiny), backend="onnx").load()
    else:  # pragma: no cover - where optimum-onnx is installed the export runs
        assert CrossEncoderReranker(str(tiny), backend="onnx").score(["cat"], ["cat"]).shape == (1,)


@pytest.mark.parametrize(("options", "match"), [
    ({"backend": "tensorrt"}, "backend"), ({"device": "tpu"}, "device"), ({"batch_size": 0}, "batch_size"),
    ({"max_length": 2}, "max_length"), ({"fp16": "yes"}, "fp16"), ({"backend": "onnx", "fp16": True}, "fp16"),
    ({"colour": "red"}, "unknown option"),
])
def test_bad_options_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        CrossEncoderReranker("m", **options)


def test_config_round_trips_and_bad_input_is_refused(tiny: Path) -> None:
    reranker = CrossEncoderReranker(str(tiny), batch_size=7)
    again = CrossEncoderReranker.from_config(reranker.get_config())
    assert again.get_config() == reranker.get_config() and repr(again) == repr(reranker)
    with pytest.raises(InputError):
        reranker.score(["a", "b"], ["a"])
    with pytest.raises(InputError):
        reranker.score("a", "b")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        CrossEncoderReranker.from_config({"type": "CrossEncoderReranker", "model": "m", "depth": 3})


def test_rerank_by_model_name_makes_a_cross_encoder(tiny: Path) -> None:
    stage = Rerank(str(tiny), candidates=8)
    assert isinstance(stage.reranker, CrossEncoderReranker) and stage.reranker.model_id == str(tiny)
