"""Metadata filters, compiled to a boolean row mask with vectorised Arrow kernels.

A filter is a mapping. Keys are metadata fields (or ``doc_id``); several keys must all
hold. A value is either a literal (equality; for a list field, "contains") or a mapping
of operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists``. ``{"$and": [...]}`` and
``{"$or": [...]}`` combine sub-filters.

A chunk whose document lacks the field matches no condition on it (``$ne`` and ``$nin``
included) except ``{"$exists": False}``.

Values compared are metadata scalars: str, int (64 bits), float or bool (numpy scalars
too). ``$and`` / ``$or`` nest at most :data:`MAX_FILTER_DEPTH` levels.

Example:
    >>> {"lang": "en", "year": {"$gte": 2020}, "$or": [{"tags": "faq"}, {"tags": "howto"}]}  # doctest: +SKIP
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.arrow_io import from_numpy, from_values, to_numpy
from ragkit.core.errors import FilterError, InputError
from ragkit.core.validation import INT64_MAX, INT64_MIN

__all__ = ["Filter", "MAX_FILTER_CONDITIONS", "MAX_FILTER_DEPTH", "check_filter", "filter_mask", "filters_key", "OPERATORS"]

Filter = Mapping[str, Any]
_COMPARE = {"$eq": "equal", "$ne": "not_equal", "$gt": "greater", "$gte": "greater_equal",
            "$lt": "less", "$lte": "less_equal"}
OPERATORS: tuple[str, ...] = (*_COMPARE, "$in", "$nin", "$exists")
_TOP_LEVEL = ("doc_id",)
#: Most levels of ``$and`` / ``$or`` a filter may nest (``{"$and": [{"a": 1}]}`` nests one).
MAX_FILTER_DEPTH = 64
#: Most conditions (field conditions and ``$and`` / ``$or`` entries) a filter may hold.
MAX_FILTER_CONDITIONS = 100_000
_SCALARS = (str, bool, int, float, np.bool_, np.integer, np.floating)
_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother, _short.maxlist, _short.maxdict = 3, 60, 60, 6, 6


def filter_mask(table: pa.Table, filters: Filter | None) -> np.ndarray | None:
    """Boolean mask of the rows of ``table`` (a chunk table) that satisfy ``filters``.

    ``None`` or an empty mapping means no filter and returns ``None``.

    Raises:
        FilterError: unknown field or operator, or a malformed filter (see :func:`check_filter`).
    """
    if filters is None or (isinstance(filters, Mapping) and not filters):
        return None
    check_filter(filters)
    expression = _compile(table, filters)
    return np.asarray(to_numpy(expression, fill=False), dtype=bool)


def check_filter(filters: Any) -> None:
    """Check what can be checked of a filter without a table, iteratively (any depth is safe).

    Raises:
        FilterError: not a mapping; ``$and`` / ``$or`` nested deeper than
            :data:`MAX_FILTER_DEPTH` or not given a non-empty list; more than
            :data:`MAX_FILTER_CONDITIONS` conditions; a value compared that is not a str,
            int, float or bool, an int beyond 64 bits, or a str with a lone surrogate.
    """
    stack: list[tuple[Any, int]] = [(filters, 0)]
    conditions = 0
    while stack:
        node, depth = stack.pop()  # depth first: a filter that refers to itself soon passes the depth bound
        if not isinstance(node, Mapping):
            raise FilterError(f"A filter must be a mapping of field -> condition. Got {_short.repr(node)}.")
        if depth > MAX_FILTER_DEPTH:
            raise FilterError(
                f"The filter nests $and/$or more than {MAX_FILTER_DEPTH} levels deep (or refers to itself); at most "
                f"{MAX_FILTER_DEPTH} are allowed. Flatten it: $and/$or take lists of any length, and $in matches any "
                "of many values."
            )
        conditions += max(len(node), 1)
        if conditions > MAX_FILTER_CONDITIONS:
            raise FilterError(
                f"The filter holds more than {MAX_FILTER_CONDITIONS} conditions (counting repeated sub-filters each "
                "time). Use $in / $nin to match many values of a field in one condition."
            )
        for key, condition in node.items():
            if key in ("$and", "$or"):
                if not isinstance(condition, Sequence) or isinstance(condition, (str, bytes)) or not condition:
                    raise FilterError(f"{key} takes a non-empty list of filters. Got {_short.repr(condition)}.")
                stack.extend((sub, depth + 1) for sub in condition)
            elif isinstance(condition, Mapping):
                for op, operand in condition.items():
                    if op in _COMPARE:
                        _check_value(key, op, operand)
                    elif op in ("$in", "$nin") and isinstance(operand, Sequence) and not isinstance(operand, (str, bytes)):
                        for value in operand:
                            _check_value(key, op, value)
            else:
                _check_value(key, "$eq", condition)


def _check_value(name: Any, op: Any, value: Any) -> None:
    """Refuse a compared value no metadata field can hold (``None`` is left to the compiler's message)."""
    if value is None:
        return
    if not isinstance(value, _SCALARS):
        hint = " Use $in to match any of several values." if isinstance(value, (list, tuple)) else ""
        raise FilterError(
            f"{op} on {name!r} compares with {_short.repr(value)} ({type(value).__name__}); filter values must be "
            f"a str, int, float or bool.{hint}"
        )
    if isinstance(value, (float, np.floating)) and value != value:  # NaN: equal to nothing, unequal to everything
        raise FilterError(f"{op} on {name!r} compares with NaN, which no stored value holds (NaN metadata is refused) and "
                          "which compares unequal to everything; give a number, or use $exists for a missing value.")
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise FilterError(
                f"{op} on {name!r} compares with {_short.repr(value)}, which is not valid Unicode (lone surrogate at "
                f"position {exc.start}); no stored value holds one."
            ) from exc
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and not INT64_MIN <= int(value) <= INT64_MAX:
        raise FilterError(
            f"{op} on {name!r} compares with {value}, which does not fit in 64 bits; metadata ints are in "
            f"[{INT64_MIN}, {INT64_MAX}]."
        )


def _fields(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    fields = {name: table.column(name) for name in _TOP_LEVEL}
    meta_type = table.schema.field("metadata").type
    for i in range(meta_type.num_fields):
        name = meta_type.field(i).name
        fields[name] = pc.struct_field(table.column("metadata"), [i])
    return fields


def _compile(table: pa.Table, filters: Any) -> pa.ChunkedArray:
    if not isinstance(filters, Mapping):
        raise FilterError(f"A filter must be a mapping of field -> condition. Got {_short.repr(filters)}.")
    fields = _fields(table)
    result: pa.ChunkedArray | pa.Array = from_numpy(np.ones(table.num_rows, dtype=bool))
    for key, condition in filters.items():
        if key in ("$and", "$or"):
            if not isinstance(condition, Sequence) or isinstance(condition, str) or not condition:
                raise FilterError(f"{key} takes a non-empty list of filters. Got {_short.repr(condition)}.")
            parts = [_compile(table, sub) for sub in condition]
            combined = parts[0]
            for part in parts[1:]:
                combined = pc.and_kleene(combined, part) if key == "$and" else pc.or_kleene(combined, part)
            result = pc.and_kleene(result, combined)
            continue
        if key not in fields:
            known = ", ".join(sorted(fields)) or "(none: documents have no metadata)"
            raise FilterError(f"Unknown filter field {key!r}. Fields of this collection: {known}.")
        result = pc.and_kleene(result, _condition(key, fields[key], condition))
    return result  # type: ignore[return-value]


def _condition(name: str, column: pa.ChunkedArray, condition: Any) -> Any:
    if not isinstance(condition, Mapping):
        return _compare(name, column, "$eq", condition)
    if not condition:
        raise FilterError(f"Empty condition for field {name!r}.")
    out = None
    for op, operand in condition.items():
        term = _compare(name, column, op, operand)
        out = term if out is None else pc.and_kleene(out, term)
    return out


def _compare(name: str, column: pa.ChunkedArray, op: str, operand: Any) -> Any:
    is_list = pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
    present = pc.is_valid(column)
    if op == "$exists":
        if not isinstance(operand, bool):
            raise FilterError(f"$exists on {name!r} takes True or False. Got {_short.repr(operand)}.")
        return present if operand else pc.invert(present)
    if operand is None:
        raise FilterError(f"Cannot compare {name!r} with None; use {{'$exists': False}} for missing values.")
    if op in ("$in", "$nin"):
        if isinstance(operand, (str, bytes)) or not isinstance(operand, Sequence):
            raise FilterError(f"{op} on {name!r} takes a list of values. Got {_short.repr(operand)}.")
        hit = _isin(name, column, list(operand), is_list)
        return hit if op == "$in" else pc.and_kleene(pc.invert(hit), present)
    if op not in _COMPARE:
        raise FilterError(f"Unknown filter operator {op!r} on {name!r}; valid: {', '.join(OPERATORS)}.")
    if is_list:
        if op not in ("$eq", "$ne"):
            raise FilterError(f"{op} does not apply to list field {name!r}; use $eq, $ne, $in or $nin.")
        hit = _isin(name, column, [operand], is_list)
        return hit if op == "$eq" else pc.and_kleene(pc.invert(hit), present)
    try:
        return getattr(pc, _COMPARE[op])(column, _scalar(operand))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FilterError(f"Cannot compare field {name!r} ({column.type}) with {_short.repr(operand)} using {op}.") from exc


def _scalar(value: Any) -> Any:
    """``pa.scalar(value)``, without pyarrow's pandas-aware conversion for str, bool, int and float."""
    return from_values([value])[0] if type(value) in (str, bool, int, float) else pa.scalar(value)


def _isin(name: str, column: pa.ChunkedArray, values: list[Any], is_list: bool) -> Any:
    if not values:
        return from_numpy(np.zeros(len(column), dtype=bool))
    if any(v is None for v in values):
        raise FilterError(f"Cannot match {name!r} against None; use {{'$exists': False}} for missing values.")
    try:
        if is_list:  # any element of the row's list is among values
            flat = pc.list_flatten(column)
            parents = pc.list_parent_indices(column)
            member = to_numpy(pc.is_in(flat, value_set=from_values(values)))
            rows = np.zeros(len(column), dtype=bool)
            rows[np.asarray(parents)[member]] = True
            return from_numpy(rows)
        return pc.is_in(column, value_set=from_values(values))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FilterError(f"Cannot match field {name!r} ({column.type}) against {_short.repr(values)}.") from exc


def filters_key(filters: Mapping[str, Any] | None) -> str | None:
    """Canonical JSON of a metadata filter (``None`` for no filter); numpy scalars count as their Python values.

    Raises:
        FilterError: a malformed filter (see :func:`check_filter`).
        InputError: a filter that cannot be written as JSON.
    """
    if not filters:
        return None
    check_filter(filters)
    try:
        return json.dumps(filters, sort_keys=True, separators=(",", ":"), default=_plain)
    except (TypeError, ValueError) as exc:
        raise InputError(f"The filter {_short.repr(filters)} cannot be written as JSON ({exc}); use plain JSON values.") from exc


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
