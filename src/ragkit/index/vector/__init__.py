"""The FAISS vector index and its helpers: index selection, recall tuning, GPU placement."""

from ragkit.index.vector.config import FaissConfig
from ragkit.index.vector.faiss import FaissIndex
from ragkit.index.vector.selection import IndexChoice, choose_factory, estimate_bytes
from ragkit.index.vector.tuning import TuningResult
from ragkit.index.vector.vectors import check_vectors

__all__ = ["FaissConfig", "FaissIndex", "IndexChoice", "TuningResult", "check_vectors", "choose_factory", "estimate_bytes"]
