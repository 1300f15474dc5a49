"""Uniform checks for configuration values.

Messages follow one pattern: ``The 'k' parameter of RRFusion must be an int >= 1. Got 0 instead.``
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from ragkit.core.errors import ConfigError, InputError


def _got(value: Any) -> str:
    return f"Got {value!r} instead."


def check_int(
    owner: str, name: str, value: Any, *, low: int | None = None, high: int | None = None,
    error: type[Exception] = ConfigError,
) -> int:
    """Return ``value`` if it is an int within ``[low, high]``; raise ``error`` otherwise."""
    bounds = _bounds_text(low, high)
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"The {name!r} parameter of {owner} must be an int{bounds}. {_got(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise error(f"The {name!r} parameter of {owner} must be an int{bounds}. {_got(value)}")
    return value


def check_float(
    owner: str, name: str, value: Any, *, low: float | None = None, high: float | None = None,
    error: type[Exception] = ConfigError,
) -> float:
    """Return ``value`` as float if it is a finite real within ``[low, high]``."""
    bounds = _bounds_text(low, high)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise error(f"The {name!r} parameter of {owner} must be a finite number{bounds}. {_got(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise error(f"The {name!r} parameter of {owner} must be a number{bounds}. {_got(value)}")
    return float(value)


def check_choice(owner: str, name: str, value: Any, choices: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"The {name!r} parameter of {owner} must be one of {allowed}. {_got(value)}")
    return value


def check_str(owner: str, name: str, value: Any, *, allow_empty: bool = False) -> str:
    """Return ``value`` if it is a (non-empty unless allowed) string."""
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        kind = "a string" if allow_empty else "a non-empty string"
        raise ConfigError(f"The {name!r} parameter of {owner} must be {kind}. {_got(value)}")
    return value


def check_k(owner: str, k: Any) -> int:
    """Validate the number of hits asked of a search."""
    return check_int(owner, "k", k, low=1, error=InputError)


def _bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
