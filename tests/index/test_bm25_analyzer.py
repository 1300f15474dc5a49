"""The BM25 analyser beyond English: CJK bigrams, stop lists and stemmers per language, saved with the index."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragkit import BM25Index, BM25Retriever, Collection, ConfigError, Document, build_collection
from ragkit.index.bm25 import BM25Tokenizer
from ragkit.index.bm25.stopwords import STOPWORDS
from ragkit.pipeline.language import guess_language, language_warnings, script_shares

ZH = [Document(id="reset", text="如何重置密码。按住路由器背面的重置按钮十秒钟。"),
      Document(id="light", text="路由器的绿灯表示已经连接到互联网。"),
      Document(id="en", text="How to reset a password on the router.")]


def test_cjk_runs_become_overlapping_bigrams_as_in_lucene() -> None:
    tok = BM25Tokenizer(stemmer=None)
    assert tok.tokenize(["如何重置密码"]) == [["如何", "何重", "重置", "置密", "密码"]]
    assert tok.tokenize(["reset 密码 now"]) == [["reset", "密码", "now"]]
    assert tok.tokenize(["x中y"]) == [["x", "中", "y"]]  # a lone CJK character stays a unigram
    assert tok.tokenize(["パスワード"]) == [["パス", "スワ", "ワー", "ード"]]
    assert BM25Tokenizer(cjk="none").tokenize(["如何重置密码"]) == [["如何重置密码"]]


def test_a_chinese_query_finds_its_document_with_bm25_alone() -> None:
    col = build_collection(ZH, indexes=[BM25Index()])
    hits = BM25Retriever(col).search("如何重置密码", k=3)
    assert hits[0].doc_id == "reset"
    assert BM25Retriever(col).search("绿灯", k=1)[0].doc_id == "light"
    legacy = build_collection(ZH, indexes=[BM25Index(tokenizer=BM25Tokenizer(cjk="none"))])
    assert BM25Retriever(legacy).search("重置密码", k=3) == []  # \w+ alone: the clause is one token, no hit


def test_the_analyser_is_saved_with_the_collection(tmp_path: Path) -> None:
    col = build_collection(ZH, indexes=[BM25Index(tokenizer=BM25Tokenizer.for_language("zh"))])
    col.save(tmp_path / "col")
    with Collection.open(tmp_path / "col") as again:
        tokenizer = again.indexes["bm25"].config.tokenizer  # type: ignore[attr-defined]
        assert tokenizer == BM25Tokenizer.for_language("zh") and tokenizer.cjk == "bigram"
        assert BM25Retriever(again).search("重置密码", k=1)[0].doc_id == "reset"


def test_configs_saved_before_cjk_bigrams_keep_reading_text_as_before() -> None:
    old = {"pattern": r"\w+", "lowercase": True, "stopwords": "en", "stemmer": "english"}
    assert BM25Tokenizer.from_config(old).cjk == "none"
    assert BM25Index.from_config({"tokenizer": old}).config.tokenizer.cjk == "none"
    assert BM25Tokenizer.from_config(BM25Tokenizer().get_config()) == BM25Tokenizer()


@pytest.mark.parametrize(("language", "text", "terms"), [
    ("de", "Die Katzen schlafen auf dem Sofa", ["katz", "schlaf", "sofa"]),
    ("fr", "Les chats dorment sur le canapé", ["chat", "dorment", "canap"]),
    ("es", "Los gatos duermen en el sofá", ["gat", "duerm", "sof"]),
    ("ru", "Кошки спят на диване", ["кошк", "спят", "диван"]),
])
def test_languages_have_their_stop_words_and_stemmers(language: str, text: str, terms: list[str]) -> None:
    assert BM25Tokenizer.for_language(language).tokenize([text]) == [terms]


def test_language_and_cjk_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="'language'"):
        BM25Tokenizer.for_language("xx")
    with pytest.raises(ConfigError, match="'cjk'"):
        BM25Tokenizer(cjk="trigram")
    assert {"en", "de", "fr", "es", "it", "nl", "pt", "ru", "sv"} <= set(STOPWORDS)


def test_script_detection_warns_about_the_analyser_and_the_english_model() -> None:
    zh = [d.text for d in ZH[:2]]
    assert script_shares(zh)["cjk"] > 0.9
    model = "sentence-transformers/all-MiniLM-L6-v2"
    warnings = language_warnings(zh, BM25Tokenizer(cjk="none"), model)
    assert any("--language zh" in w for w in warnings) and any("multilingual" in w for w in warnings)
    assert [w for w in language_warnings(zh, BM25Tokenizer(), None)] == []  # bigrams on, no model: nothing to say
    german = ["Die Katze schläft auf dem Sofa, und der Hund liegt unter dem Tisch, weil es dort kühl ist. " * 3]
    assert guess_language(german) == "de"
    assert any("--language de" in w for w in language_warnings(german, BM25Tokenizer(), model))
    english = ["The cat sleeps on the sofa and the dog lies under the table because it is cool there. " * 3]
    assert language_warnings(english, BM25Tokenizer(), model) == []
