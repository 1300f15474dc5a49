"""ShardEncoder: length-sorted slices, order restored; the GPU paths checked with a fake model.

No GPU is needed: the multi-GPU and fp16 paths run against a stand-in model with the
sentence-transformers methods they call, and a patched CUDA device count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit.pipeline import encoding
from ragkit.pipeline.encoding import ShardEncoder
from ragkit.testing import HashEmbedder


class RecordingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(dimension=16)
        self.batches: list[list[str]] = []

    def embed_documents(self, texts: Any) -> np.ndarray:
        self.batches.append(list(texts))
        return super().embed_documents(texts)


def test_vectors_come_back_in_input_order_from_length_sorted_slices() -> None:
    texts = [("word " * n).strip() for n in (3, 9, 1, 7, 5, 2, 8)]
    emb = RecordingEmbedder()
    seen: list[int] = []
    vectors = ShardEncoder(emb, slice_size=3).encode(texts, progress=seen.append)
    np.testing.assert_array_equal(vectors, HashEmbedder(dimension=16).embed_documents(texts))
    assert [len(b) for b in emb.batches] == [3, 3, 1] and seen == [3, 3, 1]
    lengths = [len(t) for b in emb.batches for t in b]
    assert lengths == sorted(lengths, reverse=True)  # longest first, similar lengths batched together


def test_no_texts() -> None:
    assert ShardEncoder(HashEmbedder(dimension=8)).encode([]).shape == (0, 8)


class FakeModel:
    """Stands in for a SentenceTransformer: records half(), pools and encode calls."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.halved = False
        self.pool_devices: list[str] | None = None
        self.pool_calls = 0
        self.stopped = False

    def half(self) -> FakeModel:
        self.halved = True
        return self

    def start_multi_process_pool(self, target_devices: list[str]) -> dict[str, Any]:
        self.pool_devices = target_devices
        return {"processes": target_devices}

    def stop_multi_process_pool(self, pool: dict[str, Any]) -> None:
        self.stopped = True

    def encode(self, texts: list[str], pool: Any = None, normalize_embeddings: bool = False, **kw: Any) -> np.ndarray:
        assert pool is not None and normalize_embeddings
        self.pool_calls += 1
        return HashEmbedder(dimension=16).embed_documents(texts)


def _st_embedder(monkeypatch: pytest.MonkeyPatch, device: str, gpus: int) -> tuple[ragkit.SentenceTransformerEmbedder, FakeModel]:
    emb = ragkit.SentenceTransformerEmbedder()
    model = FakeModel(device)
    monkeypatch.setattr(emb, "load", lambda: model)
    monkeypatch.setattr(emb, "embed_documents", lambda texts: HashEmbedder(dimension=16).embed_documents(texts))
    monkeypatch.setattr(encoding, "cuda_device_count", lambda: gpus)
    return emb, model


def test_several_gpus_get_one_process_each_in_fp16(monkeypatch: pytest.MonkeyPatch) -> None:
    emb, model = _st_embedder(monkeypatch, "cuda:0", gpus=2)
    texts = ["a b c", "d", "e f"]
    with ShardEncoder(emb, slice_size=2) as enc:
        vectors = enc.encode(texts)
        assert enc.devices == ["cuda:0", "cuda:1"]
    assert model.pool_devices == ["cuda:0", "cuda:1"] and model.halved and model.pool_calls == 2 and model.stopped
    np.testing.assert_array_equal(vectors, HashEmbedder(dimension=16).embed_documents(texts))


def test_one_gpu_encodes_in_process_in_fp16(monkeypatch: pytest.MonkeyPatch) -> None:
    emb, model = _st_embedder(monkeypatch, "cuda:0", gpus=1)
    ShardEncoder(emb).encode(["x y"])
    assert model.halved and model.pool_devices is None and model.pool_calls == 0


def test_cpu_stays_fp32_and_multi_gpu_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    emb, model = _st_embedder(monkeypatch, "cpu", gpus=0)
    ShardEncoder(emb).encode(["x"])
    assert not model.halved and model.pool_devices is None
    emb, model = _st_embedder(monkeypatch, "cuda:0", gpus=4)
    ShardEncoder(emb, multi_gpu=False, fp16=False).encode(["x"])
    assert not model.halved and model.pool_devices is None


def test_slice_size_is_validated() -> None:
    with pytest.raises(ragkit.ConfigError, match="slice_size"):
        ShardEncoder(HashEmbedder(), slice_size=0)
