"""Lazy access to heavy and optional dependencies."""

from __future__ import annotations

import importlib
from types import ModuleType

from ragkit.core.errors import MissingDependencyError

__all__ = ["require", "faiss_gpu_count"]


def require(module: str, *, extra: str | None = None, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f"pip install 'ragkit[{extra}]'" if extra else f"pip install {package or module}"
        raise MissingDependencyError(f"This feature needs the '{module}' package: {what}") from exc


def faiss_gpu_count() -> int:
    """GPUs FAISS can use: 0 with a CPU-only build or when no GPU is visible."""
    faiss = require("faiss", package="faiss-gpu")
    if not hasattr(faiss, "StandardGpuResources"):
        return 0
    return int(faiss.get_num_gpus())
