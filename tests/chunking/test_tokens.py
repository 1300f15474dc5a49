"""Token counters and the tokenizer resolver."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ragkit.chunking import HFTokenCounter, RegexTokenCounter, get_token_counter
from ragkit.core.errors import ConfigError, InputError
from ragkit.embedding.default_model import default_model_path


def test_regex_counter_marks_words_and_punctuation() -> None:
    starts = RegexTokenCounter().token_starts("Hi, wörld! 42")
    assert starts.dtype == np.int64
    assert starts.tolist() == [0, 2, 4, 9, 11]


def test_regex_counter_on_text_without_tokens() -> None:
    starts = RegexTokenCounter().token_starts("   \n\t")
    assert starts.dtype == np.int64 and starts.size == 0


def test_resolver_returns_cached_counters(hf_tokenizer: str) -> None:
    assert isinstance(get_token_counter("regex"), RegexTokenCounter)
    assert get_token_counter("regex") is get_token_counter("regex")
    counter = get_token_counter(hf_tokenizer)
    assert isinstance(counter, HFTokenCounter)
    assert get_token_counter(hf_tokenizer) is counter


def test_default_model_aliases_tokenise_alike(hf_tokenizer: str) -> None:
    text = "Tokenisation of Ünïcode text, e.g. 日本語."
    short = get_token_counter(hf_tokenizer).token_starts(text)
    full = get_token_counter("sentence-transformers/all-MiniLM-L6-v2").token_starts(text)
    assert short.tolist() == full.tolist()


def test_hf_counter_matches_tokenizer_offsets(hf_tokenizer: str) -> None:
    counter = get_token_counter(hf_tokenizer)
    assert isinstance(counter, HFTokenCounter)
    text = "Héllo wörld 🤗 naïve tokenisation."
    starts = counter.token_starts(text)
    expected = [s for s, _ in counter.tokenizer.encode(text, add_special_tokens=False).offsets]
    assert starts.dtype == np.int64
    assert starts.tolist() == expected
    assert text[starts[0] :].startswith("Héllo")  # character offsets, not byte offsets
    assert text[starts[-1]] == "."


def test_hf_counter_neither_truncates_nor_pads(hf_tokenizer: str) -> None:
    counter = get_token_counter(hf_tokenizer)
    # The model's tokenizer.json truncates and pads to 128; a counter must see every token.
    assert counter.token_starts(" ".join(["word"] * 1000)).size == 1000
    assert counter.token_starts("one").size == 1


def test_hf_counter_copies_rather_than_mutates_a_configured_tokenizer() -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(default_model_path(verify=False) / "tokenizer.json"))
    assert tok.truncation is not None
    counter = HFTokenCounter(tok, name="mine")
    assert tok.truncation is not None and tok.padding is not None  # caller's object untouched
    assert counter.tokenizer.truncation is None and counter.tokenizer.padding is None
    assert counter.token_starts(" ".join(["a"] * 300)).size == 300


def test_hf_batch_equals_single(hf_tokenizer: str) -> None:
    counter = get_token_counter(hf_tokenizer)
    texts = ["First text here.", "Zweiter Text, länger als der erste.", "x"]
    batch = counter.token_starts_batch(texts)
    assert [b.tolist() for b in batch] == [counter.token_starts(t).tolist() for t in texts]


def test_regex_batch_equals_single() -> None:
    counter = RegexTokenCounter()
    texts = ["a b, c", "", "d!"]
    assert [b.tolist() for b in counter.token_starts_batch(texts)] == [[0, 2, 3, 5], [], [0, 1]]


def test_hf_counter_refuses_lone_surrogates(hf_tokenizer: str) -> None:
    with pytest.raises(InputError, match="could not be tokenised"):
        get_token_counter(hf_tokenizer).token_starts("bad \ud800 text")


def test_hf_counter_rejects_non_tokenizers() -> None:
    with pytest.raises(ConfigError, match="'tokenizer' parameter of HFTokenCounter"):
        HFTokenCounter("bert-base-uncased")  # type: ignore[arg-type]


def test_local_folder_and_json_file_specs(tmp_path: Path, hf_tokenizer: str) -> None:
    shutil.copy(default_model_path(verify=False) / "tokenizer.json", tmp_path / "tokenizer.json")
    text = "Local tokenizers work offline."
    expected = get_token_counter(hf_tokenizer).token_starts(text).tolist()
    from_folder = get_token_counter(str(tmp_path))
    from_file = get_token_counter(str(tmp_path / "tokenizer.json"))
    assert isinstance(from_folder, HFTokenCounter) and isinstance(from_file, HFTokenCounter)
    assert from_folder.token_starts(text).tolist() == expected
    assert from_file.token_starts(text).tolist() == expected


def test_broken_tokenizer_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ConfigError, match="could not be loaded"):
        get_token_counter(str(tmp_path))


def test_hub_failure_is_a_config_error_listing_accepted_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenizers import Tokenizer

    calls: list[str] = []

    def offline(identifier: str, *args: object, **kwargs: object) -> Tokenizer:
        calls.append(identifier)
        raise RuntimeError("no network")

    monkeypatch.setattr(Tokenizer, "from_pretrained", staticmethod(offline))
    with pytest.raises(ConfigError) as info:
        get_token_counter("acme/no-such-tokenizer")
    assert calls == ["acme/no-such-tokenizer"]
    message = str(info.value)
    assert "'acme/no-such-tokenizer' could not be loaded" in message
    assert "'regex'" in message and "tokenizer.json" in message


@pytest.mark.parametrize("spec", ["", "   ", None, 3])
def test_resolver_rejects_non_specs(spec: object) -> None:
    with pytest.raises(ConfigError, match="tokenizer spec"):
        get_token_counter(spec)  # type: ignore[arg-type]


def test_import_is_light() -> None:
    code = (
        "import sys, ragkit.chunking\n"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'sentence_transformers') if m in sys.modules]\n"
        "print(heavy)\n"
        "ragkit.chunking.RecursiveChunker()\n"  # constructing loads nothing either
        "assert not [m for m in ('tokenizers', 'torch') if m in sys.modules]\n"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(src)}, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
