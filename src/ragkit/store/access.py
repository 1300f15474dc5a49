"""Access control: who may see which chunk, applied inside every leg before top-k.

A collection declares an access field (:meth:`Collection.set_access_field`), a metadata
field holding one entry (str) or a list of entries per chunk. Users and groups are two
namespaces, never confused:

- ``"user:<id>"`` grants the user whose id is ``<id>``;
- ``"group:<name>"`` or a bare ``"<name>"`` (a tenant, an ACL group) grants members of group ``<name>``.

A :class:`Principal` is a user id and the groups it belongs to; a bare entry never matches
a user id, so a user called ``"staff"`` does not see what group ``staff`` sees. A chunk
without the field is visible to nobody. Retrievers over such a collection refuse to search
until bound: ``retriever.bind(principal)``; the principal's row mask is ANDed into every
leg's pre-filter, so no leg ever ranks a chunk the principal may not see. Hits never carry
the access field (it names other users and groups).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.documents import check_unicode
from ragkit.core.errors import ConfigError, InputError
from ragkit.core.validation import as_list
from ragkit.store.chunks import metadata_fields
from ragkit.store.filters import filter_mask

__all__ = ["AccessMasks", "Principal", "access_rows", "check_access_field"]

_PREFIXES = ("user:", "group:")


@dataclass(frozen=True, slots=True)
class Principal:
    """The user (or service) a search runs for: a user id and the groups it belongs to.

    Hashable and immutable, so caches can key on it (id and groups: a changed membership
    is a different principal). Entries are compared exactly (case-sensitive).

    Example:
        >>> p = Principal("alice", groups=["team-a", "staff"])
        >>> sorted(p.tokens)
        ['group:staff', 'group:team-a', 'staff', 'team-a', 'user:alice']

    Raises:
        InputError: an empty id; a group that is not a non-empty str, or that starts with
            ``user:`` or ``group:`` (the namespace prefixes).
    """

    id: str
    groups: frozenset[str] = field(default_factory=frozenset)

    def __init__(self, id: str, groups: Iterable[str] = ()) -> None:
        if not isinstance(id, str) or not id.strip():
            raise InputError(f"Principal id must be a non-empty str. Got {id!r}.")
        check_unicode("Principal id", id)
        if isinstance(groups, str):
            raise InputError(f"Principal groups must be a list of str, got the single str {groups!r}; wrap it as [{groups!r}].")
        listed = as_list("Principal", groups, "groups as a list of str")
        bad = [g for g in listed if not isinstance(g, str) or not g.strip()]
        if bad:
            raise InputError(f"Principal groups must be non-empty str. Got {bad[:5]!r}.")
        for g in listed:
            check_unicode("Principal group", g)
        members = frozenset(listed)
        prefixed = sorted(g for g in members if g.startswith(_PREFIXES))
        if prefixed:
            raise InputError(f"Principal group names cannot start with 'user:' or 'group:' (the namespaces of access "
                             f"entries); got {prefixed[:5]!r}. Give the bare group name.")
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "groups", members)

    @property
    def tokens(self) -> frozenset[str]:
        """The access entries that grant this principal: ``user:<id>``, and each group bare and as ``group:<name>``."""
        return frozenset({f"user:{self.id}", *self.groups, *(f"group:{g}" for g in self.groups)})


def access_rows(chunks: pa.Table, access_field: str, principal: Principal) -> np.ndarray:
    """Boolean mask of the rows of ``chunks`` that ``principal`` may see."""
    kind = chunks.schema.field("metadata").type.field(access_field).type
    if pa.types.is_null(kind) or (pa.types.is_list(kind) and pa.types.is_null(kind.value_type)):
        return np.zeros(chunks.num_rows, dtype=bool)  # no chunk names anyone
    mask = filter_mask(chunks, {access_field: {"$in": sorted(principal.tokens)}})
    assert mask is not None
    return mask

def check_access_field(chunks: pa.Table, field: Any) -> str:
    """``field`` if it can name who may see each row of ``chunks`` (a str or list-of-str metadata field).

    Raises:
        ConfigError: not a metadata field of the chunks, or one holding other types.
    """
    if not isinstance(field, str) or not field:
        raise ConfigError(f"The access field must be a metadata field name (str). Got {field!r}.")
    meta = chunks.schema.field("metadata").type
    names = metadata_fields(chunks.schema)
    if field not in names:
        raise ConfigError(
            f"The access field {field!r} is not a metadata field of this collection (fields: {', '.join(names) or 'none'}). "
            "Give each document a metadata entry with its tenant or ACL groups."
        )
    kind = meta.field(field).type
    ok = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind) or (
        (pa.types.is_list(kind) or pa.types.is_large_list(kind))
        and (pa.types.is_string(kind.value_type) or pa.types.is_null(kind.value_type)))
    if not ok:
        raise ConfigError(f"The access field {field!r} must hold str or list[str] values; it holds {kind}.")
    return field


class AccessMasks:
    """The row masks of the principals that searched recently, per content version (read-only arrays)."""

    _LIMIT = 256

    def __init__(self) -> None:
        self._masks: dict[Principal, np.ndarray] = {}

    def clear(self) -> None:
        """Forget every mask (the content changed)."""
        self._masks = {}

    def get(self, chunks: pa.Table, access_field: str | None, principal: Principal) -> np.ndarray:
        """Rows of ``chunks`` that ``principal`` may see (every row without an access field).

        Raises:
            InputError: ``principal`` is not a :class:`Principal`.
        """
        if not isinstance(principal, Principal):
            raise InputError(f"principal must be a ragkit Principal. Got {type(principal).__name__}.")
        if access_field is None:
            return np.ones(chunks.num_rows, dtype=bool)
        cached = self._masks.get(principal)
        if cached is None or cached.shape[0] != chunks.num_rows:
            cached = access_rows(chunks, access_field, principal)
            cached.flags.writeable = False
            if len(self._masks) > self._LIMIT:
                self._masks = {}
            self._masks[principal] = cached
        return cached
