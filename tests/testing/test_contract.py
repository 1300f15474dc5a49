"""Every built-in piece passes the component contract; broken pieces are caught."""

from __future__ import annotations

from typing import Any

import pytest

import ragkit
from ragkit.testing import ContractViolation, HashEmbedder, check_component, construction_is_light

PIECES = [
    ragkit.RecursiveChunker(max_tokens=16, overlap=4, tokenizer="regex"),
    ragkit.SentenceChunker(max_tokens=16, tokenizer="regex"),
    ragkit.MarkdownChunker(max_tokens=16, overlap=2, tokenizer="regex"),
    ragkit.RecursiveChunker(max_tokens=32, overlap=8),
    ragkit.WholeDocumentChunker(),
    HashEmbedder(dimension=16),
    ragkit.FaissIndex("Flat"),
    ragkit.FaissIndex("HNSW16", ef_search=32),
    ragkit.FaissIndex("IVF4,Flat", nprobe=2),
    ragkit.BM25Index(),
    ragkit.BM25Index("okapi", k1=1.2, tokenizer=ragkit.BM25Tokenizer(stemmer=None)),
]


@pytest.mark.parametrize("piece", PIECES, ids=lambda p: type(p).__name__)
def test_builtin_pieces_satisfy_the_contract(piece: Any) -> None:
    check_component(piece)


@pytest.mark.parametrize(
    "expression",
    ["ragkit.SentenceTransformerEmbedder()", "ragkit.FaissIndex('HNSW32')", "ragkit.RecursiveChunker()",
     "ragkit.WholeDocumentChunker()", "ragkit.BM25Index()"],
)
def test_construction_loads_nothing_heavy(expression: str) -> None:
    assert construction_is_light(expression) == []


def test_a_broken_embedder_is_caught() -> None:
    class Unnormalised(HashEmbedder):
        def embed_documents(self, texts: Any) -> Any:
            return super().embed_documents(texts) * 2

    ragkit.register_component(Unnormalised)
    with pytest.raises(ContractViolation, match="not unit length"):
        check_component(Unnormalised(dimension=8))


def test_an_unregistered_piece_is_caught() -> None:
    class Stray(HashEmbedder):
        pass

    with pytest.raises(ragkit.IndexFormatError, match="not allowed"):
        check_component(Stray(dimension=8))
