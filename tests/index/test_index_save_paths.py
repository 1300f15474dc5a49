"""Saving an index takes a str or Path folder, creates it when missing, and reports a bad one as InputError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragkit import BM25Index, FaissIndex
from ragkit.core.errors import InputError

from .conftest import TOKENIZER


def _indexes() -> list[tuple[object, object]]:
    vectors = np.eye(4, dtype=np.float32)
    return [(BM25Index(tokenizer=TOKENIZER).build(["cat dog", "dog"]), ["dog"]),
            (FaissIndex("Flat").build(vectors), vectors[:1])]


@pytest.mark.parametrize("which", [0, 1])
def test_save_to_a_missing_str_folder_and_load_it(tmp_path: Path, which: int) -> None:
    index, query = _indexes()[which]
    folder = str(tmp_path / "new" / "deeper")
    names = index.save(folder)  # type: ignore[attr-defined]
    assert sorted(p.name for p in Path(folder).iterdir()) == sorted(names)
    loaded = type(index).load(folder, index.get_config())  # type: ignore[attr-defined]
    a, b = loaded.search_rows(query, 2)[0], index.search_rows(query, 2)[0]  # type: ignore[attr-defined]
    assert a.rows.tolist() == b.rows.tolist() and len(a) > 0


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("bad", ["file", "not a path"])
def test_a_bad_folder_is_an_input_error(tmp_path: Path, which: int, bad: str) -> None:
    index, _ = _indexes()[which]
    target: object = 42
    if bad == "file":
        target = tmp_path / "taken"
        target.write_text("x")
    with pytest.raises(InputError, match="save"):
        index.save(target)  # type: ignore[attr-defined]
    if bad == "file":
        assert (tmp_path / "taken").read_text() == "x"  # left as it was
