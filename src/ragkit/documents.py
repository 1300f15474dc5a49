"""Public alias of :mod:`ragkit.core.documents`."""

from ragkit.core.documents import *  # noqa: F403
