from __future__ import annotations

import pytest

import ragkit
from ragkit import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.ConfigError, ValueError),
        (errors.InputError, ValueError),
        (errors.EmptyCorpusError, ValueError),
        (errors.DimensionMismatchError, ValueError),
        (errors.FilterError, KeyError),
        (errors.NotBuiltError, AttributeError),
        (errors.IndexFormatError, ValueError),
        (errors.CorruptIndexError, ValueError),
        (errors.ModelMismatchError, ValueError),
        (errors.ModelIntegrityError, RuntimeError),
        (errors.MissingDependencyError, ImportError),
    ],
)
def test_every_error_is_a_ragkit_error_and_its_builtin(cls: type, builtin: type) -> None:
    assert issubclass(cls, errors.RagkitError)
    assert issubclass(cls, builtin)
    assert getattr(ragkit, cls.__name__) is cls


def test_filter_error_message_is_not_quoted_like_a_key_error() -> None:
    assert str(errors.FilterError("Unknown filter field 'x'")) == "Unknown filter field 'x'"


def test_corrupt_is_a_format_error() -> None:
    assert issubclass(errors.CorruptIndexError, errors.IndexFormatError)
