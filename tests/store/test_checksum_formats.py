"""Collection formats 1 (sha256 per file) and 2 (XXH3-128): both open and verify; saving writes format 2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ragkit import Collection, CorruptIndexError, HybridRetriever, IndexFormatError
from ragkit.store.manifest import CHECKSUM, FORMAT_VERSION, seal_manifest

QUERIES = ["cats purr", "which animals have no legs", "loyal pet dog"]


def ranking(collection: Collection) -> list[list[tuple[int, float]]]:
    return [[(h.chunk_row, h.score) for h in hits] for hits in HybridRetriever(collection).search_batch(QUERIES, k=5)]


def manifest_of(root: Path) -> dict[str, Any]:
    return json.loads((root / "manifest.json").read_text())  # type: ignore[no-any-return]


def as_format_1(root: Path) -> None:
    """Rewrite the manifest as ragkit wrote format 1: a sha256 per file instead of an XXH3-128."""
    manifest = manifest_of(root)
    manifest["format_version"] = 1
    manifest["files"] = {rel: {"bytes": e["bytes"], "sha256": hashlib.sha256((root / rel).read_bytes()).hexdigest()}
                         for rel, e in manifest["files"].items()}
    (root / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))


@pytest.fixture
def saved(tmp_path: Path, animal_collection: Collection) -> Path:
    return animal_collection.save(tmp_path / "col")


def test_new_collections_record_xxh3_128_of_every_file(saved: Path) -> None:
    import xxhash

    manifest = manifest_of(saved)
    assert FORMAT_VERSION == 2 and CHECKSUM[2] == "xxh3_128" and manifest["format_version"] == 2
    for rel, entry in manifest["files"].items():
        assert set(entry) == {"bytes", "xxh3_128"}
        assert entry["xxh3_128"] == xxhash.xxh3_128_hexdigest((saved / rel).read_bytes())


def test_a_format_1_collection_opens_verifies_and_searches_the_same(saved: Path, animal_collection: Collection) -> None:
    as_format_1(saved)
    reopened = Collection.open(saved)
    assert ranking(reopened) == ranking(animal_collection)
    reopened.save(saved)  # saving it again writes the current format
    manifest = manifest_of(saved)
    assert manifest["format_version"] == 2 and all("xxh3_128" in e for e in manifest["files"].values())
    assert ranking(Collection.open(saved)) == ranking(animal_collection)


@pytest.mark.parametrize("version", [1, 2])
def test_a_flipped_byte_is_found_by_each_formats_checksum(saved: Path, version: int) -> None:
    if version == 1:
        as_format_1(saved)
    rel = next(r for r in manifest_of(saved)["files"] if r.endswith("chunks.arrow"))
    data = bytearray((saved / rel).read_bytes())
    data[len(data) // 3] ^= 0x40  # same size: only the checksum can tell
    (saved / rel).write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match=f"chunks.arrow: {CHECKSUM[version]} checksum differs"):
        Collection.open(saved)


def test_an_entry_without_its_formats_checksum_is_refused(saved: Path) -> None:
    manifest = manifest_of(saved)  # format 2, but an entry carrying a (correct) sha256 in place of its xxh3_128
    rel = next(iter(manifest["files"]))
    manifest["files"][rel] = {"bytes": manifest["files"][rel]["bytes"],
                              "sha256": hashlib.sha256((saved / rel).read_bytes()).hexdigest()}
    (saved / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))
    with pytest.raises(CorruptIndexError, match="xxh3_128 checksum differs"):
        Collection.open(saved)


@pytest.mark.parametrize("version", [0, -1])
def test_a_format_no_ragkit_wrote_is_refused(saved: Path, version: int) -> None:
    manifest = manifest_of(saved)
    manifest["format_version"] = version
    (saved / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))
    with pytest.raises(IndexFormatError, match=f"format {version}, which no ragkit version wrote; this ragkit reads formats 1 to 2"):
        Collection.open(saved)
