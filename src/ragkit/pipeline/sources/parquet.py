"""Parquet corpora: one file or a folder of ``*.parquet`` files, read by row ranges."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ragkit.core.errors import InputError
from ragkit.core.validation import check_int
from ragkit.pipeline.sources._base import ShardSpec

__all__ = ["ParquetSource"]


class ParquetSource:
    """Documents from Parquet: columns ``id`` and ``text`` (names configurable), optional metadata columns.

    Planning reads only the files' footers (row counts); a shard is a row range of one
    file, read from the row groups that overlap it. Rows with a null or blank text are skipped.

    Raises:
        InputError: no Parquet file at ``path``, or a missing id/text column.
    """

    def __init__(self, path: str | Path, *, id_field: str = "id", text_field: str = "text",
                 metadata_fields: Sequence[str] = ()) -> None:
        self.path = Path(path)
        self.files = sorted(self.path.rglob("*.parquet")) if self.path.is_dir() else [self.path]
        if not self.files or not all(f.is_file() for f in self.files):
            raise InputError(f"{self.path} is neither a .parquet file nor a folder holding some.")
        self.id_field, self.text_field = id_field, text_field
        self.metadata_fields = tuple(metadata_fields)
        for file in self.files:
            names = set(pq.read_schema(file).names)
            missing = [c for c in (id_field, text_field, *self.metadata_fields) if c not in names]
            if missing:
                raise InputError(f"{file}: no column(s) {missing}; it has {sorted(names)}. "
                                 "Pass id_field=/text_field= naming the right columns.")

    def describe(self) -> dict[str, Any]:
        return {"kind": "parquet", "files": [[str(f.resolve()), f.stat().st_size] for f in self.files],
                "id_field": self.id_field, "text_field": self.text_field, "metadata_fields": list(self.metadata_fields)}

    def plan(self, shard_docs: int) -> list[ShardSpec]:
        check_int("ParquetSource.plan", "shard_docs", shard_docs, low=1)
        specs: list[ShardSpec] = []
        for file in self.files:
            rows = pq.ParquetFile(file).metadata.num_rows
            for start in range(0, rows, shard_docs):
                stop = min(rows, start + shard_docs)
                specs.append({"index": len(specs), "docs": stop - start, "path": str(file), "start": start, "stop": stop})
        return specs

    def read(self, spec: ShardSpec) -> pa.Table:
        pf = pq.ParquetFile(spec["path"])
        meta = pf.metadata
        groups, first, row = [], None, 0
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if row + n > spec["start"] and row < spec["stop"]:
                groups.append(g)
                first = row if first is None else first
            row += n
        columns = [self.id_field, self.text_field, *self.metadata_fields]
        table = pf.read_row_groups(groups, columns=columns)
        table = table.slice(spec["start"] - (first or 0), spec["stop"] - spec["start"])
        ids = table.column(self.id_field)
        if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
            ids = pc.cast(ids, pa.string())
        text = pc.cast(table.column(self.text_field), pa.large_string())
        keep = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), False)
        if self.metadata_fields:
            rows = table.select(list(self.metadata_fields)).to_pylist()
            metadata = pa.array([json.dumps(r, sort_keys=True) for r in rows], type=pa.string())
        else:
            metadata = pa.array(["{}"] * table.num_rows, type=pa.string())
        out = pa.table({"id": ids.cast(pa.string()), "text": text, "metadata": metadata}).filter(keep)
        if out.column("id").null_count:
            raise InputError(f"{spec['path']}: column {self.id_field!r} has null ids; every document needs one.")
        return out
