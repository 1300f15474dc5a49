"""Naming a set of search indexes and building them over the rows of one chunk table."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ragkit.core.errors import ConfigError
from ragkit.core.protocols import SearchIndex
from ragkit.core.validation import as_list

__all__ = ["INDEX_KINDS", "build_indexes", "name_indexes"]

logger = logging.getLogger(__name__)

#: The index kinds a collection knows how to feed: vectors, or chunk texts.
INDEX_KINDS = ("vector", "bm25")


def name_indexes(indexes: Sequence[Any] | Mapping[str, Any]) -> dict[str, SearchIndex]:
    """``name -> index`` for a list (named after their kind: ``"vector"``, ``"bm25"``, then ``"vector_2"``...)
    or a mapping (names kept).

    Raises:
        ConfigError: no index, a name that is not an identifier, an object of no known index kind, an index class
            instead of an index, or one index object under two names (each name needs its own: they are built,
            updated and saved separately).
    """
    named: dict[Any, Any]
    if isinstance(indexes, Mapping):
        named = dict(indexes)
    else:
        named = {}
        for idx in as_list("build_collection", indexes, "indexes as a list, or a mapping of name -> index"):
            _check_instance(idx)
            kind = getattr(idx, "kind", None)  # user input: not known to be an index yet
            if kind is None:
                raise ConfigError(f"{idx!r} is not a ragkit index (it has no 'kind' attribute).")
            name, n = kind, 1
            while name in named:
                n += 1
                name = f"{kind}_{n}"
            named[name] = idx
    if not named:
        raise ConfigError("build_collection needs at least one index, e.g. indexes=[FaissIndex(), BM25Index()].")
    seen: dict[int, str] = {}
    for name, idx in named.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"Index name {name!r} must be a plain identifier (letters, digits, underscore).")
        _check_instance(idx)
        if id(idx) in seen:
            raise ConfigError(f"Indexes {seen[id(idx)]!r} and {name!r} are the same {type(idx).__name__} object; give each "
                              f"name its own index, e.g. {type(idx).__name__}.from_config(index.get_config()).")
        seen[id(idx)] = name
        kind = getattr(idx, "kind", None)  # user input: not known to be an index yet
        if kind not in INDEX_KINDS:
            raise ConfigError(f"Index {name!r} ({type(idx).__name__}) has unknown kind {kind!r}.")
    return named


def _check_instance(idx: Any) -> None:
    if isinstance(idx, type):
        raise ConfigError(f"Indexes must be index objects, not the class {idx.__name__}: write {idx.__name__}().")


def build_indexes(named: Mapping[str, SearchIndex], texts: Sequence[str], vectors: np.ndarray | None) -> None:
    """Build every index of ``named`` over the same rows: vector indexes from ``vectors``, BM25 from ``texts``.

    ``texts`` may be any sequence (e.g. a lazy view of an Arrow column); ``vectors`` may be
    ``None`` when no index is a vector index.

    Raises:
        ConfigError: a vector index but no vectors, an index of unknown kind, or one already built (it may belong to
            another collection, whose searches it would change).
    """
    for name, idx in named.items():
        if idx.num_rows:
            raise ConfigError(f"Index {name!r} ({type(idx).__name__}) is already built over {idx.num_rows} rows; "
                              "a collection builds its own indexes: give an unbuilt one, e.g. "
                              f"{type(idx).__name__}.from_config(index.get_config()).")
        if idx.kind == "vector":
            if vectors is None:
                raise ConfigError(f"Index {name!r} is a vector index but no vectors were given (is an embedder missing?).")
            idx.build(vectors)
        elif idx.kind == "bm25":
            idx.build(texts)
        else:
            raise ConfigError(f"Index {name!r} ({type(idx).__name__}) has unknown kind {idx.kind!r}.")
        logger.info("built index %s (%s) over %d chunks", name, type(idx).__name__, len(texts))
