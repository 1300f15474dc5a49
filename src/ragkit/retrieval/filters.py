"""Moved to :mod:`ragkit.store.filters` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.store.filters")

from ragkit.store.filters import *  # noqa: E402, F403
