"""RecursiveChunker: where it cuts, how it overlaps, and the default tokenizer."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from ragkit.chunking import RecursiveChunker, get_token_counter
from ragkit.core.documents import Document
from ragkit.core.errors import InputError

# Ten sentences of five regex tokens each ("Alpha beta gamma delta." -> 4 words + ".").
SENTENCES = [f"S{i} word word word." for i in range(10)]


def _texts(chunker: RecursiveChunker, text: str) -> list[str]:
    return [c.text for c in chunker.chunk(Document(id="d", text=text))]


def test_short_document_is_one_trimmed_chunk() -> None:
    doc = Document(id="d", text="\n\n  Just one short paragraph.  \n")
    chunks = RecursiveChunker(tokenizer="regex").chunk(doc)
    assert [(c.text, c.start, c.end, c.position) for c in chunks] == [("Just one short paragraph.", 4, 29, 0)]


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    text = "Para one has five.\n\nPara two has five.\n\nPara three has six ."
    chunker = RecursiveChunker(max_tokens=10, overlap=0, tokenizer="regex")
    # Two paragraphs (5 + 5 tokens) fit together; the third starts a new chunk.
    assert _texts(chunker, text) == ["Para one has five.\n\nPara two has five.", "Para three has six ."]


def test_long_paragraph_falls_back_to_sentences() -> None:
    text = " ".join(SENTENCES[:4])  # one paragraph, 20 tokens
    chunker = RecursiveChunker(max_tokens=12, overlap=0, tokenizer="regex")
    assert _texts(chunker, text) == [" ".join(SENTENCES[:2]), " ".join(SENTENCES[2:4])]


def test_long_sentence_falls_back_to_lines_then_words() -> None:
    chunker = RecursiveChunker(max_tokens=4, overlap=0, tokenizer="regex")
    assert _texts(chunker, "a b c\nd e f g") == ["a b c", "d e f g"]
    assert _texts(chunker, "a b c d e f g h i") == ["a b c d", "e f g h", "i"]


def test_long_word_is_cut_at_token_boundaries() -> None:
    word = "a,b,c,d,e"  # one whitespace word, nine regex tokens
    chunker = RecursiveChunker(max_tokens=4, overlap=0, tokenizer="regex")
    assert _texts(chunker, word) == ["a,b,", "c,d,", "e"]


def test_long_word_with_default_tokenizer(hf_tokenizer: str) -> None:
    word = "pneumonoultramicroscopicsilicovolcanoconiosis" * 2  # < 100 chars, so not [UNK]
    text = f"Before {word} after."
    chunker = RecursiveChunker(max_tokens=5, overlap=0, tokenizer=hf_tokenizer)
    chunks = chunker.chunk(Document(id="d", text=text))
    starts = get_token_counter(hf_tokenizer).token_starts(text)
    counts = [int(np.searchsorted(starts, c.end) - np.searchsorted(starts, c.start)) for c in chunks]
    assert starts.size > 15 and max(counts) <= 5
    assert sum(counts) == starts.size  # no overlap: every token counted once
    assert "".join(c.text for c in chunks if c.start >= 7 and c.end <= 7 + len(word)) == word


def test_overlap_repeats_trailing_sentences() -> None:
    text = " ".join(SENTENCES[:6])
    chunks = _texts(RecursiveChunker(max_tokens=12, overlap=5, tokenizer="regex"), text)
    # Each chunk holds two five-token sentences; the next one starts with the last of them.
    assert chunks == [" ".join(SENTENCES[i : i + 2]) for i in range(5)]


def test_overlap_smaller_than_a_piece_gives_no_overlap() -> None:
    text = " ".join(SENTENCES[:6])
    chunks = _texts(RecursiveChunker(max_tokens=12, overlap=4, tokenizer="regex"), text)
    assert chunks == [" ".join(SENTENCES[i : i + 2]) for i in (0, 2, 4)]


def test_overlap_shrinks_to_make_room_for_the_next_piece() -> None:
    # Paragraphs of 3, 3, 3 and 6 tokens; max 10, overlap 9. The first chunk takes three;
    # repeating two of them (6 tokens) would leave no room for the 6-token paragraph, so one is kept.
    text = "a b.\n\nc d.\n\ne f.\n\ng h i j k."
    chunks = _texts(RecursiveChunker(max_tokens=10, overlap=9, tokenizer="regex"), text)
    assert chunks == ["a b.\n\nc d.\n\ne f.", "e f.\n\ng h i j k."]


def test_overlap_is_dropped_when_the_next_piece_needs_the_whole_budget() -> None:
    text = "a b c d.\n\ne f g h.\n\ni j k l m n o p q ."
    chunks = _texts(RecursiveChunker(max_tokens=10, overlap=9, tokenizer="regex"), text)
    assert chunks == ["a b c d.\n\ne f g h.", "i j k l m n o p q ."]


def test_maximal_overlap_still_makes_progress() -> None:
    text = " ".join(f"w{i}" for i in range(50))
    chunks = RecursiveChunker(max_tokens=5, overlap=4, tokenizer="regex").chunk(Document(id="d", text=text))
    # Word pieces of one token: every chunk moves on by exactly one word.
    assert len(chunks) == 46
    assert all(b.start > a.start for a, b in pairwise(chunks))
    assert chunks[-1].text == "w45 w46 w47 w48 w49"


def test_metadata_is_copied_per_chunk() -> None:
    doc = Document(id="d", text="One two. Three four. Five six.", metadata={"tags": ["a"], "year": 2020})
    chunks = RecursiveChunker(max_tokens=3, overlap=0, tokenizer="regex").chunk(doc)
    assert len(chunks) == 3 and all(c.metadata == {"tags": ["a"], "year": 2020} for c in chunks)
    chunks[0].metadata["tags"].append("b")  # type: ignore[union-attr]
    assert doc.metadata["tags"] == ["a"] and chunks[1].metadata["tags"] == ["a"]


def test_deterministic_across_calls_and_instances() -> None:
    text = "\n\n".join(" ".join(SENTENCES[i:]) for i in range(5))
    doc = Document(id="d", text=text)
    first = RecursiveChunker(max_tokens=9, overlap=3, tokenizer="regex").chunk(doc)
    assert first == RecursiveChunker(max_tokens=9, overlap=3, tokenizer="regex").chunk(doc)
    assert first == RecursiveChunker(max_tokens=9, overlap=3, tokenizer="regex").chunk(doc)


def test_default_tokenizer_chunks_re_encode_within_budget(hf_tokenizer: str) -> None:
    text = "\n\n".join(
        "Retrieval augmented generation combines a search step with a language model. "
        f"Paragraph {i} explains how chunk size, overlap and tokenisation interact in practice. "
        "Shorter chunks give sharper embeddings, while longer chunks keep more context."
        for i in range(20)
    )
    chunker = RecursiveChunker(max_tokens=64, overlap=16, tokenizer=hf_tokenizer)
    chunks = chunker.chunk(Document(id="d", text=text))
    assert len(chunks) > 10
    tokenizer = get_token_counter(hf_tokenizer).tokenizer  # type: ignore[union-attr]
    assert all(len(tokenizer.encode(c.text, add_special_tokens=False).ids) <= 64 for c in chunks)


def test_chunk_rejects_non_documents() -> None:
    with pytest.raises(InputError, match=r"expects a ragkit\.Document"):
        RecursiveChunker(tokenizer="regex").chunk("plain text")  # type: ignore[arg-type]


def test_chunk_many_rejects_duplicate_ids_and_handles_empty_input() -> None:
    chunker = RecursiveChunker(tokenizer="regex")
    assert chunker.chunk_many([]) == []
    with pytest.raises(InputError, match="Duplicate document id"):
        chunker.chunk_many([Document(id="a", text="x"), Document(id="a", text="y")])


def test_chunk_many_keeps_document_order(hf_tokenizer: str) -> None:
    docs = [Document(id=f"d{i}", text=" ".join(SENTENCES[: i + 1])) for i in range(6)]
    chunker = RecursiveChunker(max_tokens=12, overlap=5, tokenizer=hf_tokenizer)
    chunks = chunker.chunk_many(docs)
    assert chunks == [c for d in docs for c in chunker.chunk(d)]
    assert [c.doc_id for c in chunks] == sorted((c.doc_id for c in chunks), key=lambda s: int(s[1:]))
