"""BM25 at document level over chunks: equal to whole-document BM25, hits still exact chunks, masks respected."""

from __future__ import annotations

import numpy as np
import pytest

import ragkit
from ragkit.core.errors import ConfigError
from ragkit.testing import HashEmbedder

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau"]


def _docs(seed: int, n: int = 30) -> list[ragkit.Document]:
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(n):
        words = rng.choice(WORDS, size=int(rng.integers(8, 60)))
        docs.append(ragkit.Document(id=f"d{i}", text=" ".join(words), metadata={"group": "a" if i % 3 else "b"}))
    return docs


def _collection(docs: list[ragkit.Document]) -> ragkit.Collection:
    chunker = ragkit.RecursiveChunker(max_tokens=12, overlap=0, tokenizer="regex")
    return ragkit.build_collection(docs, chunker=chunker, indexes=[ragkit.BM25Index()])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_document_scope_ranks_like_bm25_over_whole_documents(seed: int) -> None:
    docs = _docs(seed)
    col = _collection(docs)
    assert col.num_chunks > len(docs)  # documents really are split
    whole = ragkit.BM25Index().build([d.text for d in docs])
    retriever = ragkit.BM25Retriever(col)
    assert retriever.scope == "document"
    queries = ["alpha beta", "sigma tau rho", "kappa", "omicron pi zeta eta"]
    for query, hits in zip(queries, retriever.search_batch(queries, k=10), strict=True):
        expected = whole.search_rows([query], 10)[0]
        assert [h.doc_id for h in hits] == [docs[int(r)].id for r in expected.rows]
        assert np.allclose([h.score for h in hits], expected.scores)
        for hit in hits:  # each hit is the document's best chunk by chunk-level BM25
            doc = next(d for d in docs if d.id == hit.doc_id)
            assert doc.text[hit.start:hit.end] == hit.text
            rows = [i for i, d in enumerate(col.chunks.column("doc_id").to_pylist()) if d == hit.doc_id]
            chunk_scores = col.index("bm25").get_scores(query)[rows]
            assert chunk_scores[rows.index(hit.chunk_row)] == chunk_scores.max()


def test_a_filter_that_cuts_through_a_document_never_scores_hidden_text() -> None:
    docs = [ragkit.Document(id="long", text="alpha alpha alpha beta. " * 2 + "secret secret secret gamma."),
            ragkit.Document(id="other", text="alpha beta gamma delta epsilon")]
    col = ragkit.build_collection(docs, chunker=ragkit.RecursiveChunker(max_tokens=8, overlap=0, tokenizer="regex"),
                                  indexes=[ragkit.BM25Index()])
    texts = col.chunks.column("text").to_pylist()
    hidden = [i for i, t in enumerate(texts) if "secret" in t]
    assert hidden and len(texts) > 2
    # a mask built directly (as an access field would): every row except the secret chunks
    mask = np.ones(col.num_rows, dtype=bool)
    mask[hidden] = False
    from ragkit.search.document_scope import DocumentView

    found = DocumentView().search(col, col.index("bm25"), ["alpha secret gamma"], 5, mask)[0]
    assert not set(found.rows.tolist()) & set(hidden)
    # the cut document is scored by its best allowed chunk alone: the same as chunk-level BM25 there
    chunk_level = col.index("bm25").search_rows(["alpha secret gamma"], 5, mask)[0]
    long_rows = [r for r in found.rows.tolist() if col.chunks.column("doc_id")[r].as_py() == "long"]
    for r in long_rows:
        assert found.scores[found.rows.tolist().index(r)] == pytest.approx(
            chunk_level.scores[chunk_level.rows.tolist().index(r)])
    assert long_rows, "the cut document is still found by its allowed chunks"


def test_scores_of_given_rows_never_reflect_hidden_text() -> None:
    """What hybrid completion asks: a row of a document the mask cuts through gets its chunk-level score,
    a row of a whole document its document's score, as DocumentView.search gives them."""
    docs = [ragkit.Document(id="long", text="alpha alpha alpha beta. " * 2 + "secret secret secret gamma."),
            ragkit.Document(id="other", text="alpha beta gamma delta epsilon secret")]
    col = ragkit.build_collection(docs, chunker=ragkit.RecursiveChunker(max_tokens=8, overlap=0, tokenizer="regex"),
                                  indexes=[ragkit.BM25Index()])
    texts = col.chunks.column("text").to_pylist()
    doc_of = col.chunks.column("doc_id").to_pylist()
    hidden = [i for i, t in enumerate(texts) if "secret" in t and doc_of[i] == "long"]
    mask = np.ones(col.num_rows, dtype=bool)
    mask[hidden] = False
    from ragkit.search.document_scope import DocumentView

    view, query = DocumentView(), "alpha secret gamma"
    rows = np.flatnonzero(mask)
    got = view.score_rows(col, col.index("bm25"), [query], [rows], mask)[0]
    chunk_scores = col.index("bm25").get_scores(query)
    whole = ragkit.BM25Index().build([d.text for d in docs]).get_scores(query)
    for r, score in zip(rows.tolist(), got.tolist(), strict=True):
        expected = chunk_scores[r] if doc_of[r] == "long" else whole[1]
        assert score == pytest.approx(expected), (r, doc_of[r])
    unmasked = view.score_rows(col, col.index("bm25"), [query], [rows])[0]
    assert unmasked[[doc_of[r] == "long" for r in rows]] == pytest.approx(whole[0])  # no mask: the document's score


