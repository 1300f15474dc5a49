"""The retriever a serve mode names (a hybrid search of a collection without vectors serves BM25 alone)."""

from __future__ import annotations

import logging
from typing import Any

from ragkit.search.modes import available_mode, retriever_for

__all__ = ["default_retriever"]

logger = logging.getLogger(__name__)


def default_retriever(collection: Any, mode: str, fusion: Any = None) -> Any:
    """The retriever of ``mode`` over ``collection`` (see :func:`ragkit.search.modes.available_mode`)."""
    served = available_mode(collection, mode)
    if served != mode:
        logger.warning("this collection has no vector index; serving %s only", served)
    return retriever_for(collection, served, fusion)
