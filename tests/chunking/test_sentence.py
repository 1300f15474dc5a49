"""SentenceChunker: sentence boundaries, packing and sentence overlap."""

from __future__ import annotations

from ragkit.chunking import SentenceChunker
from ragkit.core.documents import Document


def _texts(chunker: SentenceChunker, text: str) -> list[str]:
    return [c.text for c in chunker.chunk(Document(id="d", text=text))]


def test_whole_sentences_are_packed_up_to_the_budget() -> None:
    text = "One two three. Four five six! Seven eight nine? Ten."
    chunker = SentenceChunker(max_tokens=8, tokenizer="regex")
    assert _texts(chunker, text) == ["One two three. Four five six!", "Seven eight nine? Ten."]


def test_overlap_counts_sentences() -> None:
    text = "A b. C d. E f. G h."
    one = SentenceChunker(max_tokens=9, overlap_sentences=1, tokenizer="regex")
    assert _texts(one, text) == ["A b. C d. E f.", "E f. G h."]
    two = SentenceChunker(max_tokens=9, overlap_sentences=2, tokenizer="regex")
    assert _texts(two, text) == ["A b. C d. E f.", "C d. E f. G h."]


def test_overlap_gives_way_to_new_sentences() -> None:
    # Asking for more overlap than fits still moves forward one sentence at a time.
    text = "A b. C d. E f. G h."
    chunker = SentenceChunker(max_tokens=6, overlap_sentences=5, tokenizer="regex")
    assert _texts(chunker, text) == ["A b. C d.", "C d. E f.", "E f. G h."]


def test_quotes_stay_with_their_sentence() -> None:
    chunker = SentenceChunker(max_tokens=6, tokenizer="regex")
    assert _texts(chunker, 'He said "go." Then he left.') == ['He said "go."', "Then he left."]


def test_paragraph_breaks_and_cjk_stops_end_sentences() -> None:
    chunker = SentenceChunker(max_tokens=4, tokenizer="regex")
    text = "Title line\n\nBody text. 日本語。次の文。"
    assert _texts(chunker, text) == ["Title line", "Body text.", "日本語。次の文。"]


def test_lowercase_continuation_is_not_a_sentence_start() -> None:
    chunker = SentenceChunker(max_tokens=6, tokenizer="regex")
    assert _texts(chunker, "See fig. three now. Next one.") == ["See fig. three now.", "Next one."]


def test_long_sentence_is_split_at_words() -> None:
    text = "Short one. " + " ".join(f"w{i}" for i in range(10)) + ". End."
    chunks = _texts(SentenceChunker(max_tokens=4, tokenizer="regex"), text)
    # The parts of the long sentence are packed like sentences.
    assert chunks == ["Short one. w0", "w1 w2 w3 w4", "w5 w6 w7 w8", "w9. End."]


def test_config_round_trip_and_determinism() -> None:
    chunker = SentenceChunker(max_tokens=5, overlap_sentences=2, tokenizer="regex")
    clone = SentenceChunker.from_config(chunker.get_config())
    doc = Document(id="d", text="A b. C d. E f. G h. I j.")
    assert clone == chunker and clone.chunk(doc) == chunker.chunk(doc)
