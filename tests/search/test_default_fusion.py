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
    assert default_fusion(["bm25", "dense"]) == ScoreFusion(weights=(0.4, 0.6), normalization="zscore")
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
    assert trace.notes["fusion"] == "score zscore: bm25=0.4 dense=0.6"
    assert "note fusion: score zscore: bm25=0.4 dense=0.6" in trace.table()


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
    assert describe_fusion(hybrid.fusion, ["bm25", "dense"]).split(":")[0] in {"rrf k=60", "score minmax", "score zscore"}


def test_an_unknown_fusion_name_is_refused(animal_collection: ragkit.Collection) -> None:
    with pytest.raises(ConfigError, match="'default', 'rrf', 'score', 'zscore'"):
        ragkit.HybridRetriever(animal_collection, fusion="borda")  # type: ignore[arg-type]
