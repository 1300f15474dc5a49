"""Behaviour every built-in chunker shares: tokenise once, turn spans into chunks, configs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import numpy as np

from ragkit.chunking.pages import with_pages
from ragkit.chunking.tokens import HFTokenCounter, RegexTokenCounter, get_token_counter
from ragkit.core.documents import Chunk, Document, MetadataValue, validate_documents
from ragkit.core.errors import InputError
from ragkit.core.validation import check_config

__all__ = ["ChunkerBase", "ChunkSpan"]

#: A chunk before it becomes a :class:`Chunk`: start, end, and metadata to add to the document's.
ChunkSpan = tuple[int, int, Mapping[str, MetadataValue]]

_C = TypeVar("_C", bound="ChunkerBase")


class ChunkerBase:
    """Mixin for the frozen chunker dataclasses; subclasses implement :meth:`_chunk_spans`."""

    tokenizer: str

    def _chunk_spans(self, text: str, starts: np.ndarray) -> list[ChunkSpan]:
        """Chunk spans of ``text``, in order, given where its tokens start."""
        raise NotImplementedError

    @property
    def token_counter(self) -> RegexTokenCounter | HFTokenCounter:
        """The counter resolved from ``tokenizer`` (loaded on first use, then cached).

        Raises:
            ConfigError: if the tokenizer cannot be loaded.
        """
        return get_token_counter(self.tokenizer)

    def chunk(self, document: Document) -> list[Chunk]:
        """Split one document into chunks whose offsets point back into its text.

        Raises:
            InputError: if ``document`` is not a :class:`ragkit.Document`.
            ConfigError: if the tokenizer cannot be loaded.
        """
        if not isinstance(document, Document):
            raise InputError(
                f"{type(self).__name__}.chunk expects a ragkit.Document. Got {type(document).__name__} instead."
            )
        return self._to_chunks(document, self._token_starts([document.text])[0])

    def chunk_many(self, documents: Iterable[Document]) -> list[Chunk]:
        """Chunk several documents, tokenised in one batch; chunks come in document order.

        Raises:
            InputError: on an item that is not a Document, or a duplicate document id.
            ConfigError: if the tokenizer cannot be loaded.
        """
        docs = validate_documents(documents, f"{type(self).__name__}.chunk")
        if not docs:
            return []
        all_starts = self._token_starts([doc.text for doc in docs])
        chunks: list[Chunk] = []
        for doc, starts in zip(docs, all_starts, strict=True):
            chunks.extend(self._to_chunks(doc, starts))
        return chunks

    def _token_starts(self, texts: list[str]) -> list[np.ndarray]:
        """Where the tokens of each text start, one tokeniser batch (a chunker that counts none overrides it)."""
        counter = self.token_counter
        return [counter.token_starts(texts[0])] if len(texts) == 1 else counter.token_starts_batch(texts)

    def _to_chunks(self, document: Document, starts: np.ndarray) -> list[Chunk]:
        text, doc_id, base = document.text, document.id, document.metadata
        pages: dict[str, list[int]] = {}  # a paged document's map, decoded once
        return [
            Chunk(
                doc_id=doc_id,
                position=position,
                text=text[start:end],
                start=start,
                end=end,
                metadata=with_pages(_metadata(base, extra), base, start, end, pages),
            )
            for position, (start, end, extra) in enumerate(self._chunk_spans(text, starts))
        ]

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration: ``{"type": class name, **fields}``."""
        config: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            config[f.name] = getattr(self, f.name)
        return config

    @classmethod
    def from_config(cls: type[_C], config: Mapping[str, Any]) -> _C:
        """Rebuild a chunker from :meth:`get_config` output.

        Raises:
            ConfigError: if ``config`` names another type, has unknown keys, or holds bad values.
        """
        valid = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        return cls(**check_config(cls.__name__, config, valid))


def _metadata(base: Mapping[str, MetadataValue], extra: Mapping[str, MetadataValue]) -> dict[str, MetadataValue]:
    """A chunk's own metadata: the document's plus ``extra``; lists are copied, never shared."""
    merged = {**base, **extra}
    return {key: list(value) if isinstance(value, list) else value for key, value in merged.items()}
