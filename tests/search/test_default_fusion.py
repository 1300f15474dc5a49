"""The default hybrid fusion: z-score scores weighted by leg name, deterministic, reported in traces."""

from __future__ import annotations

import numpy as np
import pytest

import ragkit
from ragkit.core.errors import ConfigError
from ragkit.core.results import Candidates
from ragkit.observe import Trace
from ragkit.search.fusion import DEFAULT_LEG_WEIGHTS, ScoreFusion, default_fusion, describe_fusion, normalize


def test_default_fusion_weights_legs_by_name() -> None:
    assert default_fusion(["bm25", "dense"]) == ScoreFusion(weights=(0.4, 0.6), normalization="zscore", complete=True)
    assert default_fusion(["dense", "bm25"]).weights == (0.6, 0.4)
    assert default_fusion(["bm25", "other"]).weights == (DEFAULT_LEG_WEIGHTS["bm25"], 0.5)


def test_default_fusion_matches_a_hand_computation() -> None:
    bm25 = Candidates(np.array([7, 3, 5]), np.array([12.0, 9.0, 3.0]))
    dense = Candidates(np.array([3, 9]), np.array([0.82, 0.61]))
    fused = default_fusion(["bm25", "dense"]).fuse([bm25, dense], k=4)
    zb, zd = normalize(bm25.scores, "zscore"), normalize(dense.scores, "zscore")
    # a row a leg missed gets that leg's lowest z-score
    expected = {7: 0.4 * zb[0] + 0.6 * zd.min(), 3: 0.4 * zb[1] + 0.6 * zd[0], 5: 0.4 * zb[2] + 0.6 * zd.min(),
                9: 0.4 * zb.min() + 0.6 * zd[1]}
    order = sorted(expected, key=lambda r: -expected[r])
    assert fused.rows.tolist() == order
    assert np.allclose(fused.scores, [expected[r] for r in order])


def test_hybrid_uses_the_default_fusion_and_names_it_in_the_trace(animal_collection: ragkit.Collection) -> None:
    hybrid = ragkit.HybridRetriever(animal_collection)
    assert hybrid.fusion == default_fusion(["bm25", "dense"])
    trace = Trace()
    hybrid.search("which animal purrs?", k=3, trace=trace)
    assert trace.notes["fusion"] == "score zscore complete: bm25=0.4 dense=0.6"
    assert "note fusion: score zscore complete: bm25=0.4 dense=0.6" in trace.table()


def test_the_default_ranking_is_deterministic(animal_collection: ragkit.Collection) -> None:
    queries = ["which animal purrs?", "fish gills", "birds sing at dawn", "loyal pets"]
    first = ragkit.HybridRetriever(animal_collection).search_batch(queries, k=5)
    for _ in range(3):
        again = ragkit.HybridRetriever(animal_collection).search_batch(queries, k=5)
        assert [[(h.chunk_row, h.score) for h in hits] for hits in again] == \
            [[(h.chunk_row, h.score) for h in hits] for hits in first]


@pytest.mark.parametrize("name", ["rrf", "score", "zscore", "default"])
def test_every_fusion_name_resolves(animal_collection: ragkit.Collection, name: str) -> None:
    hybrid = ragkit.HybridRetriever(animal_collection, fusion=name)  # type: ignore[arg-type]
    assert describe_fusion(hybrid.fusion, ["bm25", "dense"]).split(":")[0] in {"rrf k=60", "score minmax", "score zscore",
                                                                                       "score zscore complete"}


def test_an_unknown_fusion_name_is_refused(animal_collection: ragkit.Collection) -> None:
    with pytest.raises(ConfigError, match="'default', 'rrf', 'score', 'zscore'"):
        ragkit.HybridRetriever(animal_collection, fusion="borda")  # type: ignore[arg-type]


def test_complete_fusion_scores_every_candidate_in_every_leg(animal_collection: ragkit.Collection) -> None:
    """Default fusion by hand: each leg's exact score of the union of both legs' candidates, z-scored, weighted."""
    queries = ["which animal purrs?", "fish gills", "birds sing at dawn", "loyal pets"]
    bm25 = ragkit.BM25Retriever(animal_collection, scope="chunk")
    dense = ragkit.DenseRetriever(animal_collection)
    hybrid = ragkit.HybridRetriever(animal_collection, retrievers=[bm25, dense], candidates=4)
    index, vectors = animal_collection.index("bm25"), animal_collection.embed_queries(queries)
    stored = animal_collection.index("vector").row_vectors(np.arange(animal_collection.num_rows))
    for q, hits in enumerate(hybrid.search_batch(queries, k=4)):  # k <= candidates: each leg lists 4
        union = np.union1d(index.search_rows([queries[q]], 4)[0].rows,
                           animal_collection.index("vector").search_rows(vectors[q:q + 1], 4)[0].rows)
        zb = normalize(index.get_scores(queries[q])[union], "zscore")
        zd = normalize((stored[union] @ vectors[q]).astype(np.float64), "zscore")
        fused = 0.4 * zb + 0.6 * zd
        order = union[np.lexsort((union, -fused))][:4]
        assert [h.chunk_row for h in hits] == order.tolist()
        np.testing.assert_allclose([h.score for h in hits], np.sort(fused)[::-1][:4], atol=1e-6)  # float32 dense
        for h in hits:  # each hit reports what each leg itself returned (rank None: that leg did not list it)
            assert set(h.legs) <= {"bm25", "dense"}


def test_a_leg_that_cannot_score_given_rows_keeps_the_imputed_floor(animal_collection: ragkit.Collection) -> None:
    class Listed(ragkit.BM25Retriever):
        name = "listed"

        def score_rows(self, context: object, rows: object) -> None:  # type: ignore[override]
            return None

    query = "which animal purrs?"
    listed, dense = Listed(animal_collection, scope="chunk"), ragkit.DenseRetriever(animal_collection)
    hybrid = ragkit.HybridRetriever(animal_collection, retrievers=[listed, dense], candidates=4,
                                    fusion=ScoreFusion(weights=(0.4, 0.6), normalization="zscore", complete=True))
    own = listed.search_batch([query], k=4)[0]
    b_rows, b_scores = np.array([h.chunk_row for h in own]), np.array([h.score for h in own])
    vector = animal_collection.embed_queries([query])[0]
    d_rows = animal_collection.index("vector").search_rows(vector[None, :], 4)[0].rows
    union = np.union1d(b_rows, d_rows)
    zb = normalize(b_scores, "zscore")
    b_part = np.full(union.size, zb.min())  # the listed leg: its own z-scores, the floor for rows it did not list
    b_part[np.searchsorted(union, b_rows)] = zb
    stored = animal_collection.index("vector").row_vectors(union)
    fused = 0.4 * b_part + 0.6 * normalize((stored @ vector).astype(np.float64), "zscore")  # dense: exact for all
    got = hybrid.search(query, k=4)
    assert [h.chunk_row for h in got] == union[np.lexsort((union, -fused))][:4].tolist()


def test_complete_must_be_a_bool() -> None:
    with pytest.raises(ConfigError, match="'complete'"):
        ScoreFusion(complete="yes")  # type: ignore[arg-type]
