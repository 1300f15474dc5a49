"""Moved to :mod:`ragkit.store.sharded` (this path is removed in ragkit 0.3)."""

from ragkit.core.deprecation import warn_moved

warn_moved(__name__, "ragkit.store.sharded")

from ragkit.index.bm25 import CorpusStats as GlobalBM25Stats  # noqa: E402, F401 - the statistics' old name
from ragkit.store.layout import LAYOUT, write_layout  # noqa: E402, F401
from ragkit.store.sharded import *  # noqa: E402, F403
