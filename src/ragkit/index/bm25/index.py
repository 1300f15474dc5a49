"""BM25 over chunk rows: term frequencies in term-major postings, scores derived per query.

Nothing corpus-wide is precomputed from the statistics, so adding or deleting rows only
edits the postings, the row lengths and the live-row mask; the next query sees exact
IDF and average length of the current corpus, identical to a fresh build.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import column_numpy, read_table, write_table
from ragkit.core.errors import ConfigError, CorruptIndexError, EmptyCorpusError, InputError, NotBuiltError
from ragkit.core.results import Candidates
from ragkit.core.topk import top_k_block, top_k_sparse
from ragkit.core.validation import check_choice, check_float, check_k
from ragkit.index.bm25.postings import Postings, build_postings, gather
from ragkit.index.bm25.scoring import VARIANTS, Variant, idf, tf_weight
from ragkit.index.bm25.tokenizer import BM25Tokenizer

__all__ = ["BM25Config", "BM25Index"]

_FILES = ("bm25_terms.arrow", "bm25_postings.arrow", "bm25_docs.arrow")
#: Dense score cells (queries x rows) scored at once; bounds a batch's memory to ~100 MB.
_BLOCK_CELLS = 1 << 23
#: Texts tokenised per batch while building.
_TOKENIZE_BATCH = 20_000


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
            raise ConfigError(
                f"The 'tokenizer' parameter of {owner} must be a BM25Tokenizer. Got {self.tokenizer!r} instead."
            )


@dataclass(frozen=True, slots=True)
class _State:
    """One immutable version of the index; a query works on the version it started with."""

    postings: Postings
    doc_len: np.ndarray  # (n_rows,) int32, 0 for deleted rows
    alive: np.ndarray  # (n_rows,) bool
    n_alive: int
    total_len: int
    idf: np.ndarray  # (n_terms,) float64, for the current statistics
    _cache: dict[str, Any] = field(default_factory=dict)  # derived arrays, built once per version

    @property
    def n_rows(self) -> int:
        return int(self.doc_len.shape[0])

    def weights(self, config: BM25Config) -> np.ndarray:
        """idf * saturated tf of every posting (float64), computed once per version (O(postings))."""
        weights = self._cache.get("weights")
        if weights is None:
            p = self.postings
            avgdl = self.total_len / self.n_alive if self.n_alive else 0.0
            try:
                row_len = self.doc_len[p.rows]
            except IndexError as exc:
                raise CorruptIndexError(f"{_FILES[1]}: a posting points outside the {self.n_rows} rows.") from exc
            if p.nnz and int(p.rows.min()) < 0:
                raise CorruptIndexError(f"{_FILES[1]}: a posting has a negative row.")
            weights = tf_weight(config.variant, p.tf, row_len, avgdl, config.k1, config.b, config.delta)
            weights *= np.repeat(self.idf, p.df())
            self._cache["weights"] = weights
        return weights  # type: ignore[no-any-return]

    def weight_matrix(self, config: BM25Config) -> Any:
        """The weights as a scipy CSR matrix (terms x rows), built once per version."""
        matrix = self._cache.get("matrix")
        if matrix is None:
            import scipy.sparse as sp

            p = self.postings
            # int32 offsets when they fit, so scipy shares the int32 rows instead of copying them
            indptr = p.indptr.astype(np.int32) if p.nnz < 2**31 - 1 else p.indptr
            matrix = sp.csr_matrix((self.weights(config), p.rows, indptr), shape=(p.n_terms, self.n_rows), copy=False)
            self._cache["matrix"] = matrix
        return matrix


class BM25Index:
    """Lexical index over chunk rows, with live :meth:`add` and :meth:`delete`.

    Postings are stored per term (CSC: the rows holding the term and how often). A batch
    of queries gathers the postings of all its terms at once, weighs them with the
    current IDF and length normalisation, and accumulates scores with one ``bincount``
    per block of queries; top-k is a partial selection. Updates build a new immutable
    version and swap it in, so concurrent searches never see a half-applied change.

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
        self._state: _State | None = None
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
        options = {k: v for k, v in config.items() if k != "type"}
        tokenizer = BM25Tokenizer.from_config(options.pop("tokenizer", {}))
        return cls(tokenizer=tokenizer, **options)

    # -- statistics ------------------------------------------------------------------
    @property
    def n_docs(self) -> int:
        """Rows of the index, deleted ones included (row ids are never reused)."""
        return 0 if self._state is None else self._state.n_rows

    @property
    def n_alive(self) -> int:
        """Rows that are not deleted."""
        return 0 if self._state is None else self._state.n_alive

    @property
    def generation(self) -> int:
        """A counter bumped by every build, add and delete: equal values mean unchanged rows."""
        return self._generation

    @property
    def vocabulary_size(self) -> int:
        return 0 if self._state is None else self._state.postings.n_terms

    def _require_state(self) -> _State:
        state = self._state
        if state is None:
            raise NotBuiltError("BM25Index is empty: call build(texts) or load it from a collection first.")
        return state

    def _new_state(self, postings: Postings, doc_len: np.ndarray, alive: np.ndarray) -> _State:
        n_alive = int(alive.sum())
        cfg = self.config
        return _State(postings, doc_len, alive, n_alive, int(doc_len.sum(dtype=np.int64)),
                      idf(cfg.variant, postings.df(), n_alive, cfg.epsilon))

    def _warm(self, state: _State) -> None:
        """Derive the scoring arrays now, so the cost lands on the update, not the next query."""
        if self.config.variant == "okapi":
            state.weights(self.config)
        else:
            state.weight_matrix(self.config)

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
            InputError: a row that does not exist or is already deleted (nothing is changed).
        """
        ids = np.asarray(rows, dtype=np.int64).ravel()
        with self._write_lock:
            state = self._require_state()
            bad = ids[(ids < 0) | (ids >= state.n_rows)]
            if bad.size:
                raise InputError(f"Cannot delete row {int(bad[0])}: the index has rows 0..{state.n_rows - 1}.")
            if np.unique(ids).size != ids.size:
                raise InputError("Rows to delete contain duplicates.")
            gone = ids[~state.alive[ids]]
            if gone.size:
                raise InputError(f"Cannot delete row {int(gone[0])}: it is already deleted.")
            dead = np.zeros(state.n_rows, dtype=bool)
            dead[ids] = True
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
            token_lists = self.config.tokenizer.tokenize(texts[start:start + _TOKENIZE_BATCH])
            with self._vocab_lock:
                ids = [vocab.setdefault(t, len(vocab)) for tokens in token_lists for t in tokens]
            id_blocks.append(np.asarray(ids, dtype=np.int64))
            length_blocks.append(np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists)))
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

    def _term_ids(self, queries: Sequence[str], state: _State) -> tuple[np.ndarray, np.ndarray]:
        """Term ids of all queries, concatenated, and the number each query contributes."""
        vocab = self._vocabulary()
        limit = state.postings.n_terms  # terms added after this state began are unknown to it
        tokens = self.config.tokenizer.tokenize(queries)
        lookup = vocab.get
        ids = np.fromiter((lookup(t, -1) for q in tokens for t in q), dtype=np.int64, count=sum(map(len, tokens)))
        known = (ids >= 0) & (ids < limit)
        query_of = np.repeat(np.arange(len(tokens)), [len(q) for q in tokens])
        return ids[known], np.bincount(query_of[known], minlength=len(tokens))

    def _score_block(self, state: _State, terms: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dense (queries x rows) scores for a block of queries, and which cells matched a term."""
        n, nq = state.n_rows, lengths.shape[0]
        query_of_term = np.repeat(np.arange(nq), lengths)
        positions, slot = gather(state.postings, terms)
        cells = query_of_term[slot] * n + state.postings.rows[positions]
        weights = state.weights(self.config)[positions]
        # (bincount returns int64 for empty input: keep scores float)
        scores = np.bincount(cells, weights=weights, minlength=nq * n).astype(np.float64, copy=False).reshape(nq, n)
        matched = np.zeros(nq * n, dtype=bool)
        matched[cells] = True
        return scores, matched.reshape(nq, n)

    def get_scores(self, query: str) -> np.ndarray:
        """BM25 score of ``query`` against every row (float64, length ``n_docs``; 0 for deleted rows)."""
        state = self._require_state()
        return self._score_block(state, *self._term_ids([query], state))[0][0]

    def search_rows(self, queries: Sequence[str], k: int, allowed: np.ndarray | None = None, *,
                    trace: Any = None) -> list[Candidates]:
        """Top-``k`` matching rows per query; ``allowed`` is an optional boolean row mask.

        ``trace`` (a :class:`ragkit.observe.Trace`) gets a ``tokenize`` lap once queries are term ids.

        Only rows containing at least one query term are returned, so a query made only of
        stop words or unknown words gets no hits (and no error). The filter applies before
        top-k: a filtered query returns ``k`` hits whenever ``k`` allowed rows match.
        """
        check_k("BM25Index.search_rows", k)
        state = self._require_state()
        if isinstance(queries, str):
            raise InputError("BM25Index.search_rows expects a list of queries; wrap a single query as [query].")
        if allowed is not None and allowed.shape != (state.n_rows,):
            raise InputError(f"allowed mask has shape {allowed.shape}, expected ({state.n_rows},).")
        terms, lengths = self._term_ids(queries, state)
        if trace is not None:
            trace.lap("tokenize")
        if self.config.variant != "okapi":
            return self._search_sparse(state, terms, lengths, k, allowed)
        results: list[Candidates] = []
        block = max(1, _BLOCK_CELLS // max(state.n_rows, 1))
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        for start in range(0, lengths.shape[0], block):
            stop = min(start + block, lengths.shape[0])
            scores, matched = self._score_block(state, terms[bounds[start]:bounds[stop]], lengths[start:stop])
            if allowed is not None:
                matched &= allowed
            scores[~matched] = -np.inf
            results.extend(top_k_block(scores, k))
        return results

    def _search_sparse(self, state: _State, terms: np.ndarray, lengths: np.ndarray, k: int,
                       allowed: np.ndarray | None) -> list[Candidates]:
        """Scores as one sparse product (queries x terms) @ (terms x rows), top-k over matched rows.

        Valid when every posting weight is positive (all variants but Okapi): a row then
        matched exactly when its summed score is non-zero, which is what the product keeps.
        """
        import scipy.sparse as sp

        weights = state.weight_matrix(self.config)
        q_indptr = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=q_indptr[1:])
        counts = sp.csr_matrix((np.ones(terms.shape[0]), terms, q_indptr), shape=(lengths.shape[0], state.postings.n_terms))
        scores = (counts @ weights).tocsr()
        if allowed is not None:
            scores.data[~allowed[scores.indices]] = 0.0
            scores.eliminate_zeros()
        return top_k_sparse(scores.indptr, scores.indices.astype(np.int64), scores.data, k)

    # -- persistence -----------------------------------------------------------------
    def save(self, directory: Path) -> list[str]:
        """Write the index as three Arrow files into ``directory``; returns the file names."""
        state = self._require_state()
        terms = self._terms if isinstance(self._terms, pa.Array) else pa.array(self._terms, type=pa.string())
        p = state.postings
        write_table(directory / _FILES[0], pa.table({
            "term": terms.slice(0, p.n_terms), "offset": pa.array(p.indptr[:-1]), "df": pa.array(p.df()),
        }))
        write_table(directory / _FILES[1], pa.table({"row": pa.array(p.rows), "tf": pa.array(p.tf)}))
        write_table(directory / _FILES[2], pa.table({"length": pa.array(state.doc_len), "alive": pa.array(state.alive)}))
        return list(_FILES)

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> BM25Index:
        """Open a saved index memory-mapped; the vocabulary dictionary is built on first query.

        Raises:
            CorruptIndexError: the files are unreadable or inconsistent with each other.
        """
        index = cls.from_config(config)
        terms = read_table(directory / _FILES[0])
        postings = read_table(directory / _FILES[1])
        docs = read_table(directory / _FILES[2])
        try:
            offset = column_numpy(terms, "offset").astype(np.int64, copy=False)
            df = column_numpy(terms, "df").astype(np.int64, copy=False)
            rows = column_numpy(postings, "row").astype(np.int32, copy=False)
            tf = column_numpy(postings, "tf").astype(np.int32, copy=False)
            doc_len = column_numpy(docs, "length").astype(np.int32, copy=False)
            alive = column_numpy(docs, "alive").astype(bool, copy=False)
            term_column = terms.column("term").combine_chunks()
        except (KeyError, pa.ArrowInvalid) as exc:
            raise CorruptIndexError(f"BM25 files in {directory.name}: a column is missing or malformed ({exc}).") from exc
        nnz = int(rows.shape[0])
        if offset.shape[0] and (offset[-1] + df[-1] != nnz or np.any(offset[1:] != offset[:-1] + df[:-1])):
            raise CorruptIndexError(f"{_FILES[0]}: term offsets do not match {_FILES[1]} ({nnz} postings).")
        if alive.shape != doc_len.shape:
            raise CorruptIndexError(f"{_FILES[2]}: 'alive' and 'length' columns differ in length.")
        # posting rows are bounds-checked when the weights are first derived, not here:
        # opening reads only the small arrays, so it stays fast at any size
        index._terms = term_column
        index._state = index._new_state(Postings(np.append(offset, nnz), rows, tf), doc_len, alive)
        return index
