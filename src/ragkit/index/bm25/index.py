"""BM25 over chunk texts: term frequencies in a sparse (CSC) layout, scores derived per query."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit._validation import check_choice, check_float, check_k
from ragkit.errors import CorruptIndexError, EmptyCorpusError, InputError, NotBuiltError
from ragkit.index.bm25.scoring import VARIANTS, Variant, idf, tf_weight
from ragkit.index.bm25.tokenizer import BM25Tokenizer
from ragkit.retrieval.hits import Candidates, top_k
from ragkit.store.arrow_io import column_numpy, read_table, write_table

__all__ = ["BM25Config", "BM25Index"]

_FILES = ("bm25_terms.arrow", "bm25_postings.arrow", "bm25_docs.arrow")


@dataclass(frozen=True, kw_only=True)
class BM25Config:
    """Parameters of :class:`BM25Index`.

    ``variant``: ``"lucene"`` (default; as Lucene and bm25s compute it), ``"okapi"``
    (identical to rank-bm25's ``BM25Okapi``), ``"bm25+"`` or ``"bm25l"``.
    """

    variant: Variant = "lucene"
    k1: float = 1.5
    b: float = 0.75
    delta: float = 0.5
    epsilon: float = 0.25
    tokenizer: BM25Tokenizer = field(default_factory=BM25Tokenizer)

    def __post_init__(self) -> None:
        owner = "BM25Index"
        check_choice(owner, "variant", self.variant, VARIANTS)
        check_float(owner, "k1", self.k1, low=0.0)
        check_float(owner, "b", self.b, low=0.0, high=1.0)
        check_float(owner, "delta", self.delta, low=0.0)
        check_float(owner, "epsilon", self.epsilon, low=0.0)
        if not isinstance(self.tokenizer, BM25Tokenizer):
            raise InputError(f"The 'tokenizer' parameter of {owner} must be a BM25Tokenizer. Got {self.tokenizer!r}.")


class BM25Index:
    """Lexical index over chunk rows.

    Term frequencies are stored per term (CSC: for each term, the rows holding it and
    how often); document lengths per row. A query gathers the postings of its terms and
    accumulates their BM25 weights with one ``bincount``: no Python loop per document or
    per term. Weights are cached and recomputed whenever the corpus statistics change.

    Example:
        >>> idx = BM25Index(variant="okapi").build(["cats purr", "dogs bark", "cats and dogs"])
        >>> [int(r) for r in idx.search_rows(["cats"], k=2)[0].rows]
        [0, 2]

    Raises:
        ConfigError: on invalid parameters.
        EmptyCorpusError: when built from no texts.
        NotBuiltError: when searched before :meth:`build` or :meth:`load`.
    """

    kind = "bm25"

    def __init__(self, variant: Variant = "lucene", *, k1: float = 1.5, b: float = 0.75,
                 delta: float = 0.5, epsilon: float = 0.25, tokenizer: BM25Tokenizer | None = None) -> None:
        self.config = BM25Config(variant=variant, k1=k1, b=b, delta=delta, epsilon=epsilon,
                                 tokenizer=tokenizer or BM25Tokenizer())
        self._terms: pa.Array | None = None
        self._vocab: dict[str, int] | None = None
        self._indptr: np.ndarray | None = None      # (V+1,) int64, postings of term t: [indptr[t], indptr[t+1])
        self._rows: np.ndarray | None = None        # (nnz,) int32, row of each posting
        self._tf: np.ndarray | None = None          # (nnz,) int32
        self._doc_len: np.ndarray | None = None     # (n_docs,) int32
        self._weights: np.ndarray | None = None     # (nnz,) float64, idf * tf_weight, derived
        self._lock = threading.Lock()

    # -- configuration ---------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        cfg = asdict(self.config)
        cfg["tokenizer"] = self.config.tokenizer.get_config()
        return {"type": type(self).__name__, **cfg}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BM25Index:
        options = {k: v for k, v in config.items() if k != "type"}
        tokenizer = BM25Tokenizer.from_config(options.pop("tokenizer", {}))
        return cls(tokenizer=tokenizer, **options)

    # -- building --------------------------------------------------------------------
    def build(self, texts: Sequence[str]) -> BM25Index:
        """Index ``texts``; row ``i`` of the index is ``texts[i]``."""
        if len(texts) == 0:
            raise EmptyCorpusError("BM25Index.build got no texts; a BM25 index needs at least one.")
        token_lists = self.config.tokenizer.tokenize(texts)
        vocab: dict[str, int] = {}
        ids_per_doc = [[vocab.setdefault(t, len(vocab)) for t in terms] for terms in token_lists]
        lengths = np.fromiter((len(x) for x in ids_per_doc), dtype=np.int64, count=len(ids_per_doc))
        term_ids = np.fromiter((t for ids in ids_per_doc for t in ids), dtype=np.int64, count=int(lengths.sum()))
        doc_ids = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        n_docs, n_terms = len(texts), len(vocab)
        # one unique over (term, doc) keys gives postings sorted by term then row, with counts
        keys, tf = np.unique(term_ids * n_docs + doc_ids, return_counts=True)
        post_terms = keys // n_docs
        self._rows = (keys % n_docs).astype(np.int32)
        self._tf = tf.astype(np.int32)
        self._indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(post_terms, minlength=n_terms), out=self._indptr[1:])
        self._doc_len = lengths.astype(np.int32)
        self._vocab = vocab
        self._terms = pa.array(list(vocab), type=pa.string())
        self._weights = None
        return self

    # -- statistics ------------------------------------------------------------------
    @property
    def n_docs(self) -> int:
        return 0 if self._doc_len is None else int(self._doc_len.shape[0])

    @property
    def vocabulary_size(self) -> int:
        return 0 if self._indptr is None else int(self._indptr.shape[0] - 1)

    def _require_built(self) -> None:
        if self._indptr is None:
            raise NotBuiltError("BM25Index is empty: call build(texts) or load it from a collection first.")

    def _posting_weights(self) -> np.ndarray:
        """idf(term) * tf_weight for every posting, computed once per corpus state."""
        weights = self._weights
        if weights is not None:
            return weights
        with self._lock:
            if self._weights is None:
                assert self._indptr is not None and self._tf is not None and self._doc_len is not None
                assert self._rows is not None
                cfg = self.config
                df = np.diff(self._indptr)
                term_idf = idf(cfg.variant, df, self.n_docs, cfg.epsilon)
                avgdl = float(self._doc_len.sum()) / self.n_docs
                w = tf_weight(cfg.variant, self._tf, self._doc_len[self._rows], avgdl, cfg.k1, cfg.b, cfg.delta)
                w *= np.repeat(term_idf, df)
                self._weights = w
            return self._weights

    def _vocabulary(self) -> dict[str, int]:
        if self._vocab is None:
            assert self._terms is not None
            self._vocab = {t: i for i, t in enumerate(self._terms.to_pylist())}
        return self._vocab

    # -- querying --------------------------------------------------------------------
    def query_terms(self, query: str) -> np.ndarray:
        """Term ids of ``query`` present in the vocabulary (duplicates kept, unknown terms dropped)."""
        self._require_built()
        vocab = self._vocabulary()
        terms = self.config.tokenizer.tokenize([query])[0]
        return np.fromiter((vocab[t] for t in terms if t in vocab), dtype=np.int64)

    def _accumulate(self, term_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores of every row and a mask of rows matching at least one term."""
        assert self._indptr is not None and self._rows is not None
        n = self.n_docs
        if term_ids.size == 0:
            return np.zeros(n), np.zeros(n, dtype=bool)
        weights = self._posting_weights()
        starts, ends = self._indptr[term_ids], self._indptr[term_ids + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        # positions of all postings of the query terms, as one flat index array
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        rows = self._rows[offsets]
        scores = np.bincount(rows, weights=weights[offsets], minlength=n)
        matched = np.bincount(rows, minlength=n) > 0
        return scores, matched

    def get_scores(self, query: str) -> np.ndarray:
        """BM25 score of ``query`` against every row (float64, length ``n_docs``)."""
        return self._accumulate(self.query_terms(query))[0]

    def search_rows(self, queries: Sequence[str], k: int, allowed: np.ndarray | None = None) -> list[Candidates]:
        """Top-``k`` matching rows per query; ``allowed`` is an optional boolean row mask.

        Only rows containing at least one query term are returned, so a query made only
        of stop words or unknown words gets no hits (and no error).
        """
        check_k("BM25Index.search_rows", k)
        self._require_built()
        if isinstance(queries, str):
            raise InputError("BM25Index.search_rows expects a list of queries; wrap a single query as [query].")
        if allowed is not None and allowed.shape != (self.n_docs,):
            raise InputError(f"allowed mask has shape {allowed.shape}, expected ({self.n_docs},).")
        results = []
        for query in queries:
            scores, matched = self._accumulate(self.query_terms(query))
            if allowed is not None:
                matched &= allowed
            rows = np.flatnonzero(matched)
            results.append(top_k(scores[rows], k, rows))
        return results

    # -- persistence -----------------------------------------------------------------
    def save(self, directory: Path) -> list[str]:
        """Write the index as Arrow files into ``directory``; returns the file names."""
        self._require_built()
        assert self._terms is not None and self._indptr is not None
        write_table(directory / _FILES[0], pa.table({
            "term": self._terms,
            "offset": pa.array(self._indptr[:-1]),
            "df": pa.array(np.diff(self._indptr)),
        }))
        write_table(directory / _FILES[1], pa.table({"row": pa.array(self._rows), "tf": pa.array(self._tf)}))
        write_table(directory / _FILES[2], pa.table({"length": pa.array(self._doc_len)}))
        return list(_FILES)

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> BM25Index:
        """Open a saved index memory-mapped; the vocabulary dictionary is built on first query."""
        index = cls.from_config(config)
        terms = read_table(directory / _FILES[0])
        postings = read_table(directory / _FILES[1])
        docs = read_table(directory / _FILES[2])
        offset = column_numpy(terms, "offset").astype(np.int64, copy=False)
        df = column_numpy(terms, "df").astype(np.int64, copy=False)
        rows = column_numpy(postings, "row")
        nnz = int(rows.shape[0])
        if offset.shape[0] and (offset[-1] + df[-1] != nnz or np.any(offset[1:] != offset[:-1] + df[:-1])):
            raise CorruptIndexError(f"{_FILES[0]}: term offsets do not match {_FILES[1]} ({nnz} postings).")
        index._terms = terms.column("term").combine_chunks()
        index._indptr = np.append(offset, nnz)
        index._rows = rows
        index._tf = column_numpy(postings, "tf")
        index._doc_len = column_numpy(docs, "length")
        if nnz and int(rows.max()) >= index._doc_len.shape[0]:
            raise CorruptIndexError(f"{_FILES[1]}: a posting points past the {index._doc_len.shape[0]} rows.")
        return index
