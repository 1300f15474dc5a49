"""Checks of the data handed to :mod:`ragkit.eval`: sequences of ids and run scores.

A bare ``str`` is never read as a sequence of one-character ids, and a score is a real
number (int, float or numpy number), never a bool, a string to parse, a complex or None.
"""

from __future__ import annotations

import numbers
from collections.abc import ValuesView
from typing import Any

import numpy as np

from ragkit.core.errors import InputError
from ragkit.core.validation import as_list

__all__ = ["id_sequence", "real_scores"]

_REAL_KINDS = "iuf"  # numpy dtype kinds of real numbers: signed, unsigned, float (not bool, complex, str, object)
_NESTED = (list, tuple, np.ndarray)


def id_sequence(owner: str, name: str, value: Any, what: str) -> list[Any]:
    """The items of ``value`` (a list, tuple, array or any other ordered iterable, e.g. a generator) as a list.

    ``name`` says which of ``owner``'s inputs it is (``"'query_ids'"``), ``what`` what it holds
    (``"a sequence of query ids"``); both go into the message.

    Raises:
        InputError: ``value`` is a bare ``str`` or ``bytes`` (not read as characters), a set
            (unordered: entries would not line up), or not iterable.
    """
    if isinstance(value, (str, bytes)):
        raise InputError(f"{owner} takes {what} as {name}, not a bare string. Got {value!r} instead.")
    if isinstance(value, (set, frozenset)):
        raise InputError(f"{owner} takes {what} as {name}, in order, not a set. Got {value!r} instead.")
    return as_list(owner, value, f"{what} as {name}")


def real_scores(owner: str, name: str, values: Any) -> np.ndarray:
    """``values`` (an array, or an iterable of ints, floats or numpy real numbers) as a float64 array.

    Arrays are checked by dtype; other iterables by the set of their items' types (one pass
    in C), so no Python loop runs per score. A nested sequence comes back as a 2-D array
    for the caller's shape check. NaN and infinities are left to the caller.

    Raises:
        InputError: a bare string, something not iterable, or an item that is not a real
            number (``bool``, ``str``, ``complex``, ``None``...); the message names ``owner`` and ``name``.
    """
    where = f"{owner}, {name}: scores must be real numbers"
    if isinstance(values, np.ndarray):
        if values.dtype.kind in _REAL_KINDS:
            return values.astype(np.float64, copy=False)
        if values.dtype.kind != "O" or values.ndim != 1:
            raise InputError(f"{where} (int or float). Got an array of dtype {values.dtype}.")
        items = values.tolist()
    else:
        sized = isinstance(values, (list, tuple, ValuesView))  # read twice, as they are: a dict's values need no copy
        items = values if sized else id_sequence(owner, name, values, "a sequence of scores")
    bad = [kind for kind in set(map(type, items)) if not _is_real(kind)]
    if bad and all(issubclass(kind, _NESTED) for kind in bad):
        try:  # one sequence per entry: the caller refuses the shape, or the ragged rows here
            nested = np.asarray(list(items))
        except (TypeError, ValueError):
            raise InputError(f"{where}, one per entry. Got ragged rows.") from None
        if nested.dtype.kind in _REAL_KINDS:
            return nested.astype(np.float64, copy=False)
    if bad:
        value = next(v for v in items if not _is_real(type(v)))
        raise InputError(f"{where} (int, float or numpy numbers; not bool, str, complex or None). "
                         f"Got {value!r} ({type(value).__name__}) instead.")
    try:
        return np.fromiter(items, dtype=np.float64, count=len(items))
    except (OverflowError, TypeError, ValueError):  # an int beyond float range, a Real that float() refuses
        raise InputError(f"{where} that fit in a float64.") from None


def _is_real(kind: type) -> bool:
    return issubclass(kind, numbers.Real) and not issubclass(kind, bool)
