"""Moved to :mod:`ragkit.core.results` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.core.results")

from ragkit.core.results import *  # noqa: E402, F403
from ragkit.core.topk import *  # noqa: E402, F403
