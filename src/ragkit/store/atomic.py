"""Moved to :mod:`ragkit.core.atomic` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.core.atomic")

from ragkit.core.atomic import *  # noqa: E402, F403
