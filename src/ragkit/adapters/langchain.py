"""A ragkit retriever as a LangChain retriever (``langchain-core`` ``BaseRetriever``, sync and async).

Example:
    >>> lc = RagkitLangChainRetriever(HybridRetriever(col), k=5, principal=Principal("alice", ["staff"]))  # doctest: +SKIP
    >>> docs = lc.invoke("reset my password")                     # doctest: +SKIP
    >>> docs = await lc.ainvoke("reset my password", filters={"lang": "en"})  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ragkit.adapters.common import both_filters, bound_retriever, check_retriever_shape, metadata_of
from ragkit.core.deps import require
from ragkit.core.results import Hit
from ragkit.core.validation import check_k
from ragkit.store.access import Principal
from ragkit.store.filters import Filter

_retrievers = require("langchain_core.retrievers", extra="langchain")
_documents = require("langchain_core.documents", extra="langchain")

__all__ = ["RagkitLangChainRetriever", "to_document"]

_Base: Any = _retrievers.BaseRetriever


def to_document(hit: Hit) -> Any:
    """A LangChain ``Document``: the chunk text, id ``<doc_id>#<position>``, the chunk's metadata plus
    ``metadata["ragkit"]`` (doc id, position, row, offsets ``start``/``end`` into the document, score, each leg's rank and score)."""
    return _documents.Document(page_content=hit.text, id=f"{hit.doc_id}#{hit.position}", metadata=metadata_of(hit))


class RagkitLangChainRetriever(_Base):  # type: ignore[misc]
    """Any ragkit retriever (or wrapper) behind LangChain's retriever interface.

    Args:
        retriever: a ragkit retriever (``HybridRetriever(col)``, a ``CachedRetriever``, ...).
        k: documents per query (a call may pass ``k=``).
        filters: a ragkit metadata filter every call applies; a call's ``filters=`` is ANDed with it.
        principal: search as this principal (the retriever is bound to it); ``None`` keeps the
            retriever's own binding. A call cannot change it.

    Raises:
        ConfigError: ``retriever`` is not a ragkit retriever, or ``k < 1``.
    """

    retriever: Any
    k: int = 4
    filters: dict[str, Any] | None = None

    def __init__(self, retriever: Any, *, k: int = 4, filters: Filter | None = None, principal: Principal | None = None,
                 **kwargs: Any) -> None:
        check_retriever_shape("RagkitLangChainRetriever", retriever)
        super().__init__(retriever=bound_retriever(retriever, principal), k=check_k("RagkitLangChainRetriever", k),
                         filters=dict(filters) if filters else None, **kwargs)

    def _get_relevant_documents(self, query: str, *, run_manager: Any, k: int | None = None,
                                filters: Filter | None = None) -> list[Any]:
        hits = self.retriever.search(query, self.k if k is None else k, both_filters(self.filters, filters))
        return [to_document(h) for h in hits]

    async def _aget_relevant_documents(self, query: str, *, run_manager: Any, k: int | None = None,
                                       filters: Filter | None = None) -> list[Any]:
        hits = await self.retriever.asearch(query, self.k if k is None else k, both_filters(self.filters, filters))
        return [to_document(h) for h in hits]
