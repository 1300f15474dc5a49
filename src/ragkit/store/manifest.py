"""``manifest.json``: what a collection folder holds, checked before anything is read."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any, TypeGuard

from ragkit.core.errors import CorruptIndexError, IndexFormatError
from ragkit.core.hashing import sha256_files, xxh3_file, xxh3_files

__all__ = ["CHECKSUM", "FORMAT", "FORMAT_VERSION", "MANIFEST", "READERS_LOCK", "check_listing", "describe_file", "describe_files", "is_int",
           "read_manifest", "resolve_member", "seal_manifest", "verify_files"]

FORMAT = "ragkit-collection"
FORMAT_VERSION = 2
#: The checksum of every file each format version records: format 1, sha256; format 2, XXH3-128, which reads at
#: memory speed (a tenth of sha256's time). Both detect damage; neither could detect a deliberate edit by itself,
#: since whoever can rewrite a file can rewrite the manifest beside it (see docs/persistence.md#checksums).
CHECKSUM = {1: "sha256", 2: "xxh3_128"}
MANIFEST = "manifest.json"
#: The readers' lock file in every data folder: the one file there the manifest does not list.
READERS_LOCK = ".readers.lock"
#: The largest manifest accepted; real ones are a few kilobytes.
_MAX_MANIFEST_BYTES = 16 << 20
_SEAL = "manifest_sha256"


def is_int(value: Any) -> TypeGuard[int]:
    """``value`` is an int and not a bool (``True`` is an int in Python; a manifest's ``true`` is no count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != _SEAL}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def seal_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with a sha256 of its own content, so an edited or bit-flipped manifest is detected."""
    return {**manifest, _SEAL: _digest(manifest)}


def describe_file(root: Path, relative: str) -> dict[str, Any]:
    """Size and checksum of a file of the collection, as the manifest records them."""
    path = root / relative
    return {"bytes": path.stat().st_size, CHECKSUM[FORMAT_VERSION]: xxh3_file(path)}


def describe_files(root: Path, relatives: list[str]) -> list[dict[str, Any]]:
    """:func:`describe_file` of each file."""
    sizes = [(root / r).stat().st_size for r in relatives]
    digests = xxh3_files([root / r for r in relatives])
    return [{"bytes": size, CHECKSUM[FORMAT_VERSION]: digest} for size, digest in zip(sizes, digests, strict=True)]


def read_manifest(root: Path) -> dict[str, Any]:
    """Load and check the manifest of the collection at ``root``.

    Raises:
        IndexFormatError: no manifest (not a collection, or never finished saving), or a
            format version this ragkit does not read.
        CorruptIndexError: the manifest is not valid JSON or lacks required keys.
    """
    path = root / MANIFEST
    if not root.is_dir():
        raise IndexFormatError(f"{root} is not a folder; expected a ragkit collection folder.")
    if not path.is_file():
        raise IndexFormatError(
            f"{root} has no {MANIFEST}: it is not a ragkit collection, or its first save never "
            "completed. Rebuild it with build_collection(...).save(path)."
        )
    if path.stat().st_size > _MAX_MANIFEST_BYTES:
        raise CorruptIndexError(f"{MANIFEST}: {path.stat().st_size} bytes is far larger than any manifest.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptIndexError(f"{MANIFEST} in {root} is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorruptIndexError(f"{MANIFEST} in {root} is not a ragkit collection manifest.")
    if manifest.get(_SEAL) != _digest(manifest):
        raise CorruptIndexError(
            f"{MANIFEST} in {root}: its content does not match its recorded sha256 (the file was edited or "
            "corrupted); restore it or rebuild the collection."
        )
    version = manifest.get("format_version")
    if not is_int(version):
        raise CorruptIndexError(f"{MANIFEST} in {root} has no integer format_version.")
    if version > FORMAT_VERSION:
        raise IndexFormatError(
            f"{root} was written in collection format {version}, newer than this ragkit reads "
            f"({FORMAT_VERSION}). Upgrade ragkit (pip install -U ragkit) to open it."
        )
    if version not in CHECKSUM:
        raise IndexFormatError(f"{root} uses collection format {version}, which no ragkit version wrote; "
                               f"this ragkit reads formats {min(CHECKSUM)} to {FORMAT_VERSION}.")
    for key, kind in (("files", dict), ("indexes", dict), ("counts", dict), ("data_dir", str)):
        if not isinstance(manifest.get(key), kind):
            raise CorruptIndexError(f"{MANIFEST} in {root}: key {key!r} is missing or malformed.")
    return manifest


def resolve_member(root: Path, relative: Any) -> Path:
    """The path of a file named in the manifest, refusing names that leave ``root``.

    Raises:
        CorruptIndexError: absolute paths, ``..`` parts, or links leading outside.
    """
    if not isinstance(relative, str) or not relative:
        raise CorruptIndexError(f"{MANIFEST}: file name {relative!r} is not a relative path.")
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts or "\\" in relative:
        raise CorruptIndexError(f"{MANIFEST}: file name {relative!r} escapes the collection folder.")
    path = root / relative
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        raise CorruptIndexError(f"{MANIFEST}: file {relative!r} resolves outside the collection folder.")
    return path


def verify_files(root: Path, files: dict[str, Any], *, checksums: bool, format_version: int = FORMAT_VERSION) -> None:
    """Check every file the manifest lists exists with the recorded size (and the checksum its ``format_version``
    records: :data:`CHECKSUM`).

    Raises:
        CorruptIndexError: naming the first file that is missing, truncated or altered.
    """
    paths = []
    for relative, expected in files.items():
        path = resolve_member(root, relative)
        if not isinstance(expected, dict) or not is_int(expected.get("bytes")) or expected["bytes"] < 0:
            raise CorruptIndexError(f"{MANIFEST}: entry for {relative!r} is malformed.")
        if not path.is_file():
            raise CorruptIndexError(f"{relative}: file is missing from {root}; restore it or rebuild the collection.")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise CorruptIndexError(
                f"{relative}: file has {size} bytes, the manifest records {expected['bytes']} "
                "(truncated or replaced); restore it or rebuild the collection."
            )
        paths.append(path)
    if not checksums:
        return
    # every file hashed, then the first that differs, in the manifest's order, named
    algorithm = CHECKSUM[format_version]
    sizes = [e["bytes"] for e in files.values()]
    digests = sha256_files(paths, sizes) if algorithm == "sha256" else xxh3_files(paths)
    for (relative, expected), digest in zip(files.items(), digests, strict=True):
        if digest != expected.get(algorithm):
            raise CorruptIndexError(
                f"{relative}: {algorithm} checksum differs from the manifest (the file was modified or corrupted); "
                "restore it or rebuild the collection."
            )


def check_listing(root: Path, data_dir: str, files: dict[str, Any], needed: list[str]) -> None:
    """Check the manifest lists every file the version needs, only files of its data folder, and every file there.

    ``needed``: the files (relative to ``root``) the version reads. Call after
    :func:`verify_files` (which names a missing data folder's first file).

    Raises:
        CorruptIndexError: naming a needed file the manifest omits, a listed file outside the
            data folder, or a file in the data folder the manifest does not list.
    """
    for relative in needed:
        if relative not in files:
            raise CorruptIndexError(f"{MANIFEST}: {relative!r} is not listed in 'files', but the version reads it (the manifest "
                                    "was edited or damaged); restore it or rebuild the collection.")
    prefix = f"{data_dir}/"
    for relative in files:
        if not relative.startswith(prefix):
            raise CorruptIndexError(f"{MANIFEST}: file {relative!r} is outside the data folder {data_dir!r}.")
    folder = resolve_member(root, data_dir)
    for parent, _, names in os.walk(folder):
        for name in names:
            relative = Path(parent, name).relative_to(root).as_posix()
            if relative not in files and relative != f"{prefix}{READERS_LOCK}":
                raise CorruptIndexError(f"{relative}: the file is in the data folder but {MANIFEST} does not list it (the "
                                        "manifest was edited or the folder was changed); restore it or rebuild the collection.")
