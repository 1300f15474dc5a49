"""`ragkit info`: what a collection holds: counts, model, fields, indexes, size on disk, versions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "describe", "run"]

_RESERVED = ("doc_id", "chunk_id", "position", "start", "end", "text")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("info", help="describe a collection",
                       description="Counts, embedding model, metadata fields, indexes, size on disk and versions of a "
                                   "collection (or sharded collection). Checksums are not verified: this is a quick look.")
    p.add_argument("collection", type=Path, help="collection folder (or sharded collection folder)")
    p.add_argument("--json", action="store_true", help="print the description as one JSON object")


def describe(path: Path) -> dict[str, Any]:
    """The description ``ragkit info`` prints (JSON-able)."""
    import pyarrow as pa

    from ragkit.core.deps import versions
    from ragkit.store import ShardedCollection, open_collection

    collection = open_collection(path, verify=False)
    try:
        sharded = isinstance(collection, ShardedCollection)
        first = collection.shards[0] if isinstance(collection, ShardedCollection) else collection
        manifest = _manifest(path / _first_shard(path) if sharded else path)
        schema = collection.chunks.schema
        fields = {}
        for f in schema:
            if f.name == "metadata" and pa.types.is_struct(f.type):
                fields.update({child.name: str(child.type) for child in f.type})
            elif f.name not in _RESERVED:
                fields[f.name] = str(f.type)
        indexes = {}
        for name, index in first.indexes.items():
            config = {k: v for k, v in index.get_config().items() if k != "type"}
            indexes[name] = {"kind": index.kind, "type": index.get_config().get("type"), **_brief(index.kind, config)}
        info = collection.embedder_info
        files = [p for p in path.rglob("*") if p.is_file()]
        return {
            "path": str(path),
            "kind": "sharded collection" if sharded else "collection",
            "shards": len(collection.shards) if isinstance(collection, ShardedCollection) else None,
            "chunks": collection.num_chunks,
            "documents": collection.num_documents,
            "deleted_rows": collection.num_rows - collection.num_chunks,
            "model": info.get("model_id") if info else None,
            "dimension": info.get("dimension") if info else None,
            "chunker": manifest.get("chunker"),
            "fields": fields,
            "indexes": indexes,
            "size_bytes": sum(p.stat().st_size for p in files),
            "files": len(files),
            "version": collection.version,
            "created": manifest.get("created"),
            "format_version": manifest.get("format_version"),
            "written_by": f"ragkit {manifest.get('ragkit_version')}",
            "read_by": versions(),
        }
    finally:
        close = getattr(collection, "close", None)
        if close is not None:
            close()


def _first_shard(path: Path) -> str:
    """The folder of the first shard of a sharded collection (its manifest records the settings)."""
    layout = json.loads((path / "shards.json").read_text(encoding="utf-8"))
    return str(layout["shards"][0]["name"])


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _brief(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    if kind == "bm25":
        tokenizer = config.get("tokenizer") or {}
        return {"variant": config.get("variant"), "k1": config.get("k1"), "b": config.get("b"),
                "stemmer": tokenizer.get("stemmer"), "stopwords": tokenizer.get("stopwords")}
    return {k: v for k, v in config.items() if v is not None}


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def run(args: argparse.Namespace) -> int:
    from ragkit.core.wording import count

    d = describe(args.collection)
    if args.json:
        print(json.dumps(d, indent=2, sort_keys=True))
        return 0
    shards = f", {count(d['shards'], 'shard')}" if d["shards"] else ""
    print(f"{d['path']}: {d['kind']}{shards}")
    deleted = f" ({count(d['deleted_rows'], 'deleted row')})" if d["deleted_rows"] else ""
    print(f"  {count(d['chunks'], 'chunk')} of {count(d['documents'], 'document')}{deleted}")
    print(f"  model: {d['model']} ({d['dimension']} dimensions)" if d["model"] else "  model: none (no vector index)")
    chunker = d["chunker"] or {}
    if chunker:
        options = ", ".join(f"{k}={v}" for k, v in sorted(chunker.items()) if k != "type")
        print(f"  chunker: {chunker.get('type')} ({options})")
    print(f"  fields: {', '.join(f'{k} ({v})' for k, v in sorted(d['fields'].items())) or 'none'}")
    for name, index in sorted(d["indexes"].items()):
        options = ", ".join(f"{k}={v}" for k, v in index.items() if k not in ("kind", "type"))
        print(f"  index {name}: {index['kind']} {index['type']} ({options})")
    print(f"  size on disk: {_size(d['size_bytes'])} in {count(d['files'], 'file')}")
    print(f"  version {d['version']}, created {d['created']}, format {d['format_version']}, written by {d['written_by']}")
    print("  read by: " + ", ".join(f"{k} {v}" for k, v in d["read_by"].items()))
    return 0
