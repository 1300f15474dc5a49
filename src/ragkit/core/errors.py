"""The ragkit exception hierarchy.

Every error ragkit raises on purpose derives from :class:`RagkitError`, and each
subclass also inherits the builtin it refines, so ``except ValueError`` keeps
working in code written before ragkit was adopted.
"""

from __future__ import annotations

__all__ = [
    "RagkitError",
    "ReadOnlyError",
    "ConfigError",
    "InputError",
    "EmptyCorpusError",
    "DimensionMismatchError",
    "FilterError",
    "NotBuiltError",
    "IndexFormatError",
    "CorruptIndexError",
    "ModelMismatchError",
    "ModelIntegrityError",
    "MissingDependencyError",
    "ConflictError",
    "AccessError",
    "ShardUnavailableError",
]


class RagkitError(Exception):
    """Base class of every error raised by ragkit."""


class ConfigError(RagkitError, ValueError):
    """A component was configured with a value it does not accept."""


class InputError(RagkitError, ValueError):
    """Data handed to a component is malformed (wrong type, empty text, bad k...)."""


class EmptyCorpusError(InputError):
    """A collection or index was asked to build from no documents."""


class DimensionMismatchError(InputError):
    """Vectors do not have the dimension the index was built with."""


class FilterError(InputError, KeyError):
    """A metadata filter names an unknown field or uses an unknown operator."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class NotBuiltError(RagkitError, AttributeError):
    """A component was used before it was built, trained or loaded."""


class IndexFormatError(RagkitError, ValueError):
    """A collection folder is incomplete, or written by an unsupported format version."""


class CorruptIndexError(IndexFormatError):
    """A file of a collection does not match the checksum or size its manifest records."""


class ModelMismatchError(RagkitError, ValueError):
    """The embedder used to query differs from the one the index was built with."""


class ModelIntegrityError(RagkitError, RuntimeError):
    """Model weights on disk do not match their published checksum."""


class MissingDependencyError(RagkitError, ImportError):
    """An optional dependency is needed; the message names the pip extra to install."""


class ConflictError(RagkitError, RuntimeError):
    """A save would overwrite a version another writer saved after this one was opened."""


class AccessError(RagkitError, PermissionError):
    """A search on an access-controlled collection was not bound to a principal."""


class ReadOnlyError(RagkitError, TypeError):
    """A change was asked of something that cannot change (a sharded collection, one of its indexes)."""


class ShardUnavailableError(RagkitError, RuntimeError):
    """One or more shards of a served collection failed or timed out; ``failures`` maps each shard to why.

    Raised instead of returning results that silently miss those shards (unless the collection
    was opened to return partial results, which it then reports).
    """

    def __init__(self, message: str, failures: dict[str, str]) -> None:
        super().__init__(message)
        self.failures = dict(failures)
