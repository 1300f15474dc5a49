"""Checks of the pieces a build is given (chunker, embedder, source), shared by every way of building."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragkit.core.errors import InputError
from ragkit.core.validation import check_role

__all__ = ["check_pieces", "check_source"]


def check_pieces(owner: str, chunker: Any, embedder: Any) -> None:
    """Check a given ``chunker`` and ``embedder`` (``None``: the default) can do their part.

    Raises:
        ConfigError: one of them lacks a method of its role.
    """
    if chunker is not None:
        check_role(owner, "chunker", chunker, "chunker", ("chunk", "get_config"))
    if embedder is not None:
        check_role(owner, "embedder", embedder, "embedder", ("embed_documents", "embed_queries", "get_config"))


def check_source(owner: str, source: Any) -> None:
    """Check ``source`` is a path or a :class:`~ragkit.pipeline.sources.Source` (``describe``, ``plan``, ``read``).

    Raises:
        InputError: anything else.
    """
    if not isinstance(source, (str, Path)) and not all(callable(getattr(source, m, None)) for m in ("describe", "plan", "read")):
        raise InputError(f"{owner} reads a path or a Source, not a {type(source).__name__}; "
                         "for Documents in memory use build_collection(documents).save(path).")
