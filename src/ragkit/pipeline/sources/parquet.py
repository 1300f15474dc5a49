"""Parquet corpora: one file or a folder of ``*.parquet`` files, read by row ranges."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ragkit.core.errors import InputError
from ragkit.core.validation import as_path, check_int
from ragkit.pipeline.sources._base import ShardSpec
from ragkit.pipeline.sources.fields import FieldMap, arrow_documents, table_columns

__all__ = ["ParquetSource"]


class ParquetSource:
    """Documents from Parquet: columns ``id`` and ``text`` (names configurable), metadata columns.

    Fields as for :class:`~ragkit.pipeline.sources.JsonlSource` (``title_field``; by default
    every scalar column but the id, text and title becomes metadata). Planning reads only
    the files' footers (row counts); a shard is a row range of one file, read from the row
    groups that overlap it. Rows with a null or blank text are skipped and reported.

    Raises:
        InputError: no Parquet file at ``path``, or a missing column.
        ConfigError: bad field names.
    """

    def __init__(self, path: str | Path, *, id_field: str = "id", text_field: str = "text", title_field: str | None = None,
                 metadata_fields: Sequence[str] | None = None) -> None:
        self.path = as_path("ParquetSource", path)
        self.files = sorted(self.path.rglob("*.parquet")) if self.path.is_dir() else [self.path]
        if not self.files or not all(f.is_file() for f in self.files):
            raise InputError(f"{self.path} is neither a .parquet file nor a folder holding some.")
        self.fields = FieldMap.of(id_field=id_field, text_field=text_field, title_field=title_field,
                                  metadata_fields=metadata_fields)
        self._columns = {str(f): table_columns(self.fields, pq.read_schema(f), str(f)) for f in self.files}

    def describe(self) -> dict[str, Any]:
        return {"kind": "parquet", "files": [[str(f.resolve()), f.stat().st_size] for f in self.files],
                **self.fields.describe()}

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
        columns = self._columns.get(spec["path"]) or table_columns(self.fields, pf.schema_arrow, spec["path"])
        table = pf.read_row_groups(groups, columns=columns)
        table = table.slice(spec["start"] - (first or 0), spec["stop"] - spec["start"])
        return arrow_documents(self.fields, table, Path(spec["path"]).name)
