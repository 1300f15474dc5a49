"""File hashes of a collection: the parallel hash gives each file's own sha256, in order."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ragkit.core.hashing import sha256_file, sha256_files


def test_parallel_hashes_are_each_files_own_in_the_given_order(tmp_path: Path) -> None:
    sizes = [0, 10, 3 << 20, 1 << 20, 5, (1 << 20) - 1, 2 << 20]  # small files hashed inline, large ones in threads
    paths = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    expected = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert sha256_files(paths) == expected
    assert sha256_files(paths, sizes) == expected
    assert [sha256_file(p) for p in paths] == expected
    assert sha256_files([]) == []
