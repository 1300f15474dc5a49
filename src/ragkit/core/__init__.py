"""The foundation layer: value types, top-k kernels, errors, protocols, Arrow IO, atomic writes, hashing, validation.

Every other layer builds on this one; it imports nothing of ragkit above it.
"""

from ragkit.core.documents import Chunk, Document
from ragkit.core.errors import RagkitError
from ragkit.core.protocols import Chunker, Embedder, Fusion, SearchIndex, TokenCounter
from ragkit.core.results import Candidates, Hit, LegScore
from ragkit.core.tracing import Tracer

__all__ = ["Candidates", "Chunk", "Chunker", "Document", "Embedder", "Fusion", "Hit", "LegScore", "RagkitError",
           "SearchIndex", "TokenCounter", "Tracer"]
