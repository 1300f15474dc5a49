"""Uniform checks for configuration values.

Messages follow one pattern: ``The 'k' parameter of RRFusion must be an int >= 1. Got 0 instead.``

Integers may be Python ints or numpy integers (``np.int64(3)``); they come back as ``int``.
``bool`` is never an int here. Every int must fit in 64 bits (``INT64_MIN .. INT64_MAX``).
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from ragkit.core.errors import ConfigError, InputError

__all__ = ["INT64_MAX", "INT64_MIN", "as_list", "as_path", "check_choice", "check_config", "check_float",
           "check_int", "check_k", "check_role", "check_str", "is_int", "output_folder"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _got(value: Any) -> str:
    return f"Got {value!r} instead."


def _got_typed(value: Any) -> str:
    return f"Got {value!r} ({type(value).__name__}) instead."


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (a Python int or a numpy integer) and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(
    owner: str, name: str, value: Any, *, low: int | None = None, high: int | None = None,
    error: type[Exception] = ConfigError,
) -> int:
    """Return ``value`` as an ``int`` if it is an integer within ``[low, high]`` (and 64 bits); raise ``error`` otherwise.

    numpy integers are accepted; ``bool`` and floats (even ``3.0``) are not.
    """
    bounds = _bounds_text(low, high)
    if not is_int(value):
        hint = f" Pass {int(value)} (an int), not a float." if isinstance(value, float) and value.is_integer() else ""
        raise error(f"The {name!r} parameter of {owner} must be an int{bounds}. {_got_typed(value)}{hint}")
    number = operator.index(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise error(f"The {name!r} parameter of {owner} must be an int{bounds}. {_got(value)}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise error(f"The {name!r} parameter of {owner} must be an int{bounds} that fits in 64 bits. {_got(value)}")
    return number


def check_float(
    owner: str, name: str, value: Any, *, low: float | None = None, high: float | None = None,
    error: type[Exception] = ConfigError,
) -> float:
    """Return ``value`` as float if it is a finite real (int, float or numpy number) within ``[low, high]``."""
    bounds = _bounds_text(low, high)
    number = math.nan
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            number = float(value)
        except (OverflowError, TypeError, ValueError):
            number = math.nan
    if not math.isfinite(number):
        raise error(f"The {name!r} parameter of {owner} must be a finite number{bounds}. {_got(value)}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise error(f"The {name!r} parameter of {owner} must be a number{bounds}. {_got(value)}")
    return number


def check_choice(owner: str, name: str, value: Any, choices: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    try:
        known = value in choices
    except (TypeError, ValueError):  # an unhashable value looked up in a set, or an array
        known = False
    if known and isinstance(value, bool):  # True == 1: a bool is a choice only when listed as one
        known = any(choice is value for choice in choices)
    if not known:
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
    """Validate the number of hits asked of a search (an int or numpy integer >= 1; returned as ``int``)."""
    if type(k) is int and 0 < k <= INT64_MAX:  # the common case, checked per query: check_int's verdict, sooner
        return k
    return check_int(owner, "k", k, low=1, error=InputError)


def as_list(owner: str, items: Any, what: str) -> list[Any]:
    """The items of the iterable ``items`` as a list (``what`` says what ``owner`` takes, for the message).

    Raises:
        InputError: ``items`` is not iterable, or is a single str / bytes or a mapping (whose iteration gives
            characters or keys, never what a caller meant by a list).
    """
    if isinstance(items, (str, bytes, Mapping)):
        kind = "mapping" if isinstance(items, Mapping) else type(items).__name__
        raise InputError(f"{owner} takes {what}, not a single {kind}. {_got_typed(items)}")
    try:
        iterator = iter(items)
    except TypeError:
        raise InputError(f"{owner} takes {what}. {_got_typed(items)}") from None
    return list(iterator)


def as_path(owner: str, path: Any) -> Path:
    """``path`` (a str or an ``os.PathLike`` of str) as a :class:`~pathlib.Path`.

    Raises:
        InputError: anything else (bytes, None, a number...).
    """
    if isinstance(path, (str, os.PathLike)):
        try:
            out = Path(path)
        except TypeError:  # a PathLike whose __fspath__ gives bytes
            pass
        else:
            try:
                os.fsencode(out)
            except UnicodeEncodeError as exc:  # a lone surrogate no file system can name
                raise InputError(f"{owner}: {str(out)!r} is not a valid file name ({exc.reason}).") from None
            return out
    raise InputError(f"{owner} takes a path (str or pathlib.Path). {_got_typed(path)}")


def check_role(owner: str, name: str, value: Any, role: str, methods: Iterable[str]) -> None:
    """Check that ``value`` (the ``name`` parameter of ``owner``) can act as a ``role``: its class has each of ``methods``.

    Looked up on the class, so no property of the instance runs (an embedder's ``dimension`` may load its model).

    Raises:
        ConfigError: a method is missing.
    """
    wanted = list(methods)
    missing = [m for m in wanted if not callable(getattr(type(value), m, None))]
    if missing:
        raise ConfigError(f"The {name!r} parameter of {owner} must be a {role} (with {', '.join(wanted)}). "
                          f"{_got_typed(value)}")


def output_folder(owner: str, directory: str | os.PathLike[str]) -> Path:
    """``directory`` as a :class:`~pathlib.Path`, created (with its parents) when missing.

    Raises:
        InputError: ``directory`` is not a path, or names something that is not a folder (or cannot be made one).
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise InputError(f"{owner} takes a folder path (str or pathlib.Path). {_got_typed(directory)}")
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{owner}: cannot write into {str(path)!r}: {exc.strerror or exc}.") from exc
    return path


def check_config(owner: str, config: Any, known: Iterable[str]) -> dict[str, Any]:
    """The parameters of a ``get_config()`` mapping, for ``owner.from_config``, less its ``"type"``.

    Configs are read back from a collection's manifest, possibly one written by a newer
    ragkit, so every ``from_config`` checks its input here first.

    Raises:
        ConfigError: ``config`` is not a mapping, names another type than ``owner``, or has
            keys ``owner`` does not know (the message names them and the known ones).
    """
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"{owner}.from_config expects a mapping of parameter names to values (what get_config() returns). "
            f"Got {type(config).__name__} instead."
        )
    params = dict(config)
    kind = params.pop("type", owner)
    if kind != owner:
        raise ConfigError(f"This config is for {kind!r}, not {owner!r}; load it with {kind}.from_config.")
    names = list(known)
    unknown = [key for key in params if key not in names]
    if unknown:
        shown = ", ".join(repr(key) for key in sorted(unknown, key=repr))
        raise ConfigError(
            f"Unknown parameter(s) {shown} for {owner} (a config written by a newer ragkit?). "
            f"Valid parameters: {', '.join(map(repr, names))}."
        )
    return params


def _bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
