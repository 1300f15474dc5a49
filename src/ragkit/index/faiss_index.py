"""Moved to :mod:`ragkit.index.vector.faiss` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.index.vector.faiss")

from ragkit.index.vector.faiss import *  # noqa: E402, F403
from ragkit.index.vector.vectors import *  # noqa: E402, F403
