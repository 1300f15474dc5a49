"""Rank-based normalisation in ScoreFusion: values ignored, ranks mapped to 1 - (rank - 1) / n."""

from __future__ import annotations

import numpy as np
import pytest

from ragkit import ConfigError
from ragkit.core.results import Candidates
from ragkit.search.fusion import ScoreFusion, normalize


def test_rank_normalization_known_values() -> None:
    np.testing.assert_allclose(normalize(np.array([10.0, 0.5, -3.0]), "rank"), [1.0, 2 / 3, 1 / 3])
    assert normalize(np.array([]), "rank").size == 0


def test_rank_fusion_ignores_score_scales() -> None:
    bm25 = Candidates(np.array([1, 2, 3]), np.array([900.0, 5.0, 4.0]))  # one huge score
    dense = Candidates(np.array([3, 2, 1]), np.array([0.9, 0.8, 0.1]))
    fused = ScoreFusion(normalization="rank").fuse([bm25, dense], k=3)
    # ranks mirror each other, so every row sums to 4/3 whatever the raw scores
    np.testing.assert_allclose(fused.scores, [4 / 3, 4 / 3, 4 / 3])
    assert sorted(fused.rows.tolist()) == [1, 2, 3]
    weighted = ScoreFusion(normalization="rank", weights=(1.0, 2.0)).fuse([bm25, dense], k=3)
    assert weighted.rows.tolist() == [3, 2, 1]
    with pytest.raises(ConfigError, match="'rank'"):
        ScoreFusion(normalization="ranks")  # type: ignore[arg-type]
