"""Documents and chunks: the two records that move through a pipeline."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ragkit.core.errors import InputError

__all__ = ["Document", "Chunk", "MetadataValue", "check_metadata_item", "validate_documents"]

#: Values a metadata field may hold: scalars, or a list of strings (tags, ACL groups).
MetadataValue = str | int | float | bool | None | list[str]

_RESERVED_FIELDS = frozenset({"doc_id", "chunk_id", "position", "start", "end", "text"})


@dataclass(frozen=True, slots=True)
class Document:
    """A source text with an id and metadata.

    Example:
        >>> Document(id="d1", text="Cats purr.", metadata={"lang": "en"}).id
        'd1'

    Raises:
        InputError: if ``id`` is not a non-empty string, ``text`` is not a string
            with some non-whitespace content, or a metadata value has an unsupported type.
    """

    id: str
    text: str
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InputError(f"Document.id must be a non-empty string. Got {self.id!r} instead.")
        if not isinstance(self.text, str):
            raise InputError(
                f"Document {self.id!r}: text must be a str, got {type(self.text).__name__}. "
                "Decode bytes first (e.g. data.decode('utf-8'))."
            )
        if not self.text.strip():
            raise InputError(
                f"Document {self.id!r}: text is empty or whitespace only. Drop the document "
                "or give it content; an empty document cannot be retrieved."
            )
        if not isinstance(self.metadata, Mapping):
            raise InputError(
                f"Document {self.id!r}: metadata must be a mapping. Got {type(self.metadata).__name__}."
            )
        for key, value in self.metadata.items():
            check_metadata_item(self.id, key, value)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A contiguous piece of a document.

    ``document.text[start:end] == chunk.text`` always holds; ``position`` is the
    chunk's rank within its document, starting at 0.
    """

    doc_id: str
    position: int
    text: str
    start: int
    end: int
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)


def validate_documents(documents: Iterable[Document]) -> list[Document]:
    """Materialise ``documents`` and check they are Documents with unique ids.

    Raises:
        InputError: on a non-Document item or a duplicate id.
    """
    docs = list(documents)
    seen: set[str] = set()
    for i, doc in enumerate(docs):
        if not isinstance(doc, Document):
            raise InputError(
                f"Item {i} is a {type(doc).__name__}, not a ragkit.Document. "
                "Wrap raw text as Document(id=..., text=...)."
            )
        if doc.id in seen:
            raise InputError(f"Duplicate document id {doc.id!r}: ids must be unique within a collection.")
        seen.add(doc.id)
    return docs


def check_metadata_item(doc_id: str, key: Any, value: Any) -> None:
    if not isinstance(key, str) or not key:
        raise InputError(f"Document {doc_id!r}: metadata keys must be non-empty strings. Got {key!r}.")
    if key in _RESERVED_FIELDS:
        raise InputError(
            f"Document {doc_id!r}: metadata key {key!r} is reserved "
            f"(reserved: {', '.join(sorted(_RESERVED_FIELDS))}). Rename it."
        )
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"Document {doc_id!r}: metadata {key!r} is {value!r}; use None for missing values.")
        return
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return
    raise InputError(
        f"Document {doc_id!r}: metadata {key!r} has type {type(value).__name__}; allowed are "
        "str, int, float, bool, None and list[str]."
    )
