"""Damage to any file of a collection is detected on open, with an error naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit import Collection, CorruptIndexError, HybridRetriever, IndexFormatError
from ragkit.store.manifest import seal_manifest


@pytest.fixture
def saved(tmp_path: Path, animal_collection: Collection) -> Path:
    animal_collection.delete(doc_ids=["fish"])  # so rows.arrow records a deletion
    return animal_collection.save(tmp_path / "col")


def collection_files(root: Path) -> list[str]:
    manifest = json.loads((root / "manifest.json").read_text())
    return sorted(manifest["files"])


def expect_named_error(root: Path, name: str) -> None:
    with pytest.raises(IndexFormatError) as info:  # CorruptIndexError, or IndexFormatError for a missing manifest
        collection = Collection.open(root)
        HybridRetriever(collection).search("cats")  # reached only if open missed the damage
    assert name in str(info.value), str(info.value)


def test_every_file_is_covered_by_the_manifest(saved: Path) -> None:
    on_disk = sorted(p.relative_to(saved).as_posix() for p in saved.rglob("*")
                     if p.is_file() and p.name not in (".lock", ".readers.lock", "manifest.json"))
    assert on_disk == collection_files(saved)
    assert len(on_disk) == 8  # chunks, rows, 3 BM25 files, 3 FAISS files (a flat index holds the exact vectors itself)


@pytest.mark.parametrize("cut", ["empty", "half", "one byte short"])
def test_truncating_any_file_is_detected(saved: Path, cut: str) -> None:
    for rel in [*collection_files(saved), "manifest.json"]:
        path = saved / rel
        original = path.read_bytes()
        size = {"empty": 0, "half": len(original) // 2, "one byte short": len(original) - 1}[cut]
        if rel == "manifest.json" and cut == "one byte short":
            size -= 1  # the last byte is a newline outside the JSON value: dropping it changes nothing
        path.write_bytes(original[:size])
        expect_named_error(saved, Path(rel).name)
        path.write_bytes(original)
    Collection.open(saved).close()  # restored: opens again


@pytest.mark.parametrize("where", [0, 0.5, -1])
def test_flipping_a_bit_anywhere_is_detected(saved: Path, where: float) -> None:
    for rel in [*collection_files(saved), "manifest.json"]:
        path = saved / rel
        original = path.read_bytes()
        data = bytearray(original)
        at = int(where * (len(data) - 1)) if where >= 0 else len(data) - 1
        if rel == "manifest.json" and where == -1:
            at = len(data) - 2  # the last byte is a newline outside the JSON value
        data[at] ^= 0x04
        path.write_bytes(bytes(data))
        expect_named_error(saved, Path(rel).name)
        path.write_bytes(original)


def test_deleting_any_file_is_detected(saved: Path) -> None:
    for rel in [*collection_files(saved), "manifest.json"]:
        path = saved / rel
        original = path.read_bytes()
        path.unlink()
        expect_named_error(saved, Path(rel).name)
        path.write_bytes(original)


def test_deleting_the_data_folder_is_detected(saved: Path) -> None:
    import shutil

    (data,) = [p for p in saved.iterdir() if p.name.startswith("data-")]
    shutil.rmtree(data)
    with pytest.raises(CorruptIndexError, match="missing"):
        Collection.open(saved)


def reseal(root: Path, change: object) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)  # type: ignore[operator]
    (root / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))


def test_sizes_in_the_manifest_are_checked_before_reading(saved: Path) -> None:
    rel = next(r for r in collection_files(saved) if r.endswith("chunks.arrow"))
    reseal(saved, lambda m: m["files"][rel].update(bytes=1 << 50))
    with pytest.raises(CorruptIndexError, match=r"chunks.arrow: file has \d+ bytes, the manifest records 1125899906842624"):
        Collection.open(saved)


def test_an_absurd_row_count_is_refused_without_allocating(saved: Path) -> None:
    reseal(saved, lambda m: m["counts"].update(rows=10**15))
    with pytest.raises(CorruptIndexError, match="chunks.arrow: holds 10 chunks, the manifest records 1000000000000000"):
        Collection.open(saved)


def test_a_link_leading_outside_the_folder_is_refused(saved: Path, tmp_path: Path) -> None:
    rel = next(r for r in collection_files(saved) if r.endswith("rows.arrow"))
    outside = tmp_path / "outside.arrow"
    outside.write_bytes((saved / rel).read_bytes())
    (saved / rel).unlink()
    (saved / rel).symlink_to(outside)
    with pytest.raises(CorruptIndexError, match="resolves outside the collection folder"):
        Collection.open(saved)


def test_a_data_folder_outside_the_collection_is_refused(saved: Path) -> None:
    reseal(saved, lambda m: m.update(data_dir="../elsewhere"))
    with pytest.raises(CorruptIndexError, match="escapes the collection folder"):
        Collection.open(saved)
