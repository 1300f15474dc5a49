"""A ragkit retriever as a LlamaIndex retriever (``llama-index-core`` ``BaseRetriever`` returning ``NodeWithScore``).

Example:
    >>> li = RagkitLlamaIndexRetriever(HybridRetriever(col), k=5, principal=Principal("alice"))  # doctest: +SKIP
    >>> nodes = li.retrieve("reset my password")                 # doctest: +SKIP
    >>> nodes = await li.aretrieve("reset my password")          # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ragkit.adapters.common import bound_retriever, check_retriever_shape, metadata_of
from ragkit.core.deps import require
from ragkit.core.results import Hit
from ragkit.core.validation import check_k
from ragkit.store.access import Principal
from ragkit.store.filters import Filter

_retrievers = require("llama_index.core.retrievers", extra="llamaindex")
_schema = require("llama_index.core.schema", extra="llamaindex")

__all__ = ["RagkitLlamaIndexRetriever", "to_node"]

_Base: Any = _retrievers.BaseRetriever


def to_node(hit: Hit) -> Any:
    """A ``NodeWithScore``: a ``TextNode`` (id ``<doc_id>#<position>``, ``start_char_idx``/``end_char_idx`` = the
    chunk's offsets into its document, a SOURCE relation to the document, the chunk's metadata plus
    ``metadata["ragkit"]`` with each leg's rank and score) and the hit's score."""
    node = _schema.TextNode(
        id_=f"{hit.doc_id}#{hit.position}", text=hit.text, metadata=metadata_of(hit),
        start_char_idx=hit.start, end_char_idx=hit.end,
        relationships={_schema.NodeRelationship.SOURCE: _schema.RelatedNodeInfo(node_id=hit.doc_id)},
        excluded_embed_metadata_keys=["ragkit"], excluded_llm_metadata_keys=["ragkit"],
    )
    return _schema.NodeWithScore(node=node, score=hit.score)


class RagkitLlamaIndexRetriever(_Base):  # type: ignore[misc]
    """Any ragkit retriever (or wrapper) behind LlamaIndex's retriever interface (``retrieve`` / ``aretrieve``).

    Args:
        retriever: a ragkit retriever.
        k: nodes per query.
        filters: a ragkit metadata filter every query applies.
        principal: search as this principal; ``None`` keeps the retriever's own binding.
        callback_manager / verbose: as for LlamaIndex's ``BaseRetriever``.

    Raises:
        ConfigError: ``retriever`` is not a ragkit retriever, or ``k < 1``.
    """

    def __init__(self, retriever: Any, *, k: int = 10, filters: Filter | None = None, principal: Principal | None = None,
                 callback_manager: Any = None, verbose: bool = False) -> None:
        check_retriever_shape("RagkitLlamaIndexRetriever", retriever)
        self.retriever = bound_retriever(retriever, principal)
        self.k = check_k("RagkitLlamaIndexRetriever", k)
        self.filters = dict(filters) if filters else None
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: Any) -> list[Any]:
        return [to_node(h) for h in self.retriever.search(query_bundle.query_str, self.k, self.filters)]

    async def _aretrieve(self, query_bundle: Any) -> list[Any]:
        return [to_node(h) for h in await self.retriever.asearch(query_bundle.query_str, self.k, self.filters)]
