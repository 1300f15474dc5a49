from __future__ import annotations

import math

import pytest

from ragkit import Document, InputError
from ragkit.core.documents import validate_documents


def test_document_keeps_fields() -> None:
    doc = Document(id="a", text="hello", metadata={"lang": "en", "tags": ["x"], "year": 2020, "score": 0.5})
    assert (doc.id, doc.text, doc.metadata["tags"]) == ("a", "hello", ["x"])


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="empty"):
        Document(id="a", text=text)


@pytest.mark.parametrize("text", [None, 3, b"bytes", ["a"]])
def test_non_string_text_is_refused(text: object) -> None:
    with pytest.raises(InputError, match="must be a str"):
        Document(id="a", text=text)  # type: ignore[arg-type]


@pytest.mark.parametrize("doc_id", ["", None, 5])
def test_bad_id_is_refused(doc_id: object) -> None:
    with pytest.raises(InputError, match="id"):
        Document(id=doc_id, text="x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({"doc_id": "x"}, "reserved"),
        ({"": 1}, "keys"),
        ({"nested": {"a": 1}}, "type dict"),
        ({"mixed": [1, "a"]}, "type list"),
        ({"nan": math.nan}, "None for missing"),
    ],
)
def test_bad_metadata_is_refused(metadata: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        Document(id="a", text="x", metadata=metadata)


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(InputError, match="Duplicate document id 'a'"):
        validate_documents([Document(id="a", text="x"), Document(id="a", text="y")])


def test_non_documents_are_refused() -> None:
    with pytest.raises(InputError, match="not a ragkit.Document"):
        validate_documents(["raw text"])  # type: ignore[list-item]
