"""Reading one JSON record of a corpus file: shared by the BEIR loader and the JSONL source."""

from __future__ import annotations

import json
from typing import Any

from ragkit.core.errors import InputError

__all__ = ["json_object", "record_id", "text_field"]


def json_object(line: str | bytes, where: str) -> dict[str, Any]:
    """The JSON object on ``line``; ``where`` (file and line) starts the error message.

    Raises:
        InputError: the line is not valid JSON or not an object.
    """
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg}).") from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}.")
    return record


def record_id(record: dict[str, Any], field: str, where: str) -> str:
    """The record's id in ``field`` (integers become strings).

    Raises:
        InputError: missing, empty or not a string or integer.
    """
    value = record.get(field)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: {field!r} must be a non-empty string. Got {value!r} instead.")
    return value


def text_field(record: dict[str, Any], name: str, where: str) -> str:
    """The string in ``name`` ("" when absent or null).

    Raises:
        InputError: the value is not a string.
    """
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where}: {name!r} must be a string. Got {type(value).__name__} instead.")
    return value
