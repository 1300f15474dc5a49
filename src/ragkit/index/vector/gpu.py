"""Placing FAISS indexes on GPUs (all visible ones), guarded for CPU-only machines."""

from __future__ import annotations

import logging
from typing import Any, Literal

from ragkit.core.deps import faiss_gpu_count, require
from ragkit.core.errors import ConfigError

__all__ = ["place_on_gpus", "to_gpus", "set_search_parameter"]

logger = logging.getLogger(__name__)


def to_gpus(index: Any, *, mode: Literal["replicate", "shard"], float16: bool) -> Any | None:
    """A copy of ``index`` on every visible GPU (replicated or sharded), or None without GPUs.

    Index types FAISS cannot run on a GPU (HNSW, for one) stay on the CPU: None, logged.
    """
    if faiss_gpu_count() == 0:
        return None
    faiss = require("faiss", package="faiss-cpu")
    options = faiss.GpuMultipleClonerOptions()
    options.shard = mode == "shard"
    options.useFloat16 = float16
    try:
        return faiss.index_cpu_to_all_gpus(index, co=options)
    except RuntimeError as exc:
        logger.info("index stays on the CPU: %s", str(exc).strip().splitlines()[-1][:200])
        return None


def set_search_parameter(index: Any, name: str, value: int) -> None:
    """Set ``nprobe`` / ``efSearch`` on a CPU or GPU index (through FAISS's parameter spaces)."""
    faiss = require("faiss", package="faiss-cpu")
    if type(index).__name__.startswith("Gpu") or "Shards" in type(index).__name__ or "Replicas" in type(index).__name__:
        faiss.GpuParameterSpace().set_index_parameter(index, name, value)
    else:
        faiss.ParameterSpace().set_index_parameter(index, name, value)


def place_on_gpus(index: Any, *, device: str, mode: Literal["replicate", "shard"], float16: bool, name: str | None) -> Any | None:
    """The GPU copy of ``index`` (``name``: its factory) for a ``device`` of ``"auto"`` or ``"gpu"``; None on the CPU.

    Raises:
        ConfigError: ``device="gpu"`` but FAISS sees no GPU or cannot place this index type on one.
    """
    if faiss_gpu_count() == 0:
        if device == "gpu":
            raise ConfigError("FaissIndex(device='gpu') but FAISS sees no GPU; use device='auto' or 'cpu'.")
        return None
    placed = to_gpus(index, mode=mode, float16=float16)
    if placed is None and device == "gpu":
        raise ConfigError(f"FAISS cannot place {name!r} on the GPU; use device='auto' to keep it on the CPU.")
    return placed
