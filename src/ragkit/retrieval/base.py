"""Moved to :mod:`ragkit.search.base` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.search.base")

from ragkit.search.base import *  # noqa: E402, F403
