"""Checks a build runs on its components before doing any work."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["warn_if_truncating"]

logger = logging.getLogger(__name__)


def warn_if_truncating(chunker: Any, embedder: Any) -> None:
    """Log a warning when the chunker's chunks can be longer than the embedding model's window.

    Both are looked at through optional attributes (``chunker.max_tokens``,
    ``embedder.max_seq_length``): components without them are not checked.
    """
    limit = getattr(embedder, "max_seq_length", None)
    size = getattr(chunker, "max_tokens", None)
    if isinstance(limit, int) and isinstance(size, int) and size + 2 > limit:
        logger.warning(
            "chunks of up to %d tokens exceed the embedding model's %d-token window (2 are special tokens); "
            "the model will truncate long chunks. Use max_tokens <= %d.", size, limit, limit - 2,
        )
