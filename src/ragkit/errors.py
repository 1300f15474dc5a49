"""Public alias of :mod:`ragkit.core.errors`."""

from ragkit.core.errors import *  # noqa: F403
