"""Inputs that used to escape as builtin exceptions (RecursionError, OverflowError,
UnicodeEncodeError, TypeError) now raise the ragkit error that names the problem, and a
refused change leaves the collection as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit import (
    BM25Index,
    BM25Retriever,
    BM25Tokenizer,
    Chunk,
    Collection,
    ConfigError,
    DenseRetriever,
    Document,
    FaissIndex,
    FilterError,
    HybridRetriever,
    IndexFormatError,
    InputError,
    MarkdownChunker,
    RagkitError,
    RecursiveChunker,
    SentenceChunker,
    SentenceTransformerEmbedder,
)
from ragkit.core.validation import INT64_MAX, INT64_MIN, check_choice, check_config, check_float, check_int, check_k
from ragkit.store.filters import MAX_FILTER_DEPTH, check_filter, filters_key
from ragkit.store.manifest import seal_manifest
from ragkit.store.registry import component_from_config
from ragkit.testing import HashEmbedder

QUERIES = ["cats purr", "birds at dawn", "loyal pet dog"]
BIG = 2**70


def state(collection: Collection) -> tuple[Any, ...]:
    hits = HybridRetriever(collection).search_batch(QUERIES, k=5)
    return (collection.version, collection.generation, collection.chunk_ids(), collection.chunks.to_pylist(),
            [[(h.doc_id, h.score) for h in q] for q in hits])


def nested(op: str, levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": "mammal"}
    for _ in range(levels):
        node = {op: [node]}
    return node


def raises_exactly(error: type[RagkitError], call: Callable[[], object], match: str | None = None) -> RagkitError:
    with pytest.raises(RagkitError, match=match) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    return info.value


# -- filters nested thousands deep --------------------------------------------------------------
@pytest.mark.parametrize("op", ["$and", "$or"])
def test_a_filter_nested_thousands_deep_is_a_filter_error(animal_collection: Collection, op: str) -> None:
    deep = nested(op, 5_000)
    raises_exactly(FilterError, lambda: animal_collection.filter_mask(deep), "more than 64 levels deep")
    raises_exactly(FilterError, lambda: HybridRetriever(animal_collection).search("cats", filters=deep))
    raises_exactly(FilterError, lambda: filters_key(deep))


def test_filter_depth_is_bounded_at_max_filter_depth(animal_collection: Collection) -> None:
    mask = animal_collection.filter_mask(nested("$and", MAX_FILTER_DEPTH))
    assert mask is not None and mask.tolist() == animal_collection.filter_mask({"kind": "mammal"}).tolist()  # type: ignore[union-attr]
    raises_exactly(FilterError, lambda: animal_collection.filter_mask(nested("$or", MAX_FILTER_DEPTH + 1)))


def test_a_filter_that_contains_itself_is_a_filter_error(animal_collection: Collection) -> None:
    loop: dict[str, Any] = {}
    loop["$and"] = [loop, loop]
    raises_exactly(FilterError, lambda: animal_collection.filter_mask(loop), "refers to itself")


def test_a_filter_of_exponentially_many_conditions_is_a_filter_error(animal_collection: Collection) -> None:
    shared: dict[str, Any] = {"kind": "mammal"}
    for _ in range(40):  # 2**40 paths through 40 shared sub-filters
        shared = {"$or": [shared, shared]}
    raises_exactly(FilterError, lambda: animal_collection.filter_mask(shared), "more than 100000 conditions")


# -- integers beyond int64 ------------------------------------------------------------------------
@pytest.mark.parametrize("filters", [
    {"legs": BIG}, {"legs": -BIG}, {"legs": {"$gt": BIG}}, {"legs": {"$in": [4, BIG]}}, {"legs": {"$nin": [BIG]}},
    {"tags": BIG}, {"$or": [{"kind": "bird"}, {"legs": {"$lte": INT64_MAX + 1}}]}, {"legs": {"$gte": INT64_MIN - 1}},
], ids=["eq", "neg", "gt", "in", "nin", "list-field", "inside-or", "int64-min-1"])
def test_filter_ints_beyond_int64_are_a_filter_error(animal_collection: Collection, filters: dict[str, Any]) -> None:
    raises_exactly(FilterError, lambda: animal_collection.filter_mask(filters), "does not fit in 64 bits")
    raises_exactly(FilterError, lambda: HybridRetriever(animal_collection).search("cats", filters=filters))


def test_filter_ints_at_the_int64_bounds_are_fine(animal_collection: Collection) -> None:
    assert not animal_collection.filter_mask({"legs": INT64_MAX}).any()  # type: ignore[union-attr]
    assert animal_collection.filter_mask({"legs": {"$gt": INT64_MIN}}).all()  # type: ignore[union-attr]


@pytest.mark.parametrize("value", [BIG, -BIG, INT64_MAX + 1, INT64_MIN - 1])
def test_metadata_ints_beyond_int64_are_an_input_error(value: int) -> None:
    raises_exactly(InputError, lambda: Document(id="d", text="text", metadata={"n": value}), "does not fit in 64 bits")


def test_metadata_ints_at_the_int64_bounds_are_stored(embedder: HashEmbedder) -> None:
    docs = [Document(id="a", text="alpha", metadata={"n": INT64_MAX}), Document(id="b", text="beta", metadata={"n": INT64_MIN})]
    collection = ragkit.build_collection(docs, chunker=RecursiveChunker(tokenizer="regex"), embedder=embedder,
                                         indexes=[BM25Index()])
    assert collection.chunks.column("metadata").combine_chunks().field("n").to_pylist() == [INT64_MAX, INT64_MIN]


def chunk(doc_id: str = "new", position: int = 0, end: int = 3, **metadata: Any) -> Chunk:
    return Chunk(doc_id=doc_id, position=position, text="new text", start=0, end=end, metadata=metadata)


def mutated_document() -> Document:
    """A Document whose metadata mapping was changed after it was checked."""
    metadata: dict[str, Any] = {"legs": 4}
    doc = Document(id="late", text="late change", metadata=metadata)
    metadata["legs"] = BIG
    return doc


REFUSED_ADDS: list[tuple[str, Callable[[], list[Any]], str]] = [
    ("chunk metadata int beyond int64", lambda: [chunk(legs=BIG)], "does not fit in 64 bits"),
    ("chunk metadata negative int beyond int64", lambda: [chunk(legs=INT64_MIN - 1)], "does not fit in 64 bits"),
    ("document metadata changed after it was made", lambda: [mutated_document()], "does not fit in 64 bits"),
    ("chunk position beyond int32", lambda: [chunk(position=2**40)], "position an int in"),
    ("chunk end beyond int64", lambda: [chunk(end=BIG)], "start and end ints"),
    ("chunk metadata key with a lone surrogate", lambda: [chunk(**{"k\udc80": "v"})], "not valid Unicode"),  # type: ignore[arg-type]
    ("chunk metadata value with a lone surrogate", lambda: [chunk(kind="mam\ud800mal")], "not valid Unicode"),
    ("chunk metadata list item with a lone surrogate", lambda: [chunk(tags=["pet", "\udfff"])], "item 1 is not valid Unicode"),
]


@pytest.mark.parametrize(("name", "items", "fragment"), REFUSED_ADDS, ids=[c[0] for c in REFUSED_ADDS])
@pytest.mark.parametrize("method", ["add", "upsert"])
def test_refused_add_is_an_input_error_and_changes_nothing(
    animal_collection: Collection, name: str, items: Callable[[], list[Any]], fragment: str, method: str
) -> None:
    before = state(animal_collection)
    raises_exactly(InputError, lambda: getattr(animal_collection, method)(items()), fragment)
    assert state(animal_collection) == before
    animal_collection.add([Document(id="after", text="the collection still takes changes")])


def test_refused_adds_leave_the_saved_collection_unchanged(animal_collection: Collection, tmp_path: Path) -> None:
    root = animal_collection.save(tmp_path / "c")
    files = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".readers.lock"}
    with Collection.open(root) as opened:
        before = state(opened)
        for _, items, _ in REFUSED_ADDS:
            with pytest.raises(InputError):
                opened.add(items())
        assert state(opened) == before
    assert {p: p.read_bytes() for p in files} == files


def test_build_refuses_a_document_changed_after_it_was_made(embedder: HashEmbedder) -> None:
    raises_exactly(InputError, lambda: ragkit.build_collection([mutated_document()], chunker=RecursiveChunker(tokenizer="regex"),
                                                               embedder=embedder, indexes=[BM25Index()]))


# -- lone surrogates -------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "fragment"), [
    (lambda: Document(id="bad\ud800", text="text"), "id is not valid Unicode"),
    (lambda: Document(id="d", text="bad \udcc3 text"), "text is not valid Unicode"),
    (lambda: Document(id="d", text="text", metadata={"\ud800": 1}), "metadata key '\\\\ud800' is not valid Unicode"),
    (lambda: Document(id="d", text="text", metadata={"lang": "\ud800"}), "metadata 'lang' is not valid Unicode"),
    (lambda: Document(id="d", text="text", metadata={"tags": ["ok", "\ud800"]}), "item 1 is not valid Unicode"),
    (lambda: Chunk(doc_id="bad\ud800", position=0, text="t", start=0, end=1), "doc_id is not valid Unicode"),
], ids=["document id", "document text", "metadata key", "metadata value", "metadata list item", "chunk doc_id"])
def test_lone_surrogates_are_an_input_error_at_construction(make: Callable[[], object], fragment: str) -> None:
    raises_exactly(InputError, make, fragment)


def test_valid_non_ascii_text_is_untouched() -> None:
    doc = Document(id="café", text="naïve 😀 ☕", metadata={"lang": "français", "tags": ["ü"]})
    assert doc.text == "naïve 😀 ☕"


def test_a_chunk_text_with_a_lone_surrogate_is_refused_on_add(animal_collection: Collection) -> None:
    before = state(animal_collection)
    bad = Chunk(doc_id="new", position=0, text="caf\udcc3", start=0, end=4)
    raises_exactly(InputError, lambda: animal_collection.add([bad]), "not valid Unicode")
    assert state(animal_collection) == before


@pytest.mark.parametrize("filters", [{"kind": "\ud800"}, {"tags": {"$in": ["pet", "\udc80"]}}, {"kind": {"$ne": "x\udfff"}}])
def test_filter_strings_with_lone_surrogates_are_a_filter_error(animal_collection: Collection, filters: dict[str, Any]) -> None:
    raises_exactly(FilterError, lambda: animal_collection.filter_mask(filters), "not valid Unicode")


def test_queries_with_lone_surrogates_are_an_input_error(animal_collection: Collection) -> None:
    for retriever in (HybridRetriever(animal_collection), BM25Retriever(animal_collection)):
        with pytest.raises(InputError, match="Query #2"):
            retriever.search_batch(["cats", "cats \ud800 purr"], k=3)
    assert HybridRetriever(animal_collection).search("cats purr", k=3)[0].doc_id == "cats"


def test_bm25_reads_lone_surrogates_as_replacement_characters(tmp_path: Path) -> None:
    index = BM25Index(tokenizer=BM25Tokenizer(pattern=r"\S+", stemmer=None)).build(["caf\udcc3 noir", "the\ufffe tea"])
    assert index.config.tokenizer.tokenize(["caf\udcc3"]) == [["caf\ufffd"]]
    assert [int(r) for r in index.search_rows(["caf\udcc3"], k=1)[0].rows] == [0]
    assert index.save(tmp_path)  # every term is valid UTF-8


@pytest.mark.parametrize("texts", [["ok", None], ["ok", b"bytes"], "a bare string"])
def test_tokenizing_something_that_is_not_a_list_of_str_is_an_input_error(texts: Any) -> None:
    raises_exactly(InputError, lambda: BM25Index().build(texts))


# -- filter values no metadata field holds ----------------------------------------------------------------
@pytest.mark.parametrize("filters", [
    {"tags": ["pet"]}, {"legs": {"$eq": {"$gt": 1}}}, {"legs": {"$in": [[4]]}}, {"legs": b"4"}, {"legs": object()},
    {"legs": {"$lt": 1j}},
], ids=["list literal", "mapping operand", "list in $in", "bytes", "object", "complex"])
def test_non_scalar_filter_values_are_a_filter_error(animal_collection: Collection, filters: dict[str, Any]) -> None:
    raises_exactly(FilterError, lambda: animal_collection.filter_mask(filters), "must be a str, int, float or bool")


def test_deeply_nested_filter_values_are_refused_without_recursing(animal_collection: Collection) -> None:
    value: Any = 4
    for _ in range(5_000):
        value = [value]
    raises_exactly(FilterError, lambda: animal_collection.filter_mask({"legs": {"$in": [value]}}))
    raises_exactly(FilterError, lambda: filters_key({"legs": value}))


def test_numpy_filter_values_match_like_python_values(animal_collection: Collection) -> None:
    plain = animal_collection.filter_mask({"legs": {"$in": [2, 4]}, "kind": "mammal"})
    numpy = animal_collection.filter_mask({"legs": {"$in": [np.int64(2), np.int32(4)]}, "kind": np.str_("mammal")})
    assert plain.tolist() == numpy.tolist()  # type: ignore[union-attr]
    assert filters_key({"legs": np.int64(4), "w": np.float32(0.5)}) == filters_key({"legs": 4, "w": 0.5})
    check_filter({"legs": {"$exists": True}, "$and": [{"kind": "bird"}]})


# -- configs from a newer writer ----------------------------------------------------------------------
COMPONENTS: list[tuple[str, Callable[[], Any]]] = [
    ("BM25Index", lambda: BM25Index("okapi", k1=1.2)),
    ("FaissIndex", lambda: FaissIndex("HNSW32", ef_search=64)),
    ("SentenceTransformerEmbedder", lambda: SentenceTransformerEmbedder(batch_size=8)),
    ("RecursiveChunker", lambda: RecursiveChunker(max_tokens=20, overlap=2, tokenizer="regex")),
    ("SentenceChunker", lambda: SentenceChunker(max_tokens=20, tokenizer="regex")),
    ("MarkdownChunker", lambda: MarkdownChunker(max_tokens=20, overlap=0, tokenizer="regex")),
    ("BM25Tokenizer", lambda: BM25Tokenizer(stemmer="porter")),
    ("HashEmbedder", lambda: HashEmbedder(dimension=8)),
]
COMPONENT_IDS = [c[0] for c in COMPONENTS]


@pytest.mark.parametrize(("name", "make"), COMPONENTS, ids=COMPONENT_IDS)
def test_from_config_round_trips(name: str, make: Callable[[], Any]) -> None:
    component = make()
    again = type(component).from_config(component.get_config())
    assert again.get_config() == component.get_config()
    json.dumps(component.get_config())


@pytest.mark.parametrize(("name", "make"), COMPONENTS, ids=COMPONENT_IDS)
def test_unknown_config_keys_are_a_config_error_naming_them_and_the_known_ones(name: str, make: Callable[[], Any]) -> None:
    component = make()
    config = {**component.get_config(), "new_option": 1, "zz_later": True}
    error = raises_exactly(ConfigError, lambda: type(component).from_config(config))
    message = str(error)
    assert "'new_option'" in message and "'zz_later'" in message and name in message
    known = next(k for k in component.get_config() if k != "type")
    assert f"Valid parameters: '{known}'" in message


@pytest.mark.parametrize(("name", "make"), COMPONENTS, ids=COMPONENT_IDS)
@pytest.mark.parametrize("config", [[("max_tokens", 3)], "RecursiveChunker", None, 3], ids=["list", "str", "None", "int"])
def test_a_config_that_is_not_a_mapping_is_a_config_error(name: str, make: Callable[[], Any], config: Any) -> None:
    raises_exactly(ConfigError, lambda: type(make()).from_config(config), "expects a mapping")


@pytest.mark.parametrize(("name", "make"), COMPONENTS, ids=COMPONENT_IDS)
def test_a_config_of_another_type_is_a_config_error(name: str, make: Callable[[], Any]) -> None:
    raises_exactly(ConfigError, lambda: type(make()).from_config({"type": "SomethingElse"}), "'SomethingElse', not")


@pytest.mark.parametrize("tokenizer", [None, [1], "regex", 3])
def test_a_bm25_tokenizer_entry_that_is_not_a_mapping_is_a_config_error(tokenizer: Any) -> None:
    config = {**BM25Index().get_config(), "tokenizer": tokenizer}
    raises_exactly(ConfigError, lambda: BM25Index.from_config(config), "'tokenizer' parameter of BM25Index.from_config")


def test_unknown_keys_inside_a_bm25_tokenizer_entry_are_a_config_error() -> None:
    config = BM25Index().get_config()
    config["tokenizer"] = {**config["tokenizer"], "new_option": 1}
    raises_exactly(ConfigError, lambda: BM25Index.from_config(config), "'new_option' for BM25Tokenizer")


def test_bad_values_in_a_config_are_a_config_error() -> None:
    raises_exactly(ConfigError, lambda: BM25Index.from_config({"type": "BM25Index", "k1": "fast"}), "'k1'")
    raises_exactly(ConfigError, lambda: FaissIndex.from_config({"type": "FaissIndex", "nprobe": 2.0}), "'nprobe'")
    raises_exactly(ConfigError, lambda: HashEmbedder.from_config({"type": "HashEmbedder", "model": 5}), "'model'")


def test_check_config_names_unknown_keys_of_any_type() -> None:
    raises_exactly(ConfigError, lambda: check_config("X", {1: "a", "b": 2}, ["b"]), "Unknown parameter\\(s\\) 1 for X")
    assert check_config("X", {"type": "X", "b": 2}, ["b"]) == {"b": 2}


def reseal(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    (root / "manifest.json").write_text(json.dumps(seal_manifest(body)))


def _index(manifest: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["config"] for e in manifest["indexes"].values() if e["config"]["type"] == kind)


NEWER_MANIFESTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("bm25 option", lambda m: _index(m, "BM25Index").update(new_option=1), "'new_option' for BM25Index"),
    ("faiss option", lambda m: _index(m, "FaissIndex").update(new_option=1), "'new_option' for FaissIndex"),
    ("tokenizer option", lambda m: _index(m, "BM25Index")["tokenizer"].update(new_option=1), "'new_option' for BM25Tokenizer"),
    ("tokenizer not a mapping", lambda m: _index(m, "BM25Index").update(tokenizer=None), "'tokenizer' parameter"),
    ("embedder option", lambda m: m["embedder"]["config"].update(new_option=1), "'new_option' for HashEmbedder"),
]


@pytest.mark.parametrize(("name", "change", "fragment"), NEWER_MANIFESTS, ids=[c[0] for c in NEWER_MANIFESTS])
def test_opening_a_collection_from_a_newer_writer_is_a_config_error(
    animal_collection: Collection, tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None], fragment: str
) -> None:
    root = animal_collection.save(tmp_path / "c")
    reseal(root, change)
    raises_exactly(ConfigError, lambda: Collection.open(root), fragment)


def test_a_chunker_option_from_a_newer_writer_is_a_config_error_on_add(animal_collection: Collection, tmp_path: Path) -> None:
    root = animal_collection.save(tmp_path / "c")
    reseal(root, lambda m: m["chunker"].update(new_option=1))
    with Collection.open(root) as opened:
        before = state(opened)
        raises_exactly(ConfigError, lambda: opened.add([Document(id="new", text="new text")]), "'new_option' for RecursiveChunker")
        assert state(opened) == before


def test_component_from_config_refuses_what_is_not_a_component_config() -> None:
    raises_exactly(IndexFormatError, lambda: component_from_config([1], "the chunker"), "config of the chunker must be a mapping")
    raises_exactly(IndexFormatError, lambda: component_from_config({"type": "os.system"}), "not allowed")
    raises_exactly(ConfigError, lambda: component_from_config({"type": "HashEmbedder", "new_option": 1}))
    assert isinstance(component_from_config(RecursiveChunker(tokenizer="regex").get_config()), RecursiveChunker)


# -- numpy integers for k and int parameters ----------------------------------------------------------------------
NUMPY_INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


@pytest.mark.parametrize("kind", NUMPY_INTS, ids=[t.__name__ for t in NUMPY_INTS])
def test_numpy_integers_are_ints_and_come_back_as_int(kind: type[np.integer]) -> None:
    for value in (check_k("X", kind(3)), check_int("X", "n", kind(3), low=0)):
        assert value == 3 and type(value) is int


@pytest.mark.parametrize(("value", "fragment"), [
    (True, r"Got True \(bool\)"), (np.bool_(True), "bool"), (3.0, r"Pass 3 \(an int\), not a float"), (2.5, "float"),
    ("3", "str"), (None, "NoneType"), (BIG, "fits in 64 bits"), (np.float64(3.0), "Pass 3"), (0, "Got 0 instead"),
])
def test_k_that_is_not_a_positive_int_is_an_input_error(value: Any, fragment: str) -> None:
    pattern = f"The 'k' parameter of HybridRetriever must be an int >= 1.*{fragment}"
    raises_exactly(InputError, lambda: check_k("HybridRetriever", value), pattern)


def test_searches_take_numpy_k(animal_collection: Collection) -> None:
    for retriever in (HybridRetriever(animal_collection), BM25Retriever(animal_collection)):
        assert retriever.search("cats purr", k=np.int64(3)) == retriever.search("cats purr", k=3)
        raises_exactly(InputError, lambda r=retriever: r.search("cats", k=3.0), "Pass 3")  # type: ignore[misc]
    index = BM25Index().build(["cats purr", "dogs bark"])
    assert index.search_rows(["cats"], k=np.uint8(1))[0].rows.tolist() == [0]


def test_dense_search_takes_numpy_k(animal_collection: Collection) -> None:
    retriever = DenseRetriever(animal_collection)
    assert retriever.search("cats purr", k=np.int64(3)) == retriever.search("cats purr", k=3)


def test_numpy_config_values_are_stored_as_python_numbers(embedder: HashEmbedder, tmp_path: Path) -> None:
    chunker = RecursiveChunker(max_tokens=np.int64(20), overlap=np.int8(2), tokenizer="regex")
    components: list[Any] = [chunker, SentenceChunker(max_tokens=np.int32(9), overlap_sentences=np.int64(1)),
                  MarkdownChunker(max_tokens=np.uint16(30), overlap=np.int64(0)), FaissIndex("IVF4,Flat", nprobe=np.int64(2)),
                  BM25Index(k1=np.float32(1.25), b=np.float16(0.5)), SentenceTransformerEmbedder(batch_size=np.int64(8)),
                  HashEmbedder(dimension=np.int64(8))]
    for component in components:
        json.dumps(component.get_config())  # a numpy number would not serialise
        values = [v for v in component.get_config().values() if isinstance(v, (int, float))]
        assert all(type(v) in (int, float, bool) for v in values), component.get_config()
    docs = [Document(id="a", text="alpha beta gamma"), Document(id="b", text="delta epsilon")]
    root = ragkit.build_collection(docs, chunker=chunker, embedder=embedder, indexes=[BM25Index(k1=np.float32(1.25))]).save(tmp_path / "c")
    with Collection.open(root) as opened:
        assert opened.chunker_config["max_tokens"] == 20  # type: ignore[index]


def test_config_ints_and_floats_beyond_range_are_a_config_error() -> None:
    raises_exactly(ConfigError, lambda: BM25Index(k1=10**400), "'k1' parameter of BM25Index must be a finite number")
    raises_exactly(ConfigError, lambda: FaissIndex(nprobe=BIG), "fits in 64 bits")
    raises_exactly(ConfigError, lambda: check_float("X", "f", float("nan")), "finite")
    assert type(check_float("X", "f", np.float32(0.5))) is float


def test_unhashable_or_bool_choices_are_a_config_error() -> None:
    raises_exactly(ConfigError, lambda: check_choice("X", "mode", ["a"], {"a", "b"}), "must be one of")
    raises_exactly(ConfigError, lambda: check_choice("X", "mode", np.array([1, 2]), (1, 2)), "must be one of")
    raises_exactly(ConfigError, lambda: check_choice("X", "mode", True, (1, 2)), "must be one of")
    raises_exactly(ConfigError, lambda: BM25Index(variant={"okapi": 1}), "'variant'")  # type: ignore[arg-type]
    assert check_choice("X", "flag", True, (True, False)) is True


# -- a value where a list or a path belongs -----------------------------------------------------
NOT_A_LIST = [None, 3, 2.5, True, object()]


@pytest.mark.parametrize("value", NOT_A_LIST, ids=lambda v: type(v).__name__)
def test_a_non_iterable_where_a_list_belongs_is_an_input_error(animal_collection: Collection, value: Any) -> None:
    from ragkit.eval import evaluate

    before = state(animal_collection)
    for retriever in (HybridRetriever(animal_collection), BM25Retriever(animal_collection), DenseRetriever(animal_collection)):
        raises_exactly(InputError, lambda r=retriever: r.search_batch(value, k=3), "search_batch takes a list of query strings")
    raises_exactly(InputError, lambda: animal_collection.add(value), "takes a list of Documents or Chunks")
    raises_exactly(InputError, lambda: animal_collection.upsert(value), "takes a list of Documents or Chunks")
    assert state(animal_collection) == before
    raises_exactly(InputError, lambda: ragkit.build_collection(value, embedder=HashEmbedder(dimension=8)),
                   "build_collection takes a list of Documents")
    raises_exactly(InputError, lambda: RecursiveChunker(tokenizer="regex").chunk(value), "RecursiveChunker.chunk")
    raises_exactly(InputError, lambda: BM25Tokenizer().tokenize(value), "BM25Tokenizer.tokenize takes a list of texts")
    raises_exactly(InputError, lambda: evaluate({"q": {"d": 1.0}}, {"q": {"d": 1}}, value), "evaluate takes metric names")


@pytest.mark.parametrize("path", [None, 7, b"indexes/x", ["a"], "bad\ud800name"], ids=["None", "int", "bytes", "list", "surrogate"])
def test_a_path_that_is_no_path_is_an_input_error(animal_collection: Collection, tmp_path: Path, path: Any) -> None:
    for call, owner in ((lambda: animal_collection.save(path), "Collection.save"), (lambda: Collection.open(path), "Collection.open"),
                        (lambda: ragkit.open_collection(path), "open_collection")):
        error = raises_exactly(InputError, call)
        assert str(error).startswith(owner)
    assert not any(tmp_path.iterdir())


def test_a_grade_beyond_64_bits_is_an_input_error() -> None:
    from ragkit.eval import evaluate

    raises_exactly(InputError, lambda: evaluate({"q": {"d": 1.0}}, {"q": {"d": 2**70}}), "grade must be an int")


@pytest.mark.parametrize("value", NOT_A_LIST, ids=lambda v: type(v).__name__)
def test_non_iterable_groups_texts_and_retrievers_are_ragkit_errors(animal_collection: Collection, value: Any) -> None:
    raises_exactly(InputError, lambda: ragkit.Principal("alice", groups=value), "Principal takes groups")
    raises_exactly(InputError, lambda: HashEmbedder(dimension=8).embed_queries(value), "embed takes a list of texts")
    raises_exactly(InputError, lambda: HashEmbedder(dimension=8).embed_documents(value), "embed takes a list of texts")
    if value is not None:  # None: the default pair of legs
        raises_exactly(InputError, lambda: HybridRetriever(animal_collection, retrievers=value), "HybridRetriever takes retrievers")


def test_a_cache_that_is_no_semantic_cache_is_a_config_error(animal_collection: Collection) -> None:
    from ragkit.cache import CachedRetriever

    for value in ("cache", True, {}, object()):
        raises_exactly(ConfigError, lambda v=value: CachedRetriever(HybridRetriever(animal_collection), v),
                       "'cache' must be a SemanticCache")


@pytest.mark.parametrize("allowed", [[True] * 3, np.ones(3, dtype=np.int64), np.ones((3, 1), dtype=bool), True, "all"],
                         ids=["list", "int array", "2-d", "bool", "str"])
def test_an_allowed_mask_that_is_no_bool_row_array_is_an_input_error(animal_collection: Collection, allowed: Any) -> None:
    vector, bm25 = animal_collection.indexes["vector"], animal_collection.indexes["bm25"]
    n = animal_collection.num_rows
    mask = allowed if not isinstance(allowed, np.ndarray) else (np.ones(n, dtype=allowed.dtype) if allowed.ndim == 1
                                                                 else np.ones((n, 1), dtype=bool))
    query = HashEmbedder(dimension=32).embed_queries(["cats"])
    raises_exactly(InputError, lambda: vector.search_rows(query, 2, allowed=mask), "allowed mask")
    raises_exactly(InputError, lambda: bm25.search_rows(["cats"], 2, allowed=mask), "allowed mask")
    right = np.ones(n, dtype=bool)
    assert len(vector.search_rows(query, 2, allowed=right)[0]) == 2 and len(bm25.search_rows(["cats"], 2, allowed=right)[0]) >= 1


def test_an_id_that_is_not_valid_unicode_deletes_nothing(animal_collection: Collection) -> None:
    before = state(animal_collection)
    raises_exactly(InputError, lambda: animal_collection.delete(["bad\ud800#0"]), "is not valid Unicode")
    raises_exactly(InputError, lambda: animal_collection.delete(doc_ids=["\udfff"]), "is not valid Unicode")
    assert state(animal_collection) == before


def test_a_bm25_tokenizer_that_is_an_array_is_a_config_error() -> None:
    raises_exactly(ConfigError, lambda: BM25Index(tokenizer=np.array([1, 2])), "must be a BM25Tokenizer")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", [None, b"corpus", 3], ids=["None", "bytes", "int"])
def test_sources_and_loaders_refuse_a_path_that_is_no_path(path: Any) -> None:
    from ragkit.eval import load_beir
    from ragkit.pipeline import BeirSource, CsvSource, JsonlSource, ParquetSource, open_source, read_folder

    for call, owner in ((lambda: list(read_folder(path)), "read_folder"), (lambda: load_beir(path), "load_beir"),
                        (lambda: JsonlSource(path), "JsonlSource"), (lambda: CsvSource(path), "CsvSource"),
                        (lambda: ParquetSource(path), "ParquetSource"), (lambda: BeirSource(path), "BeirSource"),
                        (lambda: open_source(path), "open_source")):
        assert str(raises_exactly(InputError, call)).startswith(f"{owner} takes a path")


@pytest.mark.parametrize("value", [True, b"x", {}, "abc", 3], ids=["bool", "bytes", "dict", "str", "int"])
def test_build_pieces_of_the_wrong_kind_are_config_errors(animal_docs: list[Document], tmp_path: Path, value: Any) -> None:
    from ragkit.pipeline import index_corpus, sync_collection
    from ragkit.store.registry import register_component

    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "hello world"}\n')
    raises_exactly(ConfigError, lambda: ragkit.build_collection(animal_docs, chunker=value), "'chunker' parameter of build_collection")
    raises_exactly(ConfigError, lambda: ragkit.build_collection(animal_docs, embedder=value), "'embedder' parameter of build_collection")
    raises_exactly(ConfigError, lambda: index_corpus(corpus, tmp_path / "o", chunker=value), "'chunker' parameter of index_corpus")
    raises_exactly(ConfigError, lambda: index_corpus(corpus, tmp_path / "o", embedder=value), "'embedder' parameter of index_corpus")
    raises_exactly(ConfigError, lambda: index_corpus(corpus, tmp_path / "o", config=value), "'config' must be a BatchConfig")
    raises_exactly(ConfigError, lambda: sync_collection(corpus, tmp_path / "s", chunker=value), "'chunker' parameter of sync_collection")
    raises_exactly(ConfigError, lambda: register_component(value), "register_component takes a class")
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()
    if isinstance(value, int):  # not iterable (a str is a path, bytes and a dict iterate)
        raises_exactly(InputError, lambda: ragkit.build_collection(animal_docs, indexes=value), "build_collection takes indexes")
        raises_exactly(InputError, lambda: sync_collection(value, tmp_path / "s"), "sync_collection reads a path or a Source")
        raises_exactly(InputError, lambda: index_corpus(corpus, value), "index_corpus takes a path")


@pytest.mark.parametrize("value", [["vector"], {"a": 1}, np.array(["vector", "bm25"]), 3], ids=["list", "dict", "array", "int"])
def test_an_index_name_that_is_no_str_is_an_input_error(animal_collection: Collection, value: Any) -> None:
    raises_exactly(InputError, lambda: DenseRetriever(animal_collection, index=value), "has no index")
    raises_exactly(InputError, lambda: BM25Retriever(animal_collection, index=value), "has no index")


@pytest.mark.parametrize("value", [True, "trace", {}, object()], ids=["bool", "str", "dict", "object"])
def test_a_trace_that_is_no_tracer_is_a_config_error(animal_collection: Collection, value: Any) -> None:
    raises_exactly(ConfigError, lambda: HybridRetriever(animal_collection).search("cats", k=2, trace=value), "must be a Tracer")


def test_evaluate_retriever_and_serve_config_refuse_the_wrong_kind(animal_collection: Collection) -> None:
    from ragkit.pipeline import evaluate_retriever
    from ragkit.serve import ServeConfig

    for value in (None, {"q": "x"}, "scifact"):
        raises_exactly(InputError, lambda v=value: evaluate_retriever(HybridRetriever(animal_collection), v), "takes a BeirDataset")
    for value in (None, b"col", 3):
        raises_exactly(InputError, lambda v=value: ServeConfig(collection=v, allow_anonymous=True), "ServeConfig \\(collection\\)")
