"""WholeDocumentChunker: one exact, trimmed chunk per document, nothing tokenised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ragkit
from ragkit.chunking import WholeDocumentChunker
from ragkit.chunking.pages import encode_page_offsets
from ragkit.core.documents import Document
from ragkit.core.errors import ConfigError, InputError
from ragkit.core.protocols import Chunker
from ragkit.testing import HashEmbedder


def test_one_trimmed_chunk_per_document_with_exact_offsets() -> None:
    text = "\n\n  Title line\n\nA long body. " + "word " * 2000 + "\n\t "
    [chunk] = WholeDocumentChunker().chunk(Document(id="d", text=text, metadata={"lang": "en"}))
    assert (chunk.doc_id, chunk.position) == ("d", 0)
    assert chunk.text == text.strip() and text[chunk.start : chunk.end] == chunk.text
    assert chunk.start == 4 and chunk.end == len(text.rstrip())
    assert chunk.metadata == {"lang": "en"}


def test_chunk_many_keeps_document_order_and_checks_ids() -> None:
    docs = [Document(id=f"d{i}", text=f" text {i} ") for i in range(5)]
    chunks = WholeDocumentChunker().chunk_many(docs)
    assert [(c.doc_id, c.text, c.start) for c in chunks] == [(f"d{i}", f"text {i}", 1) for i in range(5)]
    assert WholeDocumentChunker().chunk_many([]) == []
    with pytest.raises(InputError, match="d1"):
        WholeDocumentChunker().chunk_many([docs[1], docs[1]])


def test_a_paged_document_gets_its_page_span() -> None:
    text = "page one text\fpage two text\fpage three"
    offsets = [0, text.index("page two"), text.index("page three")]
    doc = Document(id="p", text=text, metadata={"page_offsets": encode_page_offsets(offsets)})
    [chunk] = WholeDocumentChunker().chunk(doc)
    assert (chunk.metadata["page_start"], chunk.metadata["page_end"]) == (1, 3)
    assert "page_offsets" not in chunk.metadata


def test_rejects_what_is_not_a_document() -> None:
    with pytest.raises(InputError, match="WholeDocumentChunker.chunk expects a ragkit.Document. Got str"):
        WholeDocumentChunker().chunk("plain text")  # type: ignore[arg-type]


def test_config_round_trips_and_rejects_parameters() -> None:
    chunker = WholeDocumentChunker()
    assert isinstance(chunker, Chunker)
    config = chunker.get_config()
    assert config == {"type": "WholeDocumentChunker"}
    assert WholeDocumentChunker.from_config(json.loads(json.dumps(config))) == chunker
    with pytest.raises(ConfigError, match=r"Unknown parameter\(s\) 'max_tokens'"):
        WholeDocumentChunker.from_config({"type": "WholeDocumentChunker", "max_tokens": 10})
    with pytest.raises(TypeError):
        WholeDocumentChunker(max_tokens=10)  # type: ignore[call-arg]


def test_a_collection_built_with_it_reopens_with_the_same_chunker(tmp_path: Path) -> None:
    docs = [Document(id="a", text="Cats purr softly. " * 300), Document(id="b", text="Dogs bark loudly.")]
    collection = ragkit.build_collection(docs, embedder=HashEmbedder(dimension=8), chunker=WholeDocumentChunker())
    collection.save(tmp_path / "col")
    reopened = ragkit.open_collection(tmp_path / "col")
    assert reopened.chunker_config == {"type": "WholeDocumentChunker"}
    assert len(reopened) == 2
    reopened.add([Document(id="c", text="  Birds sing at dawn. " * 400)])  # chunked by the stored chunker
    assert len(reopened) == 3
    hit = ragkit.BM25Retriever(reopened).search("birds sing", k=1)[0]
    assert hit.doc_id == "c" and hit.text == ("  Birds sing at dawn. " * 400).strip()
