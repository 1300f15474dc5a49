"""Bad arguments to the observability helpers raise InputError (ConfigError for Metrics' buckets)
naming the parameter, instead of a TypeError or a silently meaningless result: bools and floats
are not ints, a duration is a finite number >= 0, a quantile lies in [0, 1]."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from ragkit import ConfigError, InputError, RagkitError
from ragkit.observe import Metrics, overlap_at_k, psi

NOT_AN_INT = [pytest.param(2.5, id="float"), pytest.param(2.0, id="integral float"), pytest.param(True, id="True"),
              pytest.param(False, id="False"), pytest.param("3", id="str"), pytest.param(None, id="None")]
REF = np.random.default_rng(0).normal(size=500)


def raises(error: type[RagkitError], call: Any, match: str) -> RagkitError:
    with pytest.raises(RagkitError, match=match) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    return info.value


# -- psi ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [*NOT_AN_INT, 0, 1, -3, 10_001])
def test_psi_bins_must_be_an_int_in_range(bins: Any) -> None:
    error = raises(InputError, lambda: psi(REF, REF + 1, bins=bins), r"The 'bins' parameter of psi must be an int in \[2, 10000\]")
    assert repr(bins) in str(error)


@pytest.mark.parametrize(
    ("reference", "current", "match"),
    [
        ("abc", REF, "'reference' parameter of psi must be a 1-D array of real numbers .int or float.. Got 'abc'"),
        (REF, None, "'current' parameter of psi must be a 1-D array"),
        (REF, np.array(["0.5", "1"]), "dtype <U3"),
        (REF, np.array([True, False]), "dtype bool"),
        (REF, [[1.0, 2.0]], r"shape \(1, 2\)"),
        (REF, np.array([1j]), "dtype complex128"),
    ],
)
def test_psi_values_must_be_1d_real_arrays(reference: Any, current: Any, match: str) -> None:
    raises(InputError, lambda: psi(reference, current), match)


def test_psi_still_works_on_arrays_lists_and_numpy_int_bins() -> None:
    assert psi(REF, REF) == 0.0
    assert psi(list(REF), REF + 2, bins=np.int64(5)) > 1.0
    assert psi(REF, np.arange(10), bins=2) > 0
    assert math.isnan(psi(REF, []))


# -- overlap_at_k -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [*NOT_AN_INT, 0, -1])
def test_overlap_at_k_needs_an_int_k_of_at_least_one(k: Any) -> None:
    error = raises(InputError, lambda: overlap_at_k(["a", "b"], ["b", "c"], k), "The 'k' parameter of overlap_at_k must be an int >= 1")
    assert repr(k) in str(error)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("ab", ["a"], "sequence of ids as 'old', not a bare string. Got 'ab'"),
        (["a"], b"a", "as 'new', not a bare string"),
        (None, ["a"], "as 'old'. Got None"),
        (["a"], 3, "as 'new'. Got 3"),
        ([["a"]], ["a"], r"the ids in 'old' must be hashable \(str, int\.\.\.\)\. Got \['a'\]"),
    ],
)
def test_overlap_at_k_refuses_strings_and_unhashable_ids(old: Any, new: Any, match: str) -> None:
    raises(InputError, lambda: overlap_at_k(old, new, 2), match)


def test_overlap_at_k_still_works() -> None:
    assert overlap_at_k(["a", "b"], ["b", "x"], np.int64(2)) == 0.5
    assert overlap_at_k((i for i in [1, 2]), (2, 1), 2) == 1.0
    assert overlap_at_k([], [], 1) == 1.0


# -- Metrics --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", True, None, math.nan, math.inf, 1j])
def test_counter_increments_must_be_finite_numbers(value: Any) -> None:
    m = Metrics()
    raises(InputError, lambda: m.inc("x_total", value), "The 'value' parameter of Metrics.inc must be a finite number")
    assert m.counter("x_total") == 0.0


def test_counter_still_adds_ints_floats_and_numpy_numbers() -> None:
    m = Metrics()
    for value in (1, 0.5, np.float32(0.25), np.int64(2), 0):
        m.inc("x_total", value)
    assert m.counter("x_total") == 3.75
    raises(InputError, lambda: m.inc("x_total", -1), "can only increase")


@pytest.mark.parametrize("seconds", [-1, -0.001, math.nan, math.inf, -math.inf, "0.1", True, None, np.float64(-1)])
def test_a_duration_is_a_finite_number_of_at_least_zero(seconds: Any) -> None:
    m = Metrics()
    raises(InputError, lambda: m.observe("x_seconds", seconds), r"The 'seconds' parameter of Metrics.observe must be a .*number >= 0")
    assert m.to_dict()["histograms"] == {}


def test_durations_still_recorded() -> None:
    m = Metrics(buckets=(0.01, 0.1))
    for seconds in (0, 0.0, 0.005, np.float32(0.05), np.float64(3.0), 2):
        m.observe("x_seconds", seconds)
    h = m.to_dict()["histograms"]["x_seconds"][0]
    assert h["count"] == 6 and h["buckets"] == {"0.01": 3, "0.1": 4, "+Inf": 6}


@pytest.mark.parametrize("q", [2, 1.0001, -0.1, math.nan, "0.5", True, None])
def test_quantile_q_lies_in_zero_one(q: Any) -> None:
    m = Metrics()
    m.observe("x_seconds", 0.01)
    raises(InputError, lambda: m.quantile("x_seconds", q), r"The 'q' parameter of Metrics.quantile must be a .*number in \[0.0, 1.0\]")
    raises(InputError, lambda: m.quantile("never_seconds", q), "'q' parameter")  # checked even for an empty histogram


def test_quantile_still_estimates() -> None:
    m = Metrics(buckets=(0.01, 0.02))
    m.observe("x_seconds", 0.005)
    assert 0 <= m.quantile("x_seconds", 0) <= m.quantile("x_seconds", np.float32(0.5)) <= m.quantile("x_seconds", 1) <= 0.01
    assert math.isnan(m.quantile("never_seconds", 0.5))


@pytest.mark.parametrize("buckets", ["123", b"\x01\x02", None, 5, (True, 2), (0.1, math.inf), (0.1, "a"), (0.1, math.nan)])
def test_buckets_must_be_finite_numbers(buckets: Any) -> None:
    raises(ConfigError, lambda: Metrics(buckets=buckets), "The 'buckets' parameter of Metrics must be increasing positive seconds")


def test_buckets_still_accept_numbers_and_generators() -> None:
    assert Metrics(buckets=(1, np.float32(2.5), 10.0)).buckets == (1.0, 2.5, 10.0)
    assert Metrics(buckets=(b / 10 for b in (1, 2))).buckets == (0.1, 0.2)
