"""Content hashes of files: sha256 (model weights, older collections) and XXH3-128 (collection files)."""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["sha256_file", "sha256_files", "xxh3_file", "xxh3_files"]

# files below this size are hashed in the calling thread: a thread's start costs more than their hash
_PARALLEL_BYTES = 1 << 20


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def sha256_files(paths: Sequence[Path], sizes: Sequence[int] | None = None) -> list[str]:
    """Hex sha256 of each file, in order; files of a megabyte or more are hashed in parallel threads
    (one per core, at most four: hashlib releases the GIL while it hashes), the largest first.
    ``sizes``: the files' sizes when the caller already has them."""
    sizes = [os.path.getsize(p) for p in paths] if sizes is None else sizes
    large = sorted((i for i, size in enumerate(sizes) if size >= _PARALLEL_BYTES), key=lambda i: -sizes[i])
    workers = min(len(large), os.cpu_count() or 1, 4)
    digests: list[str] = [""] * len(paths)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ragkit-sha256") as pool:
            for i, digest in zip(large, pool.map(sha256_file, [paths[i] for i in large]), strict=True):
                digests[i] = digest
    for i, path in enumerate(paths):
        if not digests[i]:
            digests[i] = sha256_file(path)
    return digests


def xxh3_file(path: Path) -> str:
    """Hex XXH3-128 of a file, hashed through a read-only memory map (no copy of its bytes)."""
    import xxhash  # ~1 ms; only opening or saving a collection needs it

    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:  # an empty file cannot be mapped
            return xxhash.xxh3_128_hexdigest(b"")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return xxhash.xxh3_128_hexdigest(mapped)


def xxh3_files(paths: Sequence[Path]) -> list[str]:
    """Hex XXH3-128 of each file, in order (tens of GB/s: one thread, reading the pages is what it costs)."""
    return [xxh3_file(path) for path in paths]
