"""Context expansion: exact offsets on random documents (property-tested), windows, sections, merges, budgets."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ragkit
from ragkit import BM25Index, BM25Retriever, HybridRetriever, Principal
from ragkit.cache import CachedRetriever
from ragkit.core.documents import Chunk
from ragkit.core.errors import ConfigError, InputError
from ragkit.observe import ObservedRetriever, Trace
from ragkit.search import Expand, Rerank
from ragkit.testing import FakeReranker

from .conftest import QUERIES

VOCAB = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "zeta"]
SPACES = [" ", " ", " ", "  ", "\n", "\n\n", " \t "]


@st.composite
def documents(draw: st.DrawFn) -> list[ragkit.Document]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        words = draw(st.lists(st.sampled_from(VOCAB), min_size=3, max_size=50))
        gaps = draw(st.lists(st.sampled_from(SPACES), min_size=len(words) - 1, max_size=len(words) - 1))
        text = words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=True))
        lead = draw(st.sampled_from(["", " ", "\n"]))
        out.append(ragkit.Document(id=f"doc{i}", text=lead + text + draw(st.sampled_from(["", ".", " \n"]))))
    return out


CHUNK = "chunk"  # these tests need several chunks of one document among the hits


def _bm25(docs: list[ragkit.Document], chunker: object) -> ragkit.Collection:
    return ragkit.build_collection(docs, chunker=chunker, indexes=[BM25Index()])  # type: ignore[arg-type]


def _chunks_of(col: ragkit.Collection) -> list[dict[str, object]]:
    return col.chunks.select(["doc_id", "position", "start", "end", "text"]).to_pylist()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.integers(2, 10), st.data(), st.integers(0, 3), st.booleans(),
       st.one_of(st.none(), st.integers(1, 400)), st.sampled_from(VOCAB))
def test_spans_are_exact_offsets_into_the_source(docs: list[ragkit.Document], max_tokens: int, data: st.DataObject,
                                                 window: int, with_source: bool, max_chars: int | None, word: str) -> None:
    overlap = data.draw(st.integers(0, max_tokens - 1))
    col = _bm25(docs, ragkit.RecursiveChunker(max_tokens=max_tokens, overlap=overlap, tokenizer="regex"))
    texts = {d.id: d.text for d in docs}
    stage = Expand(window=window, source=texts if with_source else None, max_chars=max_chars)
    k = 4
    plain = BM25Retriever(col, scope=CHUNK).search(f"{word} beta", k=k)
    hits = BM25Retriever(col, scope=CHUNK).then(stage).search(f"{word} beta", k=k)
    chunks = _chunks_of(col)
    assert len(hits) <= len(plain)
    assert [h.chunk_row for h in hits] == [h.chunk_row for h in plain if h.chunk_row in {x.chunk_row for x in hits}]
    for h in hits:
        assert texts[h.doc_id][h.start:h.end] == h.text
        own = chunks[h.chunk_row]
        assert h.start <= own["start"] and own["end"] <= h.end  # type: ignore[operator]
        inside = [c for c in chunks if c["doc_id"] == h.doc_id and h.start <= c["start"] and c["end"] <= h.end]  # type: ignore[operator]
        assert h.start == min(c["start"] for c in inside) and h.end == max(c["end"] for c in inside)  # type: ignore[type-var]
    for a, b in itertools.combinations(hits, 2):
        if a.doc_id == b.doc_id:
            assert a.end < b.start or b.end < a.start  # overlapping hits of one document merged
    if max_chars is not None and hits:
        first = chunks[hits[0].chunk_row]
        assert sum(len(h.text) for h in hits) <= max(max_chars, len(first["text"]))  # type: ignore[arg-type]
    found = BM25Retriever(col, scope=CHUNK).then(stage).retrieve([f"{word} beta"], k)
    assert [c.rows.tolist() for c in found] == [[h.chunk_row for h in hits]]


DOC = ragkit.Document(id="story", text="One two three.\n\nFour five six.\n\nSeven eight nine.\n\nTen eleven twelve.\n\n"
                                       "Thirteen fourteen.")
GAPPY = ragkit.RecursiveChunker(max_tokens=4, overlap=0, tokenizer="regex")  # one paragraph per chunk, gaps between


def test_a_window_with_the_source_takes_the_neighbours() -> None:
    col = _bm25([DOC], GAPPY)
    hits = BM25Retriever(col, scope=CHUNK).then(Expand(window=1, source={"story": DOC.text})).search("seven", k=1)
    assert hits[0].text == "Four five six.\n\nSeven eight nine.\n\nTen eleven twelve."
    assert DOC.text[hits[0].start:hits[0].end] == hits[0].text and hits[0].position == 2


def test_without_the_source_a_span_stops_at_a_gap_but_crosses_overlaps() -> None:
    col = _bm25([DOC], GAPPY)
    assert BM25Retriever(col, scope=CHUNK).then(Expand(window=2)).search("seven", k=1)[0].text == "Seven eight nine."
    words = ragkit.Document(id="w", text="a b c d e f g h i j k l")
    overlapping = _bm25([words], ragkit.RecursiveChunker(max_tokens=4, overlap=2, tokenizer="regex"))
    hit = BM25Retriever(overlapping).then(Expand(window=1)).search("e", k=1)[0]
    assert words.text[hit.start:hit.end] == hit.text and len(hit.text) > 7


def test_hits_of_one_document_that_meet_merge_into_the_better_one() -> None:
    col = _bm25([DOC], GAPPY)
    plain = BM25Retriever(col, scope=CHUNK).search("seven ten", k=2)
    hits = BM25Retriever(col, scope=CHUNK).then(Expand(window=1, source={"story": DOC.text})).search("seven ten", k=2)
    assert len(plain) == 2 and len(hits) == 1
    assert hits[0].chunk_row == plain[0].chunk_row and hits[0].score == plain[0].score
    assert hits[0].text == "Four five six.\n\nSeven eight nine.\n\nTen eleven twelve.\n\nThirteen fourteen."


def test_a_section_is_the_chunks_under_the_same_headings() -> None:
    text = "# Guide\n\nIntro words here.\n\n## Install\n\nRun pip install.\n\nThen import it.\n\n## Use\n\nCall search now."
    doc = ragkit.Document(id="guide", text=text)
    col = _bm25([doc], ragkit.MarkdownChunker(max_tokens=4, overlap=0, tokenizer="regex"))
    hit = BM25Retriever(col, scope=CHUNK).then(Expand(section=True, source={"guide": text})).search("pip", k=1)[0]
    assert hit.text == "## Install\n\nRun pip install.\n\nThen import it."
    assert text[hit.start:hit.end] == hit.text


def test_a_budget_limits_the_total_context() -> None:
    col = _bm25([DOC], GAPPY)
    source = {"story": DOC.text}
    hit = BM25Retriever(col, scope=CHUNK).then(Expand(window=2, source=source, max_chars=40)).search("seven", k=1)[0]
    assert len(hit.text) <= 40 and "Seven eight nine." in hit.text
    tokens = BM25Retriever(col, scope=CHUNK).then(Expand(window=2, source=source, max_tokens=8)).search("seven", k=1)[0]
    assert len(tokens.text.split()) <= 8 and "Seven" in tokens.text


def test_a_deleted_neighbour_is_never_included() -> None:
    col = _bm25([DOC], GAPPY)
    col.delete(["story#3"])
    hit = BM25Retriever(col, scope=CHUNK).then(Expand(window=1, source={"story": DOC.text})).search("seven", k=1)[0]
    assert hit.text == "Four five six.\n\nSeven eight nine."


def test_a_neighbour_the_principal_may_not_see_is_never_included() -> None:
    text = DOC.text
    acl = [["red"], ["red"], ["blue"], ["red"], ["red"]]
    chunks = [Chunk(doc_id="story", position=c.position, text=c.text, start=c.start, end=c.end, metadata={"acl": a})
              for c, a in zip(GAPPY.chunk(DOC), acl, strict=True)]
    col = ragkit.build_collection([ragkit.Document(id="seed", text="unrelated seed", metadata={"acl": ["red"]})],
                                  chunker=GAPPY, indexes=[BM25Index()])
    col.add(chunks)
    col.set_access_field("acl")
    red = BM25Retriever(col, scope=CHUNK).then(Expand(window=2, source={"story": text})).bind(Principal("u", groups=["red"]))
    hit = red.search("four", k=1)[0]
    assert hit.text == "One two three.\n\nFour five six." and "Seven" not in hit.text
    filtered = BM25Retriever(col, scope=CHUNK).then(Expand(window=2, source={"story": text})).bind(Principal("v", groups=["red", "blue"]))
    assert "Seven" in filtered.search("four", k=1)[0].text


def test_the_source_must_hold_the_chunks() -> None:
    col = _bm25([DOC], GAPPY)
    with pytest.raises(InputError, match="does not hold"):
        BM25Retriever(col, scope=CHUNK).then(Expand(source={"story": "another text entirely, long enough to slice"})).search("seven", k=1)
    with pytest.raises(InputError, match="no text"):
        BM25Retriever(col, scope=CHUNK).then(Expand(source={})).search("seven", k=1)
    assert BM25Retriever(col, scope=CHUNK).then(Expand(source=lambda doc_id: DOC.text)).search("seven", k=1)[0].text.startswith("Four")


def test_works_with_sharding_caches_observation_and_rerank(collection: ragkit.Collection, sharded: ragkit.ShardedCollection,
                                                           docs: list[ragkit.Document]) -> None:
    source = {d.id: d.text for d in docs}
    stages = (Rerank(FakeReranker(), candidates=15), Expand(window=1, source=source))
    one = HybridRetriever(collection).then(*stages).search_batch(QUERIES, 5)
    many = HybridRetriever(sharded).then(*stages).search_batch(QUERIES, 5)
    assert [[(h.doc_id, h.start, h.end, h.text) for h in x] for x in one] == [[(h.doc_id, h.start, h.end, h.text) for h in x]
                                                                            for x in many]
    assert all(source[h.doc_id][h.start:h.end] == h.text for x in one for h in x)
    trace = Trace()
    for wrapped in (CachedRetriever(HybridRetriever(collection)).then(*stages),
                    ObservedRetriever(HybridRetriever(collection).then(*stages))):
        for _ in range(2):
            assert [[(h.chunk_row, h.text) for h in x] for x in wrapped.search_batch(QUERIES, 5, trace=trace)] == \
                   [[(h.chunk_row, h.text) for h in x] for x in one]
    HybridRetriever(collection).then(*stages).search("cat", k=3, trace=trace)
    assert {"rerank", "expand", "expand.hits"} <= set(trace.stage_seconds)


def test_no_candidates_gives_no_hits(collection: ragkit.Collection) -> None:
    assert HybridRetriever(collection).then(Expand()).search("cat", k=3, filters={"group": "none"}) == []


@pytest.mark.parametrize(("options", "match"), [
    ({"window": -1}, "window"), ({"section": "yes"}, "section"), ({"source": 3}, "source"),
    ({"max_chars": 0}, "max_chars"), ({"max_tokens": 0}, "max_tokens"), ({"section_field": ""}, "section_field"),
])
def test_bad_options_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Expand(**options)  # type: ignore[arg-type]


def test_repr_names_the_source_without_its_texts() -> None:
    assert "alpha" not in repr(Expand(source={"d": "alpha " * 100})) and np.char.count(repr(Expand()), "source=None") == 1


def test_spans_of_chunks_positions_apart_that_share_text_merge() -> None:
    """With an overlap of 4 tokens in 5, chunks three positions apart share text: their spans are one span."""
    text = " ".join(["alpha"] * 11 + ["beta"])
    col = _bm25([ragkit.Document(id="doc0", text=text)], ragkit.RecursiveChunker(max_tokens=5, overlap=4, tokenizer="regex"))
    hits = BM25Retriever(col, scope=CHUNK).then(Expand(window=1)).search("alpha beta", k=4)
    assert hits and all(text[h.start:h.end] == h.text for h in hits)
    for a, b in itertools.combinations(hits, 2):
        assert a.end < b.start or b.end < a.start, (a.start, a.end, b.start, b.end)


def test_window_and_section_are_exclusive() -> None:
    for window in (1, 2):
        with pytest.raises(ConfigError, match=rf"'window' and 'section'.*Got window={window} with section=True"):
            Expand(window=window, section=True)
    assert Expand().window == 1 and Expand(section=True).window == 0 and Expand(window=0, section=True).window == 0
    assert dataclasses.replace(Expand(section=True), max_chars=100).window == 0  # a copy keeps its settings
    with pytest.raises(ConfigError, match="window"):
        dataclasses.replace(Expand(), section=True)


def test_a_section_field_the_collection_lacks_is_refused(sharded: ragkit.ShardedCollection) -> None:
    text = "# Guide\n\nIntro words here.\n\n## Install\n\nRun pip install."
    col = _bm25([ragkit.Document(id="guide", text=text)], ragkit.MarkdownChunker(max_tokens=4, overlap=0, tokenizer="regex"))
    with pytest.raises(InputError, match=r"'section_field'.*'headings'.*Got 'nope'"):
        BM25Retriever(col, scope=CHUNK).then(Expand(section=True, section_field="nope")).search("pip", k=1)
    plain = _bm25([DOC], GAPPY)  # RecursiveChunker: no headings, so no sections
    with pytest.raises(InputError, match=r"section_field.*\(its fields: none\).*Got 'headings'"):
        BM25Retriever(plain, scope=CHUNK).then(Expand(section=True)).search("seven", k=1)
    with pytest.raises(InputError, match=r"its fields: 'acl', 'group'"):  # the fields every shard has
        HybridRetriever(sharded).then(Expand(section=True)).search("cat", k=3)
    grouped = HybridRetriever(sharded).then(Expand(section=True, section_field="group")).search("cat", k=3)
    assert grouped and all(h.text for h in grouped)
