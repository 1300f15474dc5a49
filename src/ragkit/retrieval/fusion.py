"""Moved to :mod:`ragkit.search.fusion` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.search.fusion")

from ragkit.search.fusion import *  # noqa: E402, F403
