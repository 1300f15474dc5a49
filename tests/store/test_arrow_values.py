"""Arrow arrays from Python values without pyarrow's pandas-aware conversion: same types and values as ``pa.array``."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragkit.core.arrow_io import from_strings, from_values

VALUES = st.one_of(
    st.lists(st.text(), max_size=8), st.lists(st.booleans(), min_size=1, max_size=8),
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=8),
    st.lists(st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=False)), min_size=1, max_size=8),
)


@given(VALUES)
def test_from_values_matches_pa_array(values: list[object]) -> None:
    got, want = from_values(values), pa.array(values)
    assert got.type == want.type
    assert got.to_pylist() == want.to_pylist()


@pytest.mark.parametrize("values", [[2**70], [2**60, 0.5], [1, "a"], [None, 1], [b"x"]])
def test_other_values_go_through_pa_array(values: list[object]) -> None:
    try:
        want = pa.array(values)
    except (OverflowError, pa.ArrowException) as exc:
        with pytest.raises(type(exc)):
            from_values(values)
    else:
        assert from_values(values).equals(want)


def test_from_strings_keeps_multibyte_text() -> None:
    strings = ["", "日本", "café", "😀x", "a"]
    assert from_strings(strings).to_pylist() == strings


@given(st.lists(st.one_of(st.none(), st.booleans()), max_size=40), st.integers(0, 5), st.booleans())
def test_bool_nulls_filled_as_fill_null_fills_them(values: list[bool | None], start: int, fill: bool) -> None:
    from ragkit.core.arrow_io import to_numpy

    array = pa.array(values, pa.bool_()).slice(min(start, len(values)))  # a slice: the bits start mid-byte
    assert to_numpy(array, fill=fill).tolist() == array.fill_null(fill).to_pylist()
    chunked = pa.chunked_array([array, array], pa.bool_())
    assert to_numpy(chunked, fill=fill).tolist() == chunked.fill_null(fill).to_pylist()
