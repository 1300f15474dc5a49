"""Manifests that list too little, typed values that are not what they seem, lock files that are links, a full disk mid-save."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ragkit import Collection, CorruptIndexError, HybridRetriever
from ragkit.store import collect_garbage, folder
from ragkit.store.manifest import seal_manifest


@pytest.fixture
def saved(tmp_path: Path, animal_collection: Collection) -> Path:
    return animal_collection.save(tmp_path / "col")


def manifest_of(root: Path) -> dict[str, Any]:
    return json.loads((root / "manifest.json").read_text())  # type: ignore[no-any-return]


def reseal(root: Path, change: Any) -> None:
    """Change the manifest and seal it again, as someone who knows the format would."""
    manifest = manifest_of(root)
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))


def entries(root: Path) -> set[str]:
    return {p.name for p in root.iterdir()}


# -- typed values -------------------------------------------------------------------
def test_a_boolean_format_version_is_refused(saved: Path) -> None:
    reseal(saved, lambda m: m.update(format_version=True))  # True == 1 in Python
    with pytest.raises(CorruptIndexError, match="no integer format_version"):
        Collection.open(saved)


@pytest.mark.parametrize("key", ["rows", "chunks"])
def test_a_boolean_row_count_is_refused(saved: Path, key: str) -> None:
    def change(m: dict[str, Any]) -> None:
        m["counts"].pop("rows")
        m["counts"][key] = True  # legacy manifests count rows as "chunks"

    reseal(saved, change)
    with pytest.raises(CorruptIndexError, match="row count True is not a non-negative int"):
        Collection.open(saved)


def test_a_boolean_file_size_is_refused(saved: Path, tmp_path: Path) -> None:
    rel = next(r for r in manifest_of(saved)["files"] if r.endswith("rows.arrow"))
    reseal(saved, lambda m: m["files"][rel].update(bytes=True))
    with pytest.raises(CorruptIndexError, match="rows.arrow' is malformed"):
        Collection.open(saved)


# -- the manifest must list what the version reads ----------------------------------
def test_a_manifest_listing_no_files_is_refused(saved: Path) -> None:
    data_dir = manifest_of(saved)["data_dir"]
    reseal(saved, lambda m: m.update(files={}))
    for verify in (True, False):
        with pytest.raises(CorruptIndexError, match=f"'{data_dir}/chunks.arrow' is not listed in 'files'"):
            Collection.open(saved, verify=verify)


@pytest.mark.parametrize("name", ["rows.arrow", "vectors.faiss", "slots.arrow", "faiss_meta.json", "bm25_postings.arrow"])
def test_a_manifest_missing_one_file_names_it(saved: Path, name: str) -> None:
    rel = next(r for r in manifest_of(saved)["files"] if r.endswith("/" + name))
    reseal(saved, lambda m: m["files"].pop(rel))
    with pytest.raises(CorruptIndexError, match=f"'{rel}' is not listed in 'files'"):
        Collection.open(saved, verify=False)


def test_an_index_entry_without_its_file_list_is_refused(saved: Path) -> None:
    reseal(saved, lambda m: m["indexes"]["vector"].pop("files"))
    with pytest.raises(CorruptIndexError, match="index 'vector' does not list its files"):
        Collection.open(saved)


def test_an_index_file_list_that_drops_a_file_is_refused(saved: Path) -> None:
    def change(m: dict[str, Any]) -> None:
        dropped = m["indexes"]["vector"]["files"].pop(0)
        m["files"].pop(f"{m['data_dir']}/{dropped}")

    reseal(saved, change)
    with pytest.raises(CorruptIndexError, match="vectors.faiss: the file is in the data folder but manifest.json does not list it"):
        Collection.open(saved)


def test_a_file_the_manifest_does_not_list_is_refused(saved: Path) -> None:
    data_dir = manifest_of(saved)["data_dir"]
    (saved / data_dir / "vector" / "extra.json").write_text("{}")
    with pytest.raises(CorruptIndexError, match=f"{data_dir}/vector/extra.json: the file is in the data folder"):
        Collection.open(saved)


def test_a_listed_file_outside_the_data_folder_is_refused(saved: Path) -> None:
    reseal(saved, lambda m: m["files"].update({".lock": {"bytes": 0, "xxh3_128": "0"}}))
    with pytest.raises(CorruptIndexError, match="file '.lock' is outside the data folder"):
        Collection.open(saved, verify=False)


# -- lock files ------------------------------------------------------------------------
def test_a_writer_lock_that_is_a_symlink_is_refused_and_nothing_is_created(saved: Path, tmp_path: Path,
                                                                          animal_collection: Collection) -> None:
    target = tmp_path / "elsewhere" / "planted"
    target.parent.mkdir()
    (saved / ".lock").unlink()
    (saved / ".lock").symlink_to(target)
    before = manifest_of(saved)
    with pytest.raises(CorruptIndexError, match=r"\.lock is a symbolic link"):
        animal_collection.save(saved)
    with pytest.raises(CorruptIndexError, match=r"\.lock is a symbolic link"):
        collect_garbage(saved)
    assert not target.exists() and list(target.parent.iterdir()) == []
    assert manifest_of(saved) == before  # the refused save changed nothing


def test_a_reader_lock_that_is_a_symlink_is_refused_and_nothing_is_created(saved: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "planted"
    target.parent.mkdir()
    lock = saved / manifest_of(saved)["data_dir"] / ".readers.lock"
    lock.unlink()
    lock.symlink_to(target)
    with pytest.raises(CorruptIndexError, match=r"\.readers\.lock is a symbolic link"):
        Collection.open(saved)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_lock_that_is_a_fifo_is_refused_without_blocking(saved: Path) -> None:
    lock = saved / manifest_of(saved)["data_dir"] / ".readers.lock"
    lock.unlink()
    os.mkfifo(lock)
    with pytest.raises(CorruptIndexError, match="is not a regular file"):
        Collection.open(saved)


def test_a_data_folder_without_a_reader_lock_is_pinned_all_the_same(saved: Path) -> None:
    data_dir = manifest_of(saved)["data_dir"]
    (saved / data_dir / ".readers.lock").unlink()  # as saved before data folders were born with one
    with Collection.open(saved) as reader:
        assert (saved / data_dir / ".readers.lock").is_file()
        with Collection.open(saved) as writer:
            writer.delete(doc_ids=["fish"])
            writer.save(saved)
        assert (saved / data_dir).is_dir(), "a version a reader holds was removed"
        assert HybridRetriever(reader).search("fish", k=3)
    assert collect_garbage(saved) == [] and not (saved / data_dir).exists()


# -- a full disk between publishing the data folder and the manifest ------------------
class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_writing_the_manifest_leaves_nothing_behind(saved: Path, animal_collection: Collection,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = (saved / "manifest.json").read_bytes()
    listing = entries(saved)
    real_open = open

    def open_on_a_full_disk(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == ".tmp-manifest.json":
            real_open(path, *args, **kwargs).close()  # the file is created, then the write fails
            return _FullDisk()
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(folder, "open", open_on_a_full_disk, raising=False)
    animal_collection.delete(doc_ids=["fish"])
    with pytest.raises(OSError, match="No space left"):
        animal_collection.save(saved)
    monkeypatch.undo()
    assert (saved / "manifest.json").read_bytes() == before
    assert entries(saved) == listing  # no new data folder, no staged manifest
    with Collection.open(saved) as reopened:
        assert "fish#0" in reopened.chunk_ids()
    animal_collection.save(saved)  # with space again, the same collection saves
    with Collection.open(saved) as reopened:
        assert "fish#0" not in reopened.chunk_ids()


def test_a_failure_after_the_manifest_was_replaced_keeps_the_new_version(saved: Path, animal_collection: Collection,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real = folder.fsync_path
    calls = {"root": 0}

    def fsync(path: Path) -> None:
        if path == saved:
            calls["root"] += 1
            if calls["root"] == 2:  # the fsync after the manifest's replace
                raise OSError(errno.EIO, "I/O error")
        real(path)

    monkeypatch.setattr(folder, "fsync_path", fsync)
    animal_collection.delete(doc_ids=["fish"])
    with pytest.raises(OSError, match="I/O error"):
        animal_collection.save(saved)
    monkeypatch.undo()
    data_dir = manifest_of(saved)["data_dir"]
    assert (saved / data_dir).is_dir()  # published: never taken back
    with Collection.open(saved) as reopened:
        assert "fish#0" not in reopened.chunk_ids()


def test_leftovers_of_an_interrupted_publish_are_collected(saved: Path, animal_collection: Collection) -> None:
    current = manifest_of(saved)["data_dir"]
    stray = saved / "data-0123456789abcdef"
    (stray / "vector").mkdir(parents=True)
    (stray / "chunks.arrow").write_bytes(b"partial")
    (stray / ".readers.lock").touch()
    (saved / ".tmp-manifest.json").write_text("{")
    assert collect_garbage(saved) == []
    assert entries(saved) == {".lock", "manifest.json", current}
    (stray / "vector").mkdir(parents=True)
    (saved / ".tmp-manifest.json").write_text("{")
    saved_to = animal_collection.save(saved)
    assert entries(saved_to) == {".lock", "manifest.json", manifest_of(saved)["data_dir"]}
