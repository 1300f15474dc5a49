"""CSV / TSV corpora (a header row, then one document per row), read with pyarrow's streaming CSV reader."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

from ragkit.core.errors import InputError
from ragkit.core.validation import as_path, check_int
from ragkit.pipeline.sources._base import ShardSpec
from ragkit.pipeline.sources.fields import FieldMap, arrow_documents, table_columns

__all__ = ["CsvSource"]

_BLOCK = 1 << 22  # bytes per CSV read block


class CsvSource:
    """Documents from a CSV file (``.tsv``: tab-separated) with a header row; fields as for :class:`JsonlSource`.

    The id, text and title columns are read as strings (``007`` stays ``"007"``); other
    columns get the types pyarrow infers and become metadata (every scalar column by
    default, or the ``metadata_fields`` named). Quoted values may span lines. A shard is a
    row range; rows with a blank text are skipped and reported.

    Example:
        >>> source = CsvSource("faq.csv", id_field="qid", text_field="answer", title_field="question")  # doctest: +SKIP

    Raises:
        InputError: a missing file, a malformed CSV, or a missing column.
        ConfigError: bad field names.
    """

    kind = "csv"

    def __init__(self, path: str | Path, *, id_field: str = "id", text_field: str = "text", title_field: str | None = None,
                 metadata_fields: Sequence[str] | None = None, delimiter: str | None = None) -> None:
        self.path = as_path("CsvSource", path)
        if not self.path.is_file():
            raise InputError(f"{self.path} is not a file; give the path of a .csv corpus.")
        self.fields = FieldMap.of(id_field=id_field, text_field=text_field, title_field=title_field,
                                  metadata_fields=metadata_fields)
        self.delimiter = delimiter or ("\t" if self.path.suffix.lower() == ".tsv" else ",")
        if len(self.delimiter) != 1:
            raise InputError(f"The 'delimiter' parameter of CsvSource must be one character. Got {self.delimiter!r} instead.")
        with self._reader() as reader:
            self._columns = table_columns(self.fields, reader.schema, str(self.path))

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path.resolve()), "size": self.path.stat().st_size,
                "delimiter": self.delimiter, **self.fields.describe()}

    def _reader(self, columns: list[str] | None = None) -> Any:
        text_columns = [c for c in (self.fields.id_field, self.fields.text_field, self.fields.title_field) if c]
        convert = pcsv.ConvertOptions(column_types=dict.fromkeys(text_columns, pa.large_string()),
                                      include_columns=columns, strings_can_be_null=False)
        try:
            return pcsv.open_csv(self.path, read_options=pcsv.ReadOptions(block_size=_BLOCK),
                                 parse_options=pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True),
                                 convert_options=convert)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"{self.path}: not a readable CSV file ({exc}).") from None

    def _batches(self) -> Iterator[pa.RecordBatch]:
        with self._reader(self._columns) as reader:
            try:
                yield from reader
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise InputError(f"{self.path}: not a readable CSV file ({exc}).") from None

    def plan(self, shard_docs: int) -> list[ShardSpec]:
        check_int("CsvSource.plan", "shard_docs", shard_docs, low=1)
        rows = sum(batch.num_rows for batch in self._batches())
        return [{"index": i, "docs": min(rows, s + shard_docs) - s, "start": s, "stop": min(rows, s + shard_docs)}
                for i, s in enumerate(range(0, rows, shard_docs))]

    def read(self, spec: ShardSpec) -> pa.Table:
        parts: list[pa.RecordBatch] = []
        row = 0
        for batch in self._batches():
            end = row + batch.num_rows
            if end > spec["start"] and row < spec["stop"]:
                lo = max(0, spec["start"] - row)
                parts.append(batch.slice(lo, min(batch.num_rows, spec["stop"] - row) - lo))
            row = end
            if row >= spec["stop"]:
                break
        table = pa.Table.from_batches(parts) if parts else pa.Table.from_batches([], schema=self._schema())
        return arrow_documents(self.fields, table, self.path.name)

    def _schema(self) -> pa.Schema:
        with self._reader(self._columns) as reader:
            return reader.schema
