"""Moved to :mod:`ragkit.search.hybrid` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.search.hybrid")

from ragkit.search.hybrid import *  # noqa: E402, F403
