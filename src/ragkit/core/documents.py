"""Documents and chunks: the two records that move through a pipeline."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ragkit.core.errors import InputError
from ragkit.core.validation import INT64_MAX, INT64_MIN, as_list

__all__ = ["Document", "Chunk", "MetadataValue", "check_metadata_item", "check_unicode", "validate_documents"]

#: Values a metadata field may hold: scalars, or a list of strings (tags, ACL groups).
MetadataValue = str | int | float | bool | None | list[str]

_RESERVED_FIELDS = frozenset({"doc_id", "chunk_id", "position", "start", "end", "text"})
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Document:
    """A source text with an id and metadata.

    Example:
        >>> Document(id="d1", text="Cats purr.", metadata={"lang": "en"}).id
        'd1'

    Raises:
        InputError: if ``id`` is not a non-empty string, ``text`` is not a string
            with some non-whitespace content, ``id``, ``text`` or a metadata string is not
            valid Unicode (holds a lone surrogate), or a metadata value has an unsupported
            type (an int beyond 64 bits included).
    """

    id: str
    text: str
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InputError(f"Document.id must be a non-empty string. Got {self.id!r} instead.")
        check_unicode(f"Document {self.id!r}: id", self.id)
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
        check_unicode(f"Document {self.id!r}: text", self.text)
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

    Raises:
        InputError: if ``doc_id`` is a str that is not valid Unicode (the other fields
            are checked where chunks enter a collection).
    """

    doc_id: str
    position: int
    text: str
    start: int
    end: int
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.doc_id, str):
            check_unicode(f"Chunk of document {self.doc_id!r}: doc_id", self.doc_id)


def validate_documents(documents: Iterable[Document], owner: str = "build_collection") -> list[Document]:
    """Materialise ``documents`` and check they are Documents with unique ids.

    Metadata is checked again: a Document's metadata mapping may have been changed
    after the Document was made.

    Raises:
        InputError: on a non-Document item, a duplicate id, or metadata of an unsupported type.
    """
    docs = as_list(owner, documents, "a list of Documents")
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
        if not isinstance(doc.metadata, Mapping):
            raise InputError(f"Document {doc.id!r}: metadata must be a mapping. Got {type(doc.metadata).__name__}.")
        for key, value in doc.metadata.items():
            check_metadata_item(doc.id, key, value)
    return docs


def check_unicode(what: str, text: str) -> None:
    """Raise unless ``text`` is valid Unicode (no lone surrogate), i.e. can be written as UTF-8.

    ``what`` starts the message, e.g. ``"Document 'd1': text"``.

    Raises:
        InputError: naming ``what`` and where the first lone surrogate is.
    """
    if text.isascii():
        return
    found = _SURROGATE.search(text)
    if found is not None:
        raise InputError(
            f"{what} is not valid Unicode (lone surrogate {found.group()!r} at position {found.start()}); it probably "
            "came from bytes decoded with errors='surrogateescape'. Decode with errors='replace' or fix the source."
        )


def check_metadata_item(doc_id: str, key: Any, value: Any) -> None:
    """Check one metadata field of document ``doc_id``: a valid key and a storable value.

    Raises:
        InputError: a key that is not a non-empty valid-Unicode str or is reserved; a value
            that is not str, int (64 bits), finite float, bool, None or list[str]; a string
            holding a lone surrogate.
    """
    if not isinstance(key, str) or not key:
        raise InputError(f"Document {doc_id!r}: metadata keys must be non-empty strings. Got {key!r}.")
    check_unicode(f"Document {doc_id!r}: metadata key {key!r}", key)
    if key in _RESERVED_FIELDS:
        raise InputError(
            f"Document {doc_id!r}: metadata key {key!r} is reserved "
            f"(reserved: {', '.join(sorted(_RESERVED_FIELDS))}). Rename it."
        )
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        check_unicode(f"Document {doc_id!r}: metadata {key!r}", value)
        return
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InputError(
                f"Document {doc_id!r}: metadata {key!r} is {value}, which does not fit in 64 bits "
                f"(ints must be in [{INT64_MIN}, {INT64_MAX}]); store it as a str or a float."
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"Document {doc_id!r}: metadata {key!r} is {value!r}; use None for missing values.")
        return
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        for i, item in enumerate(value):
            check_unicode(f"Document {doc_id!r}: metadata {key!r} item {i}", item)
        return
    raise InputError(
        f"Document {doc_id!r}: metadata {key!r} has type {type(value).__name__}; allowed are "
        "str, int, float, bool, None and list[str]."
    )
