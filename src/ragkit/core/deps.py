"""Lazy access to heavy and optional dependencies."""

from __future__ import annotations

import importlib
from types import ModuleType

from ragkit.core.errors import MissingDependencyError

__all__ = ["require", "faiss_gpu_count", "versions"]

#: The distributions ``versions()`` reports, in order (the FAISS build is whichever is installed).
_REPORTED = ("ragkit", "numpy", "pyarrow", "faiss-cpu", "faiss-gpu", "torch", "sentence-transformers", "transformers")


def require(module: str, *, extra: str | None = None, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f"pip install 'ragkit[{extra}]'" if extra else f"pip install {package or module}"
        raise MissingDependencyError(f"This feature needs the '{module}' package: {what}") from exc


def faiss_gpu_count() -> int:
    """GPUs FAISS can use: 0 with a CPU-only build or when no GPU is visible."""
    faiss = require("faiss", package="faiss-cpu")
    if not hasattr(faiss, "StandardGpuResources"):
        return 0
    return int(faiss.get_num_gpus())


def versions() -> dict[str, str]:
    """Installed versions of ragkit, Python and the main libraries, read from package metadata (nothing imported)."""
    import platform
    from importlib import metadata

    from ragkit.core.version import __version__

    found = {"ragkit": __version__, "python": platform.python_version()}
    for name in _REPORTED[1:]:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
