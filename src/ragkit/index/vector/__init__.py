"""Helpers of the FAISS vector index: index selection, recall tuning, GPU placement."""

from ragkit.index.vector.selection import IndexChoice, choose_factory, estimate_bytes
from ragkit.index.vector.tuning import TuningResult

__all__ = ["IndexChoice", "TuningResult", "choose_factory", "estimate_bytes"]
