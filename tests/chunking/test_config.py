"""Configuration of every chunker: validation, round trips, protocol fit."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ragkit.chunking import MarkdownChunker, RecursiveChunker, SentenceChunker
from ragkit.core.documents import Document
from ragkit.core.errors import ConfigError
from ragkit.core.protocols import Chunker

ALL = [RecursiveChunker, SentenceChunker, MarkdownChunker]
TOKEN_OVERLAP = [RecursiveChunker, MarkdownChunker]


@pytest.mark.parametrize("cls", ALL)
def test_defaults(cls: type[Any]) -> None:
    chunker = cls()
    assert chunker.max_tokens == 254 and chunker.tokenizer == "all-MiniLM-L6-v2"
    assert isinstance(chunker, Chunker)


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True, None])
def test_max_tokens_must_be_a_positive_int(cls: type[Any], bad: object) -> None:
    with pytest.raises(ConfigError, match=rf"The 'max_tokens' parameter of {cls.__name__} must be an int >= 1\. Got"):
        cls(max_tokens=bad, tokenizer="regex")


@pytest.mark.parametrize("cls", TOKEN_OVERLAP)
@pytest.mark.parametrize("bad", [-1, 1.0, "2"])
def test_overlap_must_be_a_non_negative_int(cls: type[Any], bad: object) -> None:
    with pytest.raises(ConfigError, match=rf"The 'overlap' parameter of {cls.__name__} must be an int >= 0"):
        cls(max_tokens=10, overlap=bad)


@pytest.mark.parametrize("cls", TOKEN_OVERLAP)
@pytest.mark.parametrize("overlap", [10, 11])
def test_overlap_must_stay_below_max_tokens(cls: type[Any], overlap: int) -> None:
    with pytest.raises(ConfigError, match=r"'overlap' parameter .* must be an int < max_tokens \(10\)\. Got"):
        cls(max_tokens=10, overlap=overlap)
    assert cls(max_tokens=10, overlap=9).overlap == 9


def test_overlap_sentences_must_be_a_non_negative_int() -> None:
    with pytest.raises(ConfigError, match="'overlap_sentences' parameter of SentenceChunker"):
        SentenceChunker(overlap_sentences=-1)
    assert SentenceChunker(overlap_sentences=50).overlap_sentences == 50


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("bad", ["", "  ", 3])
def test_tokenizer_must_be_a_non_empty_string(cls: type[Any], bad: object) -> None:
    with pytest.raises(ConfigError, match=f"The 'tokenizer' parameter of {cls.__name__}"):
        cls(tokenizer=bad)


@pytest.mark.parametrize("cls", ALL)
def test_configs_are_frozen_and_keyword_only(cls: type[Any]) -> None:
    chunker = cls(tokenizer="regex")
    with pytest.raises(dataclasses.FrozenInstanceError):
        chunker.max_tokens = 3
    with pytest.raises(TypeError):
        cls(100)


@pytest.mark.parametrize(
    "chunker",
    [
        RecursiveChunker(max_tokens=40, overlap=7, tokenizer="regex"),
        SentenceChunker(max_tokens=30, overlap_sentences=2, tokenizer="regex"),
        MarkdownChunker(max_tokens=50, overlap=0, tokenizer="all-MiniLM-L6-v2"),
    ],
)
def test_config_round_trips_through_json(chunker: Any) -> None:
    config = chunker.get_config()
    assert config["type"] == type(chunker).__name__
    assert config["max_tokens"] == chunker.max_tokens and config["tokenizer"] == chunker.tokenizer
    restored = type(chunker).from_config(json.loads(json.dumps(config)))
    assert restored == chunker
    doc = Document(id="d", text="# A\nSome text. More text here.\n\nAnother paragraph.")
    assert restored.chunk(doc) == chunker.chunk(doc)


def test_config_fields_per_class() -> None:
    assert RecursiveChunker().get_config() == {
        "type": "RecursiveChunker",
        "max_tokens": 254,
        "overlap": 32,
        "tokenizer": "all-MiniLM-L6-v2",
    }
    assert SentenceChunker().get_config() == {
        "type": "SentenceChunker",
        "max_tokens": 254,
        "overlap_sentences": 0,
        "tokenizer": "all-MiniLM-L6-v2",
    }
    assert MarkdownChunker().get_config()["type"] == "MarkdownChunker"


def test_from_config_rejects_another_type() -> None:
    with pytest.raises(ConfigError, match="'SentenceChunker', not 'RecursiveChunker'"):
        RecursiveChunker.from_config(SentenceChunker().get_config())


def test_from_config_names_unknown_and_valid_keys() -> None:
    with pytest.raises(ConfigError, match=r"Unknown parameter\(s\) 'chunk_size'.*Valid parameters: 'max_tokens'"):
        RecursiveChunker.from_config({"type": "RecursiveChunker", "chunk_size": 100})


def test_from_config_validates_values_and_shape() -> None:
    with pytest.raises(ConfigError, match="'overlap'"):
        MarkdownChunker.from_config({"max_tokens": 5, "overlap": 5})
    with pytest.raises(ConfigError, match="expects a mapping"):
        RecursiveChunker.from_config([("max_tokens", 5)])  # type: ignore[arg-type]


def test_tokenizer_loads_lazily_and_failures_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenizers import Tokenizer

    def offline(identifier: str, *args: object, **kwargs: object) -> Tokenizer:
        raise RuntimeError("no network")

    monkeypatch.setattr(Tokenizer, "from_pretrained", staticmethod(offline))
    chunker = RecursiveChunker(tokenizer="acme/missing-model")  # constructing loads nothing
    with pytest.raises(ConfigError, match="'acme/missing-model' could not be loaded"):
        chunker.chunk(Document(id="d", text="text"))
