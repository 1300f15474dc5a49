"""Moved to :mod:`ragkit.store.access` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.store.access")

from ragkit.store.access import *  # noqa: E402, F403
