"""Moved to :mod:`ragkit.store.sharded` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.store.sharded")

from ragkit.store.sharded import *  # noqa: E402, F403
