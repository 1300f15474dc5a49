"""Moved to :mod:`ragkit.core.arrow_io` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.core.arrow_io")

from ragkit.core.arrow_io import *  # noqa: E402, F403
