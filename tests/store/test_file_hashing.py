"""File hashes: the parallel sha256 and the memory-mapped XXH3-128 give each file its own hash, in order."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ragkit.core.hashing import sha256_file, sha256_files, xxh3_file, xxh3_files


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


def test_xxh3_of_a_mapped_file_is_the_hash_of_its_bytes(tmp_path: Path) -> None:
    import xxhash

    sizes = [0, 1, 4095, 4096, 3 << 20]  # the empty file cannot be memory-mapped: hashed as b""
    paths = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    expected = [xxhash.xxh3_128_hexdigest(p.read_bytes()) for p in paths]
    assert xxh3_files(paths) == expected == [xxh3_file(p) for p in paths]
    assert len(set(expected)) == len(expected) and all(len(h) == 32 for h in expected)
