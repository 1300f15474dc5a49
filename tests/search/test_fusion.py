from __future__ import annotations

import numpy as np
import pytest

from ragkit import RRF, ConfigError, InputError, ScoreFusion
from ragkit.core.results import Candidates
from ragkit.search import normalize


def cands(rows: list[int], scores: list[float]) -> Candidates:
    return Candidates(np.array(rows, dtype=np.int64), np.array(scores, dtype=np.float64))


A = cands([1, 2, 3], [10.0, 8.0, 2.0])
B = cands([3, 4], [0.9, 0.5])


def test_rrf_matches_hand_computation() -> None:
    fused = RRF(k=60).fuse([A, B], k=10)
    expected = {1: 1 / 61, 2: 1 / 62, 3: 1 / 63 + 1 / 61, 4: 1 / 62}
    assert fused.rows.tolist() == [3, 1, 2, 4]  # 2 and 4 tie; lower row first
    np.testing.assert_allclose(fused.scores, [expected[r] for r in fused.rows.tolist()])


def test_rrf_weights_and_k() -> None:
    fused = RRF(k=0, weights=(1.0, 3.0)).fuse([A, B], k=2)
    # row 3: 1/3 + 3/1 ; row 4: 3/2 ; row 1: 1/1
    assert fused.rows.tolist() == [3, 4]
    np.testing.assert_allclose(fused.scores, [1 / 3 + 3, 1.5])


def test_minmax_score_fusion_matches_hand_computation() -> None:
    fused = ScoreFusion(weights=(0.5, 0.5), normalization="minmax").fuse([A, B], k=10)
    # A normalised: 1 -> 1, 2 -> 0.75, 3 -> 0 ; B: 3 -> 1, 4 -> 0 ; missing -> leg minimum (0)
    expected = {1: 0.5, 2: 0.375, 3: 0.5, 4: 0.0}
    assert dict(zip(fused.rows.tolist(), fused.scores.tolist(), strict=True)) == pytest.approx(expected)
    assert fused.rows.tolist()[:2] == [1, 3]


def test_zscore_fusion_uses_leg_minimum_for_missing_rows() -> None:
    fused = ScoreFusion(normalization="zscore").fuse([A, B], k=10)
    za = (A.scores - A.scores.mean()) / A.scores.std()
    zb = (B.scores - B.scores.mean()) / B.scores.std()
    expected = {1: za[0] + zb.min(), 2: za[1] + zb.min(), 3: za[2] + zb[0], 4: za.min() + zb[1]}
    got = dict(zip(fused.rows.tolist(), fused.scores.tolist(), strict=True))
    assert got == pytest.approx(expected)


def test_normalize_constant_scores() -> None:
    assert normalize(np.array([2.0, 2.0]), "minmax").tolist() == [1.0, 1.0]
    assert normalize(np.array([2.0, 2.0]), "zscore").tolist() == [0.0, 0.0]
    assert normalize(np.array([3.0, 1.0]), "none").tolist() == [3.0, 1.0]


def test_empty_legs_fuse_to_nothing() -> None:
    assert len(RRF().fuse([Candidates.empty(), Candidates.empty()], k=5)) == 0
    assert ScoreFusion().fuse([Candidates.empty(), B], k=5).rows.tolist() == [3, 4]


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: RRF(k=-1), "'k' parameter of RRF must be an int >= 0. Got -1"),
        (lambda: RRF(weights=(1.0, -1.0)), "'weights' parameter of RRF"),
        (lambda: ScoreFusion(weights=(0.0, 0.0)), "must not be all zero"),
        (lambda: ScoreFusion(normalization="l2"), "'normalization' parameter of ScoreFusion must be one of"),
    ],
)
def test_bad_fusion_parameters(factory: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        factory()  # type: ignore[operator]


def test_weights_must_match_legs() -> None:
    with pytest.raises(InputError, match="3 weights for 2 legs"):
        RRF(weights=(1.0, 1.0, 1.0)).fuse([A, B], k=3)
