"""``chunk_documents``: chunk several documents with any chunker, in one batch when it can."""

from __future__ import annotations

from collections.abc import Iterable

from ragkit.core.documents import Chunk, Document
from ragkit.core.protocols import Chunker
from ragkit.core.validation import check_role

__all__ = ["chunk_documents"]


def chunk_documents(chunker: Chunker, documents: Iterable[Document]) -> list[Chunk]:
    """The chunks of ``documents``, in document order.

    Uses the chunker's ``chunk_many`` (one tokeniser batch; every built-in chunker has it)
    when it has one, else calls ``chunk`` once per document, so any :class:`~ragkit.core.protocols.Chunker`
    works.

    Raises:
        InputError: on an item that is not a Document (and, through ``chunk_many``, a duplicate id).
        ConfigError: ``chunker`` is not a chunker (no ``chunk``: a class, a name), or its tokenizer cannot be loaded.
    """
    check_role("chunk_documents", "chunker", chunker, "chunker (e.g. RecursiveChunker())", ("chunk",))
    chunk_many = getattr(chunker, "chunk_many", None)
    if callable(chunk_many):
        return list(chunk_many(documents))
    return [chunk for document in documents for chunk in chunker.chunk(document)]
