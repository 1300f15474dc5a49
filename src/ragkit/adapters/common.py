"""What the framework adapters share: binding the principal, combining filters, a hit's fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.results import Hit
from ragkit.store.access import Principal
from ragkit.store.filters import Filter

__all__ = ["RAGKIT_KEY", "both_filters", "bound_retriever", "check_retriever_shape", "hit_fields", "metadata_of", "principal_from"]

#: The metadata key under which a framework document carries ragkit's fields of the hit.
RAGKIT_KEY = "ragkit"


def check_retriever_shape(owner: str, retriever: Any) -> Any:
    """``retriever`` if it has the ragkit retriever shape (``search`` and ``asearch``, ``bind``).

    Raises:
        ConfigError: it does not.
    """
    missing = [m for m in ("search", "asearch", "bind") if not callable(getattr(retriever, m, None))]
    if missing:
        raise ConfigError(f"{owner} wraps a ragkit retriever (search, asearch, bind); {type(retriever).__name__} lacks {missing}.")
    return retriever


def bound_retriever(retriever: Any, principal: Principal | None) -> Any:
    """``retriever`` bound to ``principal`` (unchanged for ``None``: it keeps whatever binding it has).

    Raises:
        InputError: ``principal`` is not a :class:`Principal`.
    """
    if principal is None:
        return retriever
    if not isinstance(principal, Principal):
        raise InputError(f"The principal must be a ragkit Principal. Got {type(principal).__name__}.")
    return retriever.bind(principal)


def principal_from(data: Any) -> Principal | None:
    """A principal from ``None``, a :class:`Principal` or its plain form ``{"id": ..., "groups": [...]}``.

    Raises:
        ConfigError: anything else.
    """
    if data is None or isinstance(data, Principal):
        return data
    if isinstance(data, Mapping) and set(data) <= {"id", "groups"} and "id" in data:
        try:
            return Principal(data["id"], groups=data.get("groups", ()))
        except InputError as exc:
            raise ConfigError(str(exc)) from exc
    raise ConfigError(f"A principal is a ragkit Principal or {{'id': ..., 'groups': [...]}}. Got {data!r}.")


def both_filters(fixed: Filter | None, given: Filter | None) -> Filter | None:
    """The filter a call runs with: the adapter's fixed filter AND the call's (a call only narrows)."""
    if not fixed:
        return given or None
    if not given:
        return fixed
    return {"$and": [dict(fixed), dict(given)]}


def hit_fields(hit: Hit) -> dict[str, Any]:
    """The ragkit fields of ``hit`` a framework document carries (under :data:`RAGKIT_KEY`)."""
    return {"chunk_id": f"{hit.doc_id}#{hit.position}", "doc_id": hit.doc_id, "position": hit.position, "row": hit.chunk_row,
            "start": hit.start, "end": hit.end, "score": hit.score,
            "legs": {name: {"rank": leg.rank, "score": leg.score} for name, leg in hit.legs.items()}}


def metadata_of(hit: Hit) -> dict[str, Any]:
    """The chunk's metadata with ragkit's fields of the hit under :data:`RAGKIT_KEY`."""
    return {**dict(hit.metadata), RAGKIT_KEY: hit_fields(hit)}