def test_updates_rebuild_the_document_view() -> None:
    docs = _docs(3)
    col = _collection(docs[:20])
    retriever = ragkit.BM25Retriever(col)
    retriever.search("alpha beta", k=5)
    col.add(docs[20:])
    col.delete(doc_ids=["d0", "d1"])
    fresh = ragkit.BM25Retriever(_collection(docs[2:]))
    for query in ["alpha beta", "tau", "xi omicron"]:
        got = [(h.doc_id, round(h.score, 9)) for h in retriever.search(query, k=8)]
        want = [(h.doc_id, round(h.score, 9)) for h in fresh.search(query, k=8)]
        assert got == want


def test_filters_apply_at_document_level() -> None:
    docs = _docs(4)
    col = _collection(docs)
    hits = ragkit.BM25Retriever(col).search("alpha beta gamma", k=10, filters={"group": "b"})
    assert hits and all(h.metadata["group"] == "b" for h in hits)


def test_scope_choices_and_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    col = _collection(_docs(5))
    assert ragkit.BM25Retriever(col, scope="chunk").scope == "chunk"
    with pytest.raises(ConfigError, match="scope"):
        ragkit.BM25Retriever(col, scope="page")  # type: ignore[arg-type]
    docs = _docs(6)
    folder = tmp_path / "docs"
    folder.mkdir()
    for d in docs:
        (folder / f"{d.id}.txt").write_text(d.text, encoding="utf-8")
    sharded_root = tmp_path / "sharded"
    ragkit.index_corpus(folder, sharded_root, chunker=ragkit.RecursiveChunker(max_tokens=12, overlap=0, tokenizer="regex"),
                        embedder=HashEmbedder(dimension=8), indexes=[ragkit.BM25Index()],
                        config=ragkit.BatchConfig(shard_docs=10, keep_shards=True, progress=False))
    sharded = ragkit.open_collection(sharded_root)
    retriever = ragkit.BM25Retriever(sharded)
    assert retriever.scope == "document"
    whole = ragkit.BM25Index().build([d.text for d in docs])
    ids = [f"{d.id}.txt" for d in docs]  # a folder source names documents by file
    for query in ["alpha beta", "sigma tau rho", "kappa"]:
        hits = retriever.search(query, k=10)
        expected = whole.search_rows([query], 10)[0]
        assert [h.doc_id for h in hits] == [ids[int(r)] for r in expected.rows]  # corpus-wide document statistics
        assert np.allclose([h.score for h in hits], expected.scores)
    assert len(sharded.shards) == 3


def test_index_corpus_refuses_a_list_of_documents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ragkit.core.errors import InputError

    with pytest.raises(InputError, match="build_collection"):
        ragkit.index_corpus(_docs(7), tmp_path / "out", indexes=[ragkit.BM25Index()])


def test_documents_of_one_chunk_each_rank_as_the_grouped_index_would() -> None:
    """Whole-document collections skip the derived document index (it would equal the chunk index): same hits,
    same scores as the grouped path, with and without a filter, and after a delete."""
    from ragkit.search.document_scope import DocumentView

    docs = _docs(5, n=40)
    col = ragkit.build_collection(docs, chunker=ragkit.WholeDocumentChunker(), indexes=[ragkit.BM25Index()])
    index = col.index("bm25")
    codes = np.arange(col.num_rows)
    grouped = index.grouped(codes, col.num_rows)
    view = DocumentView()
    assert view.derive(col, index)[0] is index
    mask = np.asarray([d.metadata["group"] == "b" for d in docs])
    for query in ["alpha beta", "sigma tau rho", "kappa", "omicron pi zeta eta", "nothing here"]:
        for allowed in (None, mask):
            got = view.search(col, index, [query], 7, allowed)[0]
            want = grouped.search_rows([query], 7, allowed)[0]
            assert got.rows.tolist() == want.rows.tolist() and got.scores.tolist() == want.scores.tolist()
    col.delete(doc_ids=["d3"])
    hits = ragkit.BM25Retriever(col).search("alpha beta", k=40)
    fresh = ragkit.BM25Retriever(ragkit.build_collection([d for d in docs if d.id != "d3"], chunker=ragkit.WholeDocumentChunker(),
                                                         indexes=[ragkit.BM25Index()])).search("alpha beta", k=40)
    assert [(h.doc_id, round(h.score, 9)) for h in hits] == [(h.doc_id, round(h.score, 9)) for h in fresh]
