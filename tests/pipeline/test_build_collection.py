from __future__ import annotations

from pathlib import Path

import pytest

import ragkit
from ragkit import ConfigError, Document, EmptyCorpusError, InputError
from ragkit.testing import HashEmbedder


def test_empty_corpus(embedder: HashEmbedder) -> None:
    with pytest.raises(EmptyCorpusError, match="no documents"):
        ragkit.build_collection([], embedder=embedder)


def test_duplicate_ids(embedder: HashEmbedder) -> None:
    docs = [Document(id="a", text="one"), Document(id="a", text="two")]
    with pytest.raises(InputError, match="Duplicate document id 'a'"):
        ragkit.build_collection(docs, embedder=embedder)


def test_raw_strings_are_refused(embedder: HashEmbedder) -> None:
    with pytest.raises(InputError, match="not a ragkit.Document"):
        ragkit.build_collection(["just text"], embedder=embedder)  # type: ignore[list-item]


def test_metadata_types_must_agree_across_documents(embedder: HashEmbedder) -> None:
    docs = [Document(id="a", text="one", metadata={"year": 2020}), Document(id="b", text="two", metadata={"year": "x"})]
    with pytest.raises(InputError, match="one type"):
        ragkit.build_collection(docs, embedder=embedder, chunker=ragkit.RecursiveChunker(tokenizer="regex"))


def test_indexes_are_named_by_kind(animal_docs: list[Document], embedder: HashEmbedder,
                                   small_chunker: ragkit.RecursiveChunker) -> None:
    col = ragkit.build_collection(animal_docs, chunker=small_chunker, embedder=embedder,
                                  indexes=[ragkit.FaissIndex(), ragkit.BM25Index(), ragkit.FaissIndex("HNSW16")])
    assert sorted(col.indexes) == ["bm25", "vector", "vector_2"]
    assert ragkit.DenseRetriever(col, index="vector_2").search("cats", k=1)[0].doc_id == "cats"


def test_index_configuration_errors(animal_docs: list[Document], embedder: HashEmbedder) -> None:
    with pytest.raises(ConfigError, match="at least one index"):
        ragkit.build_collection(animal_docs, embedder=embedder, indexes=[])
    with pytest.raises(ConfigError, match="plain identifier"):
        ragkit.build_collection(animal_docs, embedder=embedder, indexes={"bad name": ragkit.BM25Index()})
    with pytest.raises(ConfigError, match="not a ragkit index"):
        ragkit.build_collection(animal_docs, embedder=embedder, indexes=[object()])


def test_bm25_only_collection_needs_no_embedder(animal_docs: list[Document], tmp_path: Path) -> None:
    col = ragkit.build_collection(animal_docs, chunker=ragkit.SentenceChunker(tokenizer="regex"),
                                  indexes=[ragkit.BM25Index()])
    reopened = ragkit.Collection.open(col.save(tmp_path / "bm25"))
    assert reopened.embedder is None
    assert ragkit.BM25Retriever(reopened).search("gills", k=1)[0].doc_id == "fish"


def test_every_chunk_points_back_into_its_document(animal_docs: list[Document], embedder: HashEmbedder) -> None:
    texts = {d.id: d.text for d in animal_docs}
    col = ragkit.build_collection(animal_docs, chunker=ragkit.RecursiveChunker(max_tokens=5, overlap=1, tokenizer="regex"),
                                  embedder=embedder)
    for row in col.chunks.select(["doc_id", "start", "end", "text"]).to_pylist():
        assert texts[row["doc_id"]][row["start"]:row["end"]] == row["text"]


def test_read_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("# A\n\nalpha", encoding="utf-8")
    (tmp_path / "sub" / "b.txt").write_text("beta", encoding="utf-8")
    (tmp_path / "empty.md").write_text("  \n", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    docs = list(ragkit.read_folder(tmp_path))
    assert [d.id for d in docs] == ["a.md", "sub/b.txt"]
    assert docs[1].metadata == {"source": "sub/b.txt", "format": "txt"}
    assert [d.id for d in ragkit.read_folder(tmp_path / "a.md")] == ["a.md"]  # one file is a source too
    with pytest.raises(InputError, match="neither a folder"):
        list(ragkit.read_folder(tmp_path / "missing"))
