from __future__ import annotations

import pytest

import ragkit
from ragkit import FilterError


def docs_matching(collection: ragkit.Collection, filters: dict) -> set[str]:
    mask = collection.filter_mask(filters)
    assert mask is not None
    return set(collection.chunks.column("doc_id").filter(mask).to_pylist())


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kind": "mammal"}, {"cats", "dogs", "horses"}),
        ({"kind": {"$ne": "mammal"}}, {"birds", "fish", "snakes"}),
        ({"legs": {"$gte": 2, "$lt": 4}}, {"birds"}),
        ({"legs": {"$gt": 0}}, {"cats", "dogs", "horses", "birds"}),
        ({"kind": {"$in": ["bird", "fish"]}}, {"birds", "fish"}),
        ({"kind": {"$nin": ["mammal", "bird"]}}, {"fish", "snakes"}),
        ({"tags": "pet"}, {"cats", "dogs", "fish"}),
        ({"tags": {"$in": ["farm", "feline"]}}, {"cats", "horses"}),
        ({"tags": {"$ne": "wild"}}, {"cats", "dogs", "horses"}),
        ({"kind": "mammal", "tags": "pet"}, {"cats", "dogs"}),
        ({"$or": [{"kind": "bird"}, {"legs": 0}]}, {"birds", "fish", "snakes"}),
        ({"$and": [{"tags": "wild"}, {"tags": "pet"}]}, {"fish"}),
        ({"doc_id": {"$in": ["cats", "fish"]}}, {"cats", "fish"}),
        ({"legs": {"$exists": True}}, {"cats", "dogs", "birds", "fish", "snakes", "horses"}),
    ],
)
def test_filters_select_the_right_documents(animal_collection: ragkit.Collection, filters: dict, expected: set) -> None:
    assert docs_matching(animal_collection, filters) == expected


def test_no_filter_is_none(animal_collection: ragkit.Collection) -> None:
    assert animal_collection.filter_mask(None) is None
    assert animal_collection.filter_mask({}) is None


@pytest.mark.parametrize(
    ("filters", "match"),
    [
        ({"colour": "red"}, "Unknown filter field 'colour'. Fields of this collection: doc_id, kind, legs, tags"),
        ({"kind": {"$regex": "m.*"}}, "Unknown filter operator '\\$regex'"),
        ({"legs": {"$in": 4}}, "takes a list"),
        ({"tags": {"$gt": "a"}}, "does not apply to list field"),
        ({"legs": "four"}, "Cannot compare field 'legs'"),
        ({"$or": []}, "non-empty list"),
        ({"kind": {}}, "Empty condition"),
    ],
)
def test_bad_filters_raise_filter_error(animal_collection: ragkit.Collection, filters: dict, match: str) -> None:
    with pytest.raises(FilterError, match=match):
        animal_collection.filter_mask(filters)


def test_filter_must_be_a_mapping(animal_collection: ragkit.Collection) -> None:
    with pytest.raises(FilterError, match="mapping"):
        animal_collection.filter_mask(["kind"])  # type: ignore[arg-type]


@pytest.fixture
def sparse_metadata_collection(embedder: object) -> ragkit.Collection:
    docs = [
        ragkit.Document(id="a", text="alpha text", metadata={"lang": "en", "tags": ["x"]}),
        ragkit.Document(id="b", text="beta text", metadata={"lang": "fr"}),
        ragkit.Document(id="c", text="gamma text", metadata={}),
    ]
    return ragkit.build_collection(docs, chunker=ragkit.RecursiveChunker(tokenizer="regex"), embedder=embedder,  # type: ignore[arg-type]
                                   indexes=[ragkit.BM25Index()])


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"lang": {"$ne": "en"}}, {"b"}),
        ({"lang": {"$nin": ["en"]}}, {"b"}),
        ({"tags": {"$ne": "x"}}, set()),
        ({"tags": {"$nin": ["y"]}}, {"a"}),
        ({"lang": {"$exists": False}}, {"c"}),
        ({"lang": {"$in": []}}, set()),
    ],
)
def test_missing_fields_match_no_condition_but_exists_false(
    sparse_metadata_collection: ragkit.Collection, filters: dict, expected: set
) -> None:
    assert docs_matching(sparse_metadata_collection, filters) == expected


@pytest.mark.parametrize("filters", [{"lang": None}, {"lang": {"$in": ["en", None]}}, {"lang": {"$exists": "yes"}}])
def test_none_is_not_a_value(sparse_metadata_collection: ragkit.Collection, filters: dict) -> None:
    with pytest.raises(FilterError, match="exists"):
        sparse_metadata_collection.filter_mask(filters)
