"""A ragkit collection as a Haystack 2 component (``haystack-ai``): ``run`` / ``run_async``, ``to_dict`` / ``from_dict``.

Example:
    >>> retriever = RagkitRetriever("indexes/docs", top_k=5, principal={"id": "alice", "groups": ["staff"]})  # doctest: +SKIP
    >>> pipeline = Pipeline(); pipeline.add_component("retriever", retriever)                       # doctest: +SKIP
    >>> pipeline.run({"retriever": {"query": "reset my password", "filters": {"lang": "en"}}})      # doctest: +SKIP
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

from ragkit.adapters.common import both_filters, bound_retriever, check_retriever_shape, metadata_of, principal_from
from ragkit.core.deps import require
from ragkit.core.errors import ConfigError
from ragkit.core.results import Hit
from ragkit.core.validation import check_choice, check_k
from ragkit.search.modes import MODES, retriever_for
from ragkit.store.filters import Filter

_haystack = require("haystack", extra="haystack")

__all__ = ["RagkitRetriever", "to_document"]

_DOCUMENTS = types.GenericAlias(list, (_haystack.Document,))  # list[Document], the output type


def to_document(hit: Hit) -> Any:
    """A Haystack ``Document``: the chunk text, id ``<doc_id>#<position>``, the hit's score, the chunk's metadata
    plus ``meta["ragkit"]`` (doc id, position, row, offsets ``start``/``end`` into the document, each leg's rank and score)."""
    return _haystack.Document(id=f"{hit.doc_id}#{hit.position}", content=hit.text, meta=metadata_of(hit), score=hit.score)


@_haystack.component
class RagkitRetriever:
    """Searches a saved ragkit collection (single or sharded); outputs ``documents``.

    Args:
        collection: the collection folder (opened in :meth:`warm_up`, or on the first run).
        mode: ``"hybrid"``, ``"dense"`` or ``"bm25"``; ``fusion``: the hybrid fusion by name (``None``: its default).
        top_k: documents per query (``run`` may pass ``top_k``).
        filters: a ragkit metadata filter every run applies; a run's ``filters`` is ANDed with it.
        principal: search as this principal, ``{"id": ..., "groups": [...]}`` (or a ``Principal``);
            required for a collection with an access field. A run cannot change it.
        retriever: instead of ``collection``, a ragkit retriever built in code (then not serialisable).

    Raises:
        ConfigError: neither or both of ``collection`` and ``retriever``; a bad mode, ``top_k`` or principal.
    """

    def __init__(self, collection: str | Path | None = None, *, mode: str = "hybrid", fusion: str | None = None, top_k: int = 10,
                 filters: Filter | None = None, principal: Any = None, retriever: Any = None) -> None:
        if (collection is None) == (retriever is None):
            raise ConfigError("RagkitRetriever takes a collection folder or a ragkit retriever (exactly one).")
        self.collection = None if collection is None else str(collection)
        self.mode = check_choice("RagkitRetriever", "mode", mode, MODES)
        if fusion is not None and not isinstance(fusion, str):
            raise ConfigError(f"The 'fusion' parameter of RagkitRetriever must be a fusion name or None. Got {fusion!r} instead.")
        self.fusion = fusion
        self.top_k = check_k("RagkitRetriever", top_k)
        self.filters = dict(filters) if filters else None
        self.principal = principal_from(principal)
        self._retriever = None if retriever is None else bound_retriever(check_retriever_shape("RagkitRetriever", retriever),
                                                                         self.principal)

    def warm_up(self) -> None:
        """Open the collection and load the query model (idempotent)."""
        if self._retriever is None:
            from ragkit.search.modes import available_mode
            from ragkit.store.sharded import open_collection

            collection = open_collection(self.collection)  # type: ignore[arg-type]
            self._retriever = bound_retriever(retriever_for(collection, available_mode(collection, self.mode), self.fusion),
                                              self.principal)

    def to_dict(self) -> dict[str, Any]:
        """Its init parameters (the collection path, not its contents).

        Raises:
            ConfigError: it was made from a retriever object rather than a collection folder.
        """
        if self.collection is None:
            raise ConfigError("A RagkitRetriever made from a retriever object cannot be serialised; give it a collection folder.")
        principal = None if self.principal is None else {"id": self.principal.id, "groups": sorted(self.principal.groups)}
        return _haystack.default_to_dict(self, collection=self.collection, mode=self.mode, fusion=self.fusion,
                                         top_k=self.top_k, filters=self.filters, principal=principal)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RagkitRetriever:
        return _haystack.default_from_dict(cls, data)  # type: ignore[no-any-return]

    @_haystack.component.output_types(documents=_DOCUMENTS)
    def run(self, query: str, top_k: int | None = None, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``top_k`` best chunks for ``query`` as Haystack documents, best first."""
        self.warm_up()
        hits = self._retriever.search(query, self.top_k if top_k is None else top_k, both_filters(self.filters, filters))  # type: ignore[union-attr]
        return {"documents": [to_document(h) for h in hits]}

    @_haystack.component.output_types(documents=_DOCUMENTS)
    async def run_async(self, query: str, top_k: int | None = None, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """:meth:`run`, awaited: the search runs in a worker thread."""
        if self._retriever is None:
            import asyncio

            await asyncio.to_thread(self.warm_up)
        hits = await self._retriever.asearch(query, self.top_k if top_k is None else top_k,  # type: ignore[union-attr]
                                             both_filters(self.filters, filters))
        return {"documents": [to_document(h) for h in hits]}
