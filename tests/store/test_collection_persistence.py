"""Saving and opening collections: identical results, atomic saves, damage detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ragkit
from ragkit import Collection, CorruptIndexError, HybridRetriever, IndexFormatError, ModelMismatchError
from ragkit.store.manifest import describe_file, seal_manifest
from ragkit.testing import HashEmbedder

QUERIES = ["cats purr", "which animals have no legs", "birds at dawn", "loyal pet dog"]


def results(collection: Collection, **filters: object) -> list[list[tuple[int, float]]]:
    retriever = HybridRetriever(collection)
    return [[(h.chunk_row, h.score) for h in hits] for hits in retriever.search_batch(QUERIES, k=5, filters=filters or None)]


FILES = ["chunks.arrow", "bm25_terms.arrow", "bm25_postings.arrow", "bm25_docs.arrow", "vectors.faiss"]


def data_file(root: Path, name: str) -> Path:
    manifest = json.loads((root / "manifest.json").read_text())
    (path,) = [root / rel for rel in manifest["files"] if rel.endswith("/" + name)]
    return path


@pytest.fixture
def saved(tmp_path: Path, animal_collection: Collection) -> Path:
    return animal_collection.save(tmp_path / "col")


def test_save_open_search_gives_identical_results(saved: Path, animal_collection: Collection) -> None:
    reopened = Collection.open(saved, embedder=HashEmbedder(dimension=32))
    assert reopened.num_chunks == animal_collection.num_chunks
    assert reopened.chunks.equals(animal_collection.chunks)
    assert results(reopened) == results(animal_collection)
    assert results(reopened, kind="mammal") == results(animal_collection, kind="mammal")


def test_open_rebuilds_the_embedder_from_the_manifest(saved: Path, animal_collection: Collection) -> None:
    reopened = Collection.open(saved)
    assert isinstance(reopened.embedder, HashEmbedder) and reopened.embedder.dimension == 32
    assert results(reopened) == results(animal_collection)


def test_manifest_records_what_the_folder_holds(saved: Path, animal_collection: Collection) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format"] == "ragkit-collection" and manifest["format_version"] == 2
    n = animal_collection.num_chunks
    assert manifest["counts"] == {"rows": n, "chunks": n, "documents": 6}
    assert manifest["embedder"]["model_id"] == "hash-embedder-32" and manifest["embedder"]["dimension"] == 32
    assert manifest["chunker"]["type"] == "RecursiveChunker"
    assert set(manifest["indexes"]) == {"vector", "bm25"}
    for rel, entry in manifest["files"].items():
        assert (saved / rel).stat().st_size == entry["bytes"] and len(entry["xxh3_128"]) == 32
    assert len(manifest["manifest_sha256"]) == 64 and manifest["generation"] == 0
    suffixes = {Path(rel).suffix for rel in manifest["files"]}
    assert suffixes == {".arrow", ".faiss", ".json"}


def test_saving_again_replaces_the_version_and_cleans_up(saved: Path, animal_collection: Collection) -> None:
    first = json.loads((saved / "manifest.json").read_text())["data_dir"]
    animal_collection.save(saved)
    second = json.loads((saved / "manifest.json").read_text())["data_dir"]
    assert first != second
    assert sorted(p.name for p in saved.iterdir()) == sorted([".lock", "manifest.json", second])


def test_a_failed_save_leaves_the_previous_version_intact(
    saved: Path, animal_collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = results(Collection.open(saved))
    manifest_before = (saved / "manifest.json").read_bytes()

    def explode(self: object, directory: Path) -> list[str]:
        (directory / "partial.arrow").write_bytes(b"half-written")
        raise OSError("disk full")

    monkeypatch.setattr(ragkit.BM25Index, "save", explode)
    with pytest.raises(OSError, match="disk full"):
        animal_collection.save(saved)
    assert (saved / "manifest.json").read_bytes() == manifest_before
    assert results(Collection.open(saved)) == before
    assert not [p for p in saved.iterdir() if p.name.startswith(".tmp-")]


def test_refuses_to_save_into_a_foreign_folder(tmp_path: Path, animal_collection: Collection) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(IndexFormatError, match="holds other files"):
        animal_collection.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("name", FILES)
def test_truncated_file_is_detected_and_named(saved: Path, name: str) -> None:
    path = data_file(saved, name)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptIndexError, match=path.name):
        Collection.open(saved)


@pytest.mark.parametrize("name", FILES)
def test_edited_file_is_detected_and_named(saved: Path, name: str) -> None:
    path = data_file(saved, name)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match=f"{path.name}: xxh3_128 checksum differs"):
        Collection.open(saved)


def test_deleted_file_is_detected(saved: Path) -> None:
    path = data_file(saved, "vectors.faiss")
    path.unlink()
    with pytest.raises(CorruptIndexError, match="missing"):
        Collection.open(saved)


def test_missing_manifest_means_incomplete(saved: Path) -> None:
    (saved / "manifest.json").unlink()
    with pytest.raises(IndexFormatError, match="no manifest.json"):
        Collection.open(saved)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(IndexFormatError, match="not a folder"):
        Collection.open(tmp_path / "nowhere")


def edit_manifest(root: Path, change: object) -> None:
    """Change the manifest and re-seal it, as an attacker who knows the format would."""
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)  # type: ignore[operator]
    (root / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))


def test_an_edited_manifest_without_a_new_seal_is_detected(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["indexes"]["bm25"]["config"]["k1"] = 1.7  # would silently change every BM25 score
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptIndexError, match="manifest.json .*does not match its recorded sha256"):
        Collection.open(saved)


def test_newer_format_version_is_refused_with_advice(saved: Path) -> None:
    edit_manifest(saved, lambda m: m.update(format_version=99))
    with pytest.raises(IndexFormatError, match="format 99, newer than this ragkit reads .* Upgrade ragkit"):
        Collection.open(saved)


def test_manifest_that_is_not_json(saved: Path) -> None:
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptIndexError, match="not valid JSON"):
        Collection.open(saved)


@pytest.mark.parametrize("evil", ["../outside.arrow", "/etc/passwd", "data/../../x"])
def test_manifest_paths_cannot_escape_the_folder(saved: Path, evil: str) -> None:
    edit_manifest(saved, lambda m: m["files"].update({evil: {"bytes": 1, "xxh3_128": "0" * 32}}))
    with pytest.raises(CorruptIndexError, match="escapes the collection folder"):
        Collection.open(saved)


def test_unknown_component_type_is_not_imported(saved: Path) -> None:
    edit_manifest(saved, lambda m: m["indexes"]["bm25"]["config"].update(type="os.system"))
    with pytest.raises(IndexFormatError, match="'os.system', which is not allowed"):
        Collection.open(saved)


def test_model_mismatch_is_refused(saved: Path) -> None:
    with pytest.raises(ModelMismatchError, match="made with 'hash-embedder-32'"):
        Collection.open(saved, embedder=HashEmbedder(dimension=32, model="other-model"))


def test_dimension_mismatch_is_refused_at_query_time(saved: Path) -> None:
    collection = Collection.open(saved)
    collection.embedder = HashEmbedder(dimension=16, model="hash-embedder")  # same name, wrong size
    with pytest.raises(ModelMismatchError, match="16-d vectors but this collection's vectors are 32-d"):
        HybridRetriever(collection).search("cats")


def test_verify_false_still_checks_sizes(saved: Path) -> None:
    path = data_file(saved, "chunks.arrow")
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(CorruptIndexError, match="bytes"):
        Collection.open(saved, verify=False)


def test_index_and_chunk_table_of_different_sizes_are_refused(saved: Path, tmp_path: Path, animal_docs: list) -> None:
    other = ragkit.build_collection(animal_docs[:2], chunker=ragkit.RecursiveChunker(tokenizer="regex"),
                                    embedder=HashEmbedder(dimension=32), indexes=[ragkit.FaissIndex()])
    other_root = other.save(tmp_path / "other")
    target = data_file(saved, "vectors.faiss")
    target.write_bytes(data_file(other_root, "vectors.faiss").read_bytes())
    rel = target.relative_to(saved).as_posix()
    edit_manifest(saved, lambda m: m["files"].update({rel: describe_file(saved, rel)}))
    with pytest.raises(CorruptIndexError, match="slots.arrow: does not match vectors.faiss"):
        Collection.open(saved)


def test_custom_components_cannot_shadow_builtins() -> None:
    class FaissIndex(ragkit.FaissIndex):
        pass

    with pytest.raises(ragkit.ConfigError, match="name of a built-in"):
        ragkit.register_component(FaissIndex)
    with pytest.raises(ragkit.ConfigError, match="from_config"):
        ragkit.register_component(type("Bare", (), {}))
