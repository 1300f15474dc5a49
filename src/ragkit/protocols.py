"""Public alias of :mod:`ragkit.core.protocols`."""

from ragkit.core.protocols import *  # noqa: F403
