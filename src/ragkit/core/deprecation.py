"""Warnings for import paths that moved (kept working for one release)."""

from __future__ import annotations

import warnings

__all__ = ["warn_moved"]


def warn_moved(old: str, new: str) -> None:
    """Warn (DeprecationWarning, pointing at the importer) that module ``old`` is now ``new``."""
    warnings.warn(f"{old} moved to {new}; the old path is removed in ragkit 0.3. Import from {new}.",
                  DeprecationWarning, stacklevel=3)
