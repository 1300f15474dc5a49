"""Moved to :mod:`ragkit.search.single` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.search.single")

from ragkit.search.single import *  # noqa: E402, F403
