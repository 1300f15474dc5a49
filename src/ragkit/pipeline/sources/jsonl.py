"""JSON Lines corpora (one JSON object per line), read by byte ranges."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ragkit.core.errors import InputError
from ragkit.core.records import json_object, record_id, text_field
from ragkit.core.validation import check_int
from ragkit.pipeline.sources._base import ShardSpec, documents_table

__all__ = ["JsonlSource"]


class JsonlSource:
    """A ``.jsonl`` file of documents: ``{"id": ..., "text": ..., ...}`` per line.

    Args:
        path: the file.
        id_field / text_field: the fields holding the id (str or int) and the text.
        title_field: optional field prepended to the text (``title\\n\\ntext``) and kept as ``title`` metadata.
        metadata_fields: fields copied into the document metadata.

    Planning scans the file once for line offsets (no parsing); each shard is a byte range
    read and parsed on its own. Blank lines and records whose text (and title) is blank
    are skipped.

    Raises:
        InputError: a missing file, a line that is not a JSON object, a missing or non-string field.
    """

    kind = "jsonl"

    def __init__(self, path: str | Path, *, id_field: str = "id", text_field: str = "text", title_field: str | None = None,
                 metadata_fields: Sequence[str] = ()) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path} is not a file; give the path of a .jsonl corpus.")
        self.id_field, self.text_field, self.title_field = id_field, text_field, title_field
        self.metadata_fields = tuple(metadata_fields)

    def describe(self) -> dict[str, Any]:
        stat = self.path.stat()
        return {"kind": self.kind, "path": str(self.path.resolve()), "size": stat.st_size, "id_field": self.id_field,
                "text_field": self.text_field, "title_field": self.title_field, "metadata_fields": list(self.metadata_fields)}

    def plan(self, shard_docs: int) -> list[ShardSpec]:
        check_int(f"{type(self).__name__}.plan", "shard_docs", shard_docs, low=1)
        specs: list[ShardSpec] = []
        start = offset = 0
        lines = 0
        with self.path.open("rb") as fh:
            for line in fh:
                offset += len(line)
                if line.strip():
                    lines += 1
                    if lines == shard_docs:
                        specs.append({"index": len(specs), "docs": lines, "path": str(self.path), "start": start, "end": offset})
                        start, lines = offset, 0
        if lines:
            specs.append({"index": len(specs), "docs": lines, "path": str(self.path), "start": start, "end": offset})
        return specs

    def read(self, spec: ShardSpec) -> pa.Table:
        with self.path.open("rb") as fh:
            fh.seek(spec["start"])
            data = fh.read(spec["end"] - spec["start"])
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for n, line in enumerate(data.split(b"\n")):
            if not line.strip():
                continue
            where = f"{self.path} (byte {spec['start']}, line {n + 1} of shard {spec['index']})"
            record = json_object(line, where)
            doc_id = record_id(record, self.id_field, where)
            text = text_field(record, self.text_field, where)
            meta = {f: record.get(f) for f in self.metadata_fields}
            if self.title_field is not None:
                title = text_field(record, self.title_field, where)
                meta["title"] = title
                text = "\n\n".join(p for p in (title, text) if p.strip())
            if not text.strip():
                continue
            ids.append(doc_id)
            texts.append(text)
            metas.append(meta)
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise InputError(f"{self.path}: duplicate document id {dup!r}; ids must be unique.")
        return documents_table(ids, texts, metas)
