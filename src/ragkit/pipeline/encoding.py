"""Fast embedding of a shard: length-sorted batches, fp16 on GPU, one process per GPU when there are several."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ragkit.core.protocols import Embedder
from ragkit.core.validation import check_int

__all__ = ["ShardEncoder", "cuda_device_count"]

logger = logging.getLogger(__name__)


def cuda_device_count() -> int:
    """CUDA devices torch can see (0 without torch or without a GPU)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


class ShardEncoder:
    """Embeds the chunk texts of a shard as fast as the embedder allows.

    * Texts are sorted by length and cut into slices of ``slice_size``: every model batch
      holds texts of similar length (little padding). With a progress callback, slices are one
      model batch (``batch_size``), so the callback fires every batch. Vectors come back in
      the original order.
    * A :class:`~ragkit.SentenceTransformerEmbedder` on CUDA runs in float16 (``fp16=True``).
    * With more than one CUDA device (and ``multi_gpu=True``), a sentence-transformers
      multi-process pool encodes with one process per device.

    Other embedders (any :class:`~ragkit.core.protocols.Embedder`) get the sorting and slicing.

    Args:
        embedder: the document embedder.
        slice_size: texts per call to the embedder.
        fp16: half precision on CUDA for sentence-transformers models.
        multi_gpu: use every visible GPU (one process each) when there are several.
    """

    def __init__(self, embedder: Embedder, *, slice_size: int = 1024, fp16: bool = True, multi_gpu: bool = True) -> None:
        self.embedder = embedder
        self.slice_size = check_int("ShardEncoder", "slice_size", slice_size, low=1)
        self.fp16 = fp16
        self.multi_gpu = multi_gpu
        self._pool: Any = None
        self._prepared = False
        self.devices: list[str] = []

    def _prepare(self) -> None:
        if self._prepared:
            return
        self._prepared = True
        from ragkit.embedding import SentenceTransformerEmbedder

        if not isinstance(self.embedder, SentenceTransformerEmbedder):
            return
        gpus = cuda_device_count()
        model = self.embedder.load()
        if self.multi_gpu and gpus > 1:
            self.devices = [f"cuda:{i}" for i in range(gpus)]
            if self.fp16:
                model.half()
            self._pool = model.start_multi_process_pool(target_devices=self.devices)
            logger.info("encoding with one process per GPU: %s", ", ".join(self.devices))
        elif str(model.device).startswith("cuda"):
            self.devices = [str(model.device)]
            if self.fp16:
                model.half()
        else:
            self.devices = [str(model.device)]

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """float32 unit rows for ``texts``, in their order; ``progress(n)`` after each slice of ``n`` texts."""
        self._prepare()
        texts = list(texts)
        if not texts:
            return np.empty((0, self.embedder.dimension), dtype=np.float32)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        order = np.argsort(-lengths, kind="stable")
        out: np.ndarray | None = None
        step = self._step(progress is not None)
        for start in range(0, len(texts), step):
            idx = order[start:start + step]
            vectors = self._encode_slice([texts[i] for i in idx])
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
            if progress is not None:
                progress(len(idx))
        assert out is not None
        return out

    def _step(self, reporting: bool) -> int:
        """Texts per embedder call: ``slice_size``; one model batch when progress is reported (without a pool).

        Texts are already sorted by length, so calling the model per batch pads no more than one
        call over the slice would, and progress advances every batch (seconds on a CPU) instead
        of every slice (minutes).
        """
        batch = getattr(getattr(self.embedder, "config", None), "batch_size", None)
        if reporting and self._pool is None and isinstance(batch, int) and batch > 0:
            return min(self.slice_size, batch)
        return self.slice_size

    def _encode_slice(self, texts: list[str]) -> np.ndarray:
        if self._pool is None:
            return np.asarray(self.embedder.embed_documents(texts), dtype=np.float32)
        config = self.embedder.config  # type: ignore[attr-defined]
        model = self.embedder.load()  # type: ignore[attr-defined]
        vectors = model.encode(texts, pool=self._pool, prompt=config.document_prompt or None, batch_size=config.batch_size,
                               convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def close(self) -> None:
        """Stop the multi-process pool, if one was started."""
        if self._pool is not None:
            model = self.embedder.load()  # type: ignore[attr-defined]
            model.stop_multi_process_pool(self._pool)
            self._pool = None

    def __enter__(self) -> ShardEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
