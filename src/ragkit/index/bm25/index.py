"""BM25 over chunk rows: term frequencies in term-major postings, scores derived per query.

Nothing corpus-wide is precomputed from the statistics, so adding or deleting rows only
edits the postings, the row lengths and the live-row mask; the next query sees exact
IDF and average length of the current corpus, identical to a fresh build.

An index over a part of a corpus scores as an index over the whole corpus when searched
with the whole corpus's :class:`~ragkit.index.bm25.stats.CorpusStats` (``stats=``): the
parts' :meth:`BM25Index.statistics` merged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import from_strings
from ragkit.core.errors import EmptyCorpusError, InputError, NotBuiltError
from ragkit.core.results import Candidates
from ragkit.core.rowsets import as_row_ids, check_mask
from ragkit.core.validation import check_k
from ragkit.index.bm25 import query as querying
from ragkit.index.bm25.config import BM25Config, config_options
from ragkit.index.bm25.files import read_index_files, write_index_files
from ragkit.index.bm25.postings import Postings, build_postings, group_postings
from ragkit.index.bm25.scoring import Variant, idf
from ragkit.index.bm25.stats import CorpusStats
from ragkit.index.bm25.tokenizer import BM25Tokenizer
from ragkit.index.bm25.version import IndexVersion

__all__ = ["BM25Config", "BM25Index"]

#: Texts tokenised per batch while building.
_TOKENIZE_BATCH = 20_000


class BM25Index:
    """Lexical index over chunk rows, with live :meth:`add` and :meth:`delete`.

    Postings are stored per term (CSC: rows holding the term, how often), a weight per posting
    (IDF times saturated, length-normalised tf) derived once per version. Queries are looked up
    in a hash table of the terms and scored by one compiled pass (:mod:`~ragkit.index.bm25.kernels`)
    keeping each top-k in a heap, or, for a few queries in a process without the kernels, in numpy
    (:mod:`~ragkit.index.bm25.query`; same results). Updates swap in a new immutable version.

    Example:
        >>> idx = BM25Index(variant="okapi").build(["cats purr", "dogs bark", "cats and dogs"])
        >>> [int(r) for r in idx.search_rows(["cats"], k=2)[0].rows]
        [0, 2]

    Raises:
        ConfigError / EmptyCorpusError: invalid parameters; built from no texts.
        NotBuiltError: when searched before :meth:`build` or :meth:`load`.
    """

    kind = "bm25"

    def __init__(self, variant: Variant = "lucene", *, k1: float = 1.5, b: float = 0.75,
                 delta: float = 0.5, epsilon: float = 0.25, tokenizer: BM25Tokenizer | None = None) -> None:
        self.config = BM25Config(variant=variant, k1=k1, b=b, delta=delta, epsilon=epsilon,
                                 tokenizer=BM25Tokenizer() if tokenizer is None else tokenizer)
        self._state: IndexVersion | None = None
        self._terms: pa.Array | list[str] | None = None  # term of each id (Arrow when loaded)
        self._vocab: dict[str, int] | None = None
        self._write_lock = threading.Lock()
        self._vocab_lock = threading.Lock()
        self._generation = 0  # bumped by every change of the rows (caches compare it)

    # -- configuration ---------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        cfg = asdict(self.config)
        cfg["tokenizer"] = self.config.tokenizer.get_config()
        return {"type": type(self).__name__, **cfg}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BM25Index:
        """Rebuild an unbuilt index from :meth:`get_config` output (raises ConfigError on unknown keys or bad values)."""
        return cls(**config_options(cls.__name__, config))

    # -- statistics ------------------------------------------------------------------
    @property
    def num_rows(self) -> int:
        """Rows of the index, deleted ones included: a row is a slot of the chunk table, never reused (= ``n_docs``)."""
        return 0 if self._state is None else self._state.n_rows

    n_docs = num_rows  # rank-bm25's name for it

    @property
    def n_alive(self) -> int:
        """Rows that are not deleted."""
        return 0 if self._state is None else self._state.n_alive

    @property
    def alive(self) -> np.ndarray:
        """Boolean mask of the rows that are not deleted (read-only)."""
        return self._require_state().alive

    @property
    def generation(self) -> int:
        """A counter bumped by every build, add and delete: equal values mean unchanged rows."""
        return self._generation

    @property
    def vocabulary_size(self) -> int:
        return 0 if self._state is None else self._state.postings.n_terms

    def statistics(self) -> CorpusStats:
        """The statistics of this index's live rows: each term's document frequency over them
        (0 for a term only deleted rows held), the live row count and their summed length;
        the same object until the rows change. Merge the parts' statistics to search each
        part as the whole (terms keep the vocabulary's order, so merged row-contiguous parts
        list them as one index over the whole corpus does).
        """
        state = self._require_state()
        stats = state.cache.get("statistics")
        if stats is None:
            stats = CorpusStats(self._version_terms(state), state.postings.df().astype(np.int64), state.n_alive, state.total_len)
            state.cache["statistics"] = stats
        return stats  # type: ignore[no-any-return]

    def _version_terms(self, state: IndexVersion) -> pa.Array:
        """The term of each id known to ``state`` (an Arrow string array)."""
        terms, n_terms = self._terms, state.postings.n_terms
        assert terms is not None
        if isinstance(terms, pa.Array):
            return terms.slice(0, n_terms)
        return from_strings(terms[:n_terms])

    def _require_state(self) -> IndexVersion:
        state = self._state
        if state is None:
            raise NotBuiltError("BM25Index is empty: call build(texts) or load it from a collection first.")
        return state

    def _new_state(self, postings: Postings, doc_len: np.ndarray, alive: np.ndarray) -> IndexVersion:
        n_alive = int(alive.sum())
        cfg = self.config
        return IndexVersion(postings, doc_len, alive, n_alive, int(doc_len.sum(dtype=np.int64)),
                            idf(cfg.variant, postings.df(), n_alive, cfg.epsilon))

    def _warm(self, state: IndexVersion) -> None:
        """Derive the scoring arrays and the term table now, so the cost lands on the update, not the next query."""
        state.weights(self.config)
        self._term_table(state)

    # -- building and updating --------------------------------------------------------
    def build(self, texts: Sequence[str]) -> BM25Index:
        """Index ``texts`` from scratch; row ``i`` is ``texts[i]``."""
        if len(texts) == 0:
            raise EmptyCorpusError("BM25Index.build got no texts; a BM25 index needs at least one.")
        with self._write_lock:
            self._vocab, self._terms = {}, []
            postings, lengths = self._tokenize_block(texts, first_row=0)
            self._state = self._new_state(postings, lengths, np.ones(len(texts), dtype=bool))
            self._warm(self._state)
            self._generation += 1
        return self

    def add(self, texts: Sequence[str]) -> np.ndarray:
        """Append ``texts`` as new rows without rebuilding; returns their row ids.

        The cost is tokenising the new texts plus one O(postings) merge.
        """
        if len(texts) == 0:
            return np.empty(0, dtype=np.int64)
        with self._write_lock:
            state = self._require_state()
            self._vocabulary()
            postings, lengths = self._tokenize_block(texts, first_row=state.n_rows)
            merged = state.postings.append(postings)
            doc_len = np.concatenate([state.doc_len, lengths])
            alive = np.concatenate([state.alive, np.ones(len(texts), dtype=bool)])
            self._state = self._new_state(merged, doc_len, alive)
            self._warm(self._state)
            self._generation += 1
            return np.arange(state.n_rows, state.n_rows + len(texts), dtype=np.int64)

    def delete(self, rows: Sequence[int] | np.ndarray) -> None:
        """Delete rows; the next query no longer sees them and statistics exclude them.

        Raises:
            InputError: what isn't integer row ids, a row that does not exist or is already deleted (nothing changes).
        """
        ids = as_row_ids(rows, "delete")
        with self._write_lock:
            state = self._require_state()
            dead = state.rows_to_delete(ids)
            postings, _ = state.postings.without_rows(dead)
            doc_len = state.doc_len.copy()
            doc_len[ids] = 0
            self._state = self._new_state(postings, doc_len, state.alive & ~dead)
            self._warm(self._state)
            self._generation += 1

    def _tokenize_block(self, texts: Sequence[str], first_row: int) -> tuple[Postings, np.ndarray]:
        """Tokenise ``texts`` (growing the vocabulary) into postings for rows ``first_row...``.

        Texts are tokenised in batches turned into term-id arrays at once, so memory holds
        compact integer arrays rather than millions of token strings.
        """
        vocab, terms = self._vocab, self._terms
        assert vocab is not None and isinstance(terms, list)
        id_blocks, length_blocks = [], []
        for start in range(0, len(texts), _TOKENIZE_BATCH):
            tokens = self.config.tokenizer.split(texts[start:start + _TOKENIZE_BATCH])
            with self._vocab_lock:
                ids, lengths = self.config.tokenizer.term_ids(tokens, vocab)
            id_blocks.append(ids)
            length_blocks.append(lengths)
        with self._vocab_lock:
            terms.extend(list(vocab)[len(terms):])
        lengths = np.concatenate(length_blocks)
        postings = build_postings(np.concatenate(id_blocks), lengths, len(vocab), first_row=first_row)
        return postings, lengths.astype(np.int32)

    def _vocabulary(self) -> dict[str, int]:
        """term -> id; built from the stored terms on first use after :meth:`load`."""
        if self._vocab is None:
            with self._vocab_lock:
                if self._vocab is None:
                    assert self._terms is not None
                    terms = self._terms.to_pylist() if isinstance(self._terms, pa.Array) else list(self._terms)
                    self._vocab = {t: i for i, t in enumerate(terms)}
                    self._terms = terms
        return self._vocab

    # -- querying --------------------------------------------------------------------
    def query_terms(self, query: str) -> np.ndarray:
        """Term ids of ``query`` in the vocabulary (duplicates kept, unknown terms dropped)."""
        state = self._require_state()
        return self._term_ids([query], state)[0]

    def _term_table(self, state: IndexVersion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The version's term hash table (see :func:`ragkit.index.bm25.query.term_table`), built once per version."""
        table = state.cache.get("term_table")
        if table is None:
            assert self._terms is not None
            table = querying.term_table(self._terms, state.postings.n_terms)
            state.cache["term_table"] = table
        return table  # type: ignore[no-any-return]

    def _query_ids(self, tokens: list[list[str]], state: IndexVersion, compiled: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Known term ids of tokenised queries, concatenated (duplicates kept), and each query's span (CSR offsets).

        Terms added after ``state`` began are unknown to it: its table holds only its own.
        ``compiled=False`` looks them up without the compiled term table unless it is built.
        """
        if compiled or "term_table" in state.cache:
            return querying.lookup(self._term_table(state), tokens)
        assert self._terms is not None
        return querying.lookup_plain(self._terms, state.postings.n_terms, tokens)

    def _term_ids(self, queries: Sequence[str], state: IndexVersion) -> tuple[np.ndarray, np.ndarray]:
        """Term ids of all queries, concatenated, and the number each query contributes."""
        ids, q_indptr = self._query_ids(self.config.tokenizer.tokenize(queries), state)
        return ids, np.diff(q_indptr)

    def _score_block(self, state: IndexVersion, terms: np.ndarray, lengths: np.ndarray,
                     stats: CorpusStats | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Dense (queries x rows) scores for a block of queries, and which cells matched a term."""
        from ragkit.index.bm25 import kernels

        q_indptr = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=q_indptr[1:])
        weights = state.weights(self.config, stats, lambda: self._version_terms(state))
        p = state.postings
        return kernels.dense_scores(p.indptr, p.rows, weights, terms.astype(np.int64, copy=False), q_indptr,
                                    state.n_rows)  # type: ignore[no-any-return]

    def get_scores(self, query: str) -> np.ndarray:
        """BM25 score of ``query`` against every row (float64, length ``n_docs``; 0 for deleted rows)."""
        state = self._require_state()
        return self._score_block(state, *self._term_ids([query], state))[0][0]

    def search_rows(self, queries: Sequence[str], k: int, allowed: np.ndarray | None = None, *,
                    trace: Any = None, stats: CorpusStats | None = None) -> list[Candidates]:
        """Top-``k`` matching rows per query; ``allowed`` is an optional boolean row mask.

        ``trace`` (a :class:`ragkit.observe.Trace`) gets a ``tokenize`` lap once queries are term ids.

        Only rows containing at least one query term are returned, so a query made only of
        stop words or unknown words gets no hits (and no error). The filter applies before
        top-k: a filtered query returns ``k`` hits whenever ``k`` allowed rows match.

        ``stats``: corpus-wide statistics (:class:`~ragkit.index.bm25.stats.CorpusStats`, the
        merged :meth:`statistics` of every part of a corpus, this one included) to score with
        instead of this index's own: IDF from their document frequencies (a term they do not
        know gets IDF 0: a row matched only by such terms scores 0, which Okapi returns and
        the other variants, returning positive scores only, do not) and average length from
        their total length and live rows. Searching every part with the merged statistics and
        merging the per-part top-k gives the rows and scores of one index over the whole
        corpus. The weights derived for a statistics object are kept with the index version
        (one statistics object at a time): pass the same object to reuse them.

        Raises:
            InputError: ``queries`` is a string, ``allowed`` has the wrong shape, or ``stats``
                is not a :class:`~ragkit.index.bm25.stats.CorpusStats`.
        """
        k = check_k("BM25Index.search_rows", k)
        state = self._require_state()
        if isinstance(queries, str):
            raise InputError("BM25Index.search_rows expects a list of queries; wrap a single query as [query].")
        if stats is not None and not isinstance(stats, CorpusStats):
            raise InputError(
                f"BM25Index.search_rows: 'stats' must be a CorpusStats (the merged statistics() of the corpus's parts) "
                f"or None, got {type(stats).__name__}."
            )
        allowed = check_mask(allowed, state.n_rows)
        start = time.perf_counter()
        tokens = self.config.tokenizer.tokenize(queries)
        if trace is not None:
            trace.lap("tokenize")
        return self._search(state, tokens, k, allowed, stats, start)

    def _search(self, state: IndexVersion, tokens: list[list[str]], k: int, allowed: np.ndarray | None,
                stats: CorpusStats | None, start: float) -> list[Candidates]:
        """Top-k of each query: its terms looked up and its postings scored in one compiled call
        (:func:`ragkit.index.bm25.query.search_tokens`), or, for a small batch in a process without the
        kernels, numpy over just the postings it touches (:func:`~ragkit.index.bm25.query.top_k_plain`; same
        rows and scores; the time it took counts towards loading the kernels).

        Okapi keeps every row holding a query term (its scores can be 0 or negative); the
        other variants, whose weights are positive, drop a row scoring exactly 0 (matched only
        by terms ``stats`` does not know).
        """
        cfg, keep_zero = self.config, self.config.variant == "okapi"
        if querying.use_kernels(len(tokens)):
            derived = state.scoring(cfg, stats, None if stats is None else lambda: self._version_terms(state))
            return querying.search_tokens(self._term_table(state), state.postings, derived["weights"], state.n_rows, tokens,
                                          k, allowed, keep_zero=keep_zero, dense=derived["dense"])
        terms, q_indptr = self._query_ids(tokens, state, compiled=False)
        found = querying.top_k_plain(state.postings, self._weigher(state, stats), state.n_rows, terms, q_indptr, k, allowed,
                                     keep_zero=keep_zero)
        querying.spent_plain(time.perf_counter() - start)
        return found

    def _weigher(self, state: IndexVersion, stats: CorpusStats | None) -> querying.PostingWeigher:
        """Weights of given postings for ``stats``: the version's derived ones if any, else computed for just those."""
        cfg = self.config
        term_idf, avgdl = state.term_scoring(cfg, stats, lambda: self._version_terms(state))
        return querying.PostingWeigher(cfg.variant, state.postings.tf, state.doc_len, term_idf, avgdl, cfg.k1, cfg.b, cfg.delta,
                              derived=state.cached_weights(stats))

    def score_rows(self, queries: Sequence[str], rows: Sequence[np.ndarray], *, stats: CorpusStats | None = None) -> list[np.ndarray]:
        """The BM25 score of each row of ``rows[q]`` for ``queries[q]`` (float64; 0 for a row holding no query term):
        what :meth:`search_rows` gives those rows (same ``stats``), for rows it did not return (hybrid fusion).

        Raises:
            InputError: ``queries`` is a string, ``rows`` does not give one array per query, or a row does not exist.
        """
        state = self._require_state()
        if isinstance(queries, str):
            raise InputError("BM25Index.score_rows expects a list of queries; wrap a single query as [query].")
        if len(rows) != len(queries):
            raise InputError(f"BM25Index.score_rows got {len(rows)} row arrays for {len(queries)} queries; give one per query.")
        asked = [np.asarray(r, dtype=np.int64).ravel() for r in rows]
        state.check_rows("BM25Index.score_rows", asked)
        terms, q_indptr = self._query_ids(self.config.tokenizer.tokenize(queries), state, querying.use_kernels(len(queries)))
        return querying.row_scores(state.postings, self._weigher(state, stats), state.n_rows, terms, q_indptr, asked)

    # -- persistence -----------------------------------------------------------------
    def grouped(self, groups: np.ndarray, n_groups: int) -> BM25Index:
        """A read-only BM25 index whose row ``g`` is the union of the live rows ``r`` with ``groups[r] == g``
        (term frequencies and lengths summed; a group with no live row is deleted): document-level BM25
        derived from chunk rows. Same configuration and vocabulary; rebuild it after this index changes.
        """
        state = self._require_state()
        if groups.shape != (state.n_rows,):
            raise InputError(f"grouped() needs one group per row ({state.n_rows}); got shape {groups.shape}.")
        view = type(self).from_config(self.get_config())
        view._terms, view._vocab = self._terms, self._vocab
        lengths = np.bincount(groups, weights=state.doc_len, minlength=n_groups).astype(np.int32)
        alive = np.bincount(groups[state.alive], minlength=n_groups) > 0
        view._state = view._new_state(group_postings(state.postings, groups, n_groups), lengths, alive)
        return view

    def save(self, directory: Path) -> list[str]:
        """Write the index as three Arrow files into ``directory`` (:mod:`ragkit.index.bm25.files`); returns their names."""
        state = self._require_state()
        terms = self._terms if isinstance(self._terms, pa.Array) else pa.array(self._terms, type=pa.string())
        return write_index_files(directory, terms, state.postings, state.doc_len, state.alive)

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> BM25Index:
        """Open a saved index memory-mapped; the vocabulary dictionary is built on first query.

        Raises:
            CorruptIndexError: the files are unreadable or inconsistent with each other.
        """
        index = cls.from_config(config)
        index._terms, postings, doc_len, alive = read_index_files(directory)
        index._state = index._new_state(postings, doc_len, alive)
        return index
