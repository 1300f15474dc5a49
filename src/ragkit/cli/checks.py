"""Checks of command-line values the library does not see (or sees too late): sizes in MB, paths written at the end.

Each raises a :class:`~ragkit.RagkitError` naming the flag, what it accepts and what it got; ``ragkit.cli.main``
prints it as one line and exits with status 2. Output paths are checked before any work starts, so a typo in
``--report`` does not cost a whole build.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.validation import INT64_MAX

__all__ = ["megabytes", "output_file", "output_folder", "same_or_inside"]

_MB = 2**20


def megabytes(flag: str, value: float) -> int:
    """``value`` megabytes as bytes (at most ``INT64_MAX``).

    Raises:
        ConfigError: ``value`` is not a finite number of at least one byte (``0`` or less, NaN, infinity).
    """
    if not math.isfinite(value) or value * _MB < 1:
        raise ConfigError(f"{flag} must be a finite number of megabytes > 0 (at least one byte, {1 / _MB:.3g}). "
                          f"Got {value!r} instead.")
    return min(int(value * _MB), INT64_MAX)


def output_file(flag: str, path: Path) -> Path:
    """``path``, a file the command will write: its folder exists and can be written, and it is not itself a folder.

    Raises:
        InputError: ``path`` is a folder, its parent is missing, is not a folder, or cannot be written.
    """
    if path.is_dir():
        raise InputError(f"{flag} {path}: that is a folder; give the path of a file to write (e.g. {path / 'report.json'}).")
    parent = path.parent
    if not parent.exists():
        raise InputError(f"{flag} {path}: its folder {parent} does not exist; create it first or give another path.")
    if not parent.is_dir():
        raise InputError(f"{flag} {path}: {parent} is not a folder; give the path of a file in a folder.")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{flag} {path}: permission denied; give a path this user can write.")
    return path


def output_folder(flag: str, path: Path) -> Path:
    """``path``, a folder the command will create (with its parents) or write into.

    Raises:
        InputError: ``path`` or the nearest of its parents that exists is not a folder, or cannot be written.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {path}: that is a file, not a folder; give a folder path.")
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{flag} {path}: {existing} is a file, so no folder can be made inside it; give a folder path.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: permission denied in {existing}; give a folder this user can write.")
    return path


def same_or_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both resolved; neither needs to exist)."""
    a, b = path.resolve(), folder.resolve()
    return a == b or b in a.parents
