"""JSON Lines corpora (one JSON object per line), read by byte ranges."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ragkit.core.errors import InputError
from ragkit.core.records import json_object
from ragkit.core.validation import as_path, check_int
from ragkit.pipeline.sources._base import ShardSpec, documents_table
from ragkit.pipeline.sources.fields import FieldMap

__all__ = ["JsonlSource"]


class JsonlSource:
    """A ``.jsonl`` file of documents: ``{"id": ..., "text": ..., ...}`` per line.

    Args:
        path: the file.
        id_field / text_field: the fields holding the id (str or int) and the text.
        title_field: optional field prepended to the text (``title\\n\\ntext``) and kept as ``title`` metadata.
        metadata_fields: fields copied into the document metadata; ``None`` (default): every
            scalar field but the id, text and title (see :class:`~ragkit.pipeline.sources.fields.FieldMap`).

    Planning scans the file once for line offsets (no parsing); each shard is a byte range
    read and parsed on its own. Blank lines are ignored; records whose text (and title)
    is blank are skipped and reported (:func:`~ragkit.pipeline.sources.table_skipped`).

    Example:
        >>> source = JsonlSource("corpus.jsonl", id_field="doc_id", text_field="content")   # doctest: +SKIP

    Raises:
        InputError: a missing file, a line that is not a JSON object, a missing or non-string field.
        ConfigError: bad field names.
    """

    kind = "jsonl"

    def __init__(self, path: str | Path, *, id_field: str = "id", text_field: str = "text", title_field: str | None = None,
                 metadata_fields: Sequence[str] | None = None) -> None:
        self.path = as_path("JsonlSource", path)
        if not self.path.is_file():
            raise InputError(f"{self.path} is not a file; give the path of a .jsonl corpus.")
        self.fields = FieldMap.of(id_field=id_field, text_field=text_field, title_field=title_field,
                                  metadata_fields=metadata_fields)

    def describe(self) -> dict[str, Any]:
        stat = self.path.stat()
        return {"kind": self.kind, "path": str(self.path.resolve()), "size": stat.st_size, **self.fields.describe()}

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
        skipped: list[dict[str, str]] = []
        for n, line in enumerate(data.split(b"\n")):
            if not line.strip():
                continue
            where = f"{self.path} (byte {spec['start']}, line {n + 1} of shard {spec['index']})"
            doc_id, text, meta = self.fields.document(json_object(line, where), where)
            if not text.strip():
                skipped.append({"path": f"{self.path.name}#{doc_id}", "reason": "empty",
                                "detail": f"record {doc_id!r} has no text in {self.fields.text_field!r}"})
                continue
            ids.append(doc_id)
            texts.append(text)
            metas.append(meta)
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise InputError(f"{self.path}: duplicate document id {dup!r}; ids must be unique.")
        return documents_table(ids, texts, metas, skipped)
