"""Per-model query prompts and a model_id that covers them (no model is loaded here)."""

from __future__ import annotations

import pytest

from ragkit import ConfigError, SentenceTransformerEmbedder
from ragkit.embedding.prompts import BGE_QUERY_PROMPT, default_prompts


@pytest.mark.parametrize(("model", "expected"), [
    ("BAAI/bge-small-en-v1.5", (BGE_QUERY_PROMPT, "")),
    ("BAAI/bge-base-en", (BGE_QUERY_PROMPT, "")),
    ("/models/bge-large-en-v1.5/", (BGE_QUERY_PROMPT, "")),
    ("BAAI/bge-m3", ("", "")),
    ("intfloat/e5-small-v2", ("query: ", "passage: ")),
    ("intfloat/multilingual-e5-base", ("query: ", "passage: ")),
    ("nomic-ai/nomic-embed-text-v1.5", ("search_query: ", "search_document: ")),
    ("mixedbread-ai/mxbai-embed-large-v1", (BGE_QUERY_PROMPT, "")),
    ("sentence-transformers/all-MiniLM-L6-v2", ("", "")),
    ("my-org/some-model", ("", "")),
])
def test_default_prompts(model: str, expected: tuple[str, str]) -> None:
    assert default_prompts(model) == expected


def test_embedder_uses_the_model_default_unless_told() -> None:
    bge = SentenceTransformerEmbedder("BAAI/bge-small-en-v1.5")
    assert bge.query_prompt == BGE_QUERY_PROMPT and bge.document_prompt == ""
    plain = SentenceTransformerEmbedder("BAAI/bge-small-en-v1.5", query_prompt="")
    assert plain.query_prompt == ""
    assert bge._model is None  # resolving prompts loads nothing


def test_model_id_covers_the_prompts() -> None:
    assert SentenceTransformerEmbedder().model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert SentenceTransformerEmbedder("all-MiniLM-L6-v2").model_id == "sentence-transformers/all-MiniLM-L6-v2"
    e5 = SentenceTransformerEmbedder("intfloat/e5-small-v2")
    assert e5.model_id == "intfloat/e5-small-v2 [query_prompt='query: ', document_prompt='passage: ']"
    ids = {SentenceTransformerEmbedder(query_prompt=p).model_id for p in ("", "q: ", "query: ")}
    assert len(ids) == 3
    assert SentenceTransformerEmbedder(document_prompt="d: ").model_id != SentenceTransformerEmbedder().model_id


def test_bad_prompt_and_mode() -> None:
    with pytest.raises(ConfigError, match="'query_prompt' parameter"):
        SentenceTransformerEmbedder(query_prompt=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'mode' parameter"):
        SentenceTransformerEmbedder().cache_fingerprint("passage")  # type: ignore[arg-type]
