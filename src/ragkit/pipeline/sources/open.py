"""Pick the source for a path: BEIR folder, JSONL/CSV/Parquet records, a document file or a folder of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.validation import as_path, check_choice
from ragkit.pipeline.sources._base import Source
from ragkit.pipeline.sources.folder import MAX_FILE_BYTES

__all__ = ["open_source", "SOURCE_KINDS"]

SOURCE_KINDS = ("auto", "folder", "file", "jsonl", "csv", "parquet", "beir")
_RECORD_KINDS = ("jsonl", "csv", "parquet")
_RECORD_SUFFIXES = {".jsonl": "jsonl", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}


def open_source(path: str | Path, kind: str = "auto", *, id_field: str | None = None, text_field: str | None = None,
                title_field: str | None = None, metadata_fields: Sequence[str] | None = None, strict: bool = False,
                max_bytes: int | None = MAX_FILE_BYTES) -> Source:
    """The source reading ``path``; ``kind="auto"`` guesses it from the path.

    ``auto``: a folder with ``corpus.jsonl`` is BEIR; a ``.jsonl`` file JSONL; a ``.csv`` /
    ``.tsv`` file CSV; a ``.parquet`` file or a folder of only Parquet files Parquet; another
    file a single document (PDF, DOCX, HTML, Markdown...); any other folder a folder of documents.

    Args:
        id_field / text_field / title_field / metadata_fields: the record fields of a JSONL,
            CSV or Parquet source (see :class:`~ragkit.pipeline.sources.fields.FieldMap`).
        strict / max_bytes: of a folder or file source (see :class:`FolderSource`).

    Example:
        >>> source = open_source("faq.jsonl", id_field="doc_id", text_field="content")   # doctest: +SKIP

    Raises:
        ConfigError: an unknown ``kind``; field options for a source without records.
        InputError: ``path`` does not exist or does not fit the kind.
    """
    from ragkit.pipeline.sources.beir import BeirSource
    from ragkit.pipeline.sources.csvfile import CsvSource
    from ragkit.pipeline.sources.folder import FolderSource
    from ragkit.pipeline.sources.jsonl import JsonlSource
    from ragkit.pipeline.sources.parquet import ParquetSource

    check_choice("open_source", "kind", kind, SOURCE_KINDS)
    p = as_path("open_source", path)
    if not p.exists():
        raise InputError(f"The source {p} does not exist; give a folder, a document file, a .jsonl, .csv or .parquet file.")
    if kind == "auto":
        kind = _guess(p)
    mapping: dict[str, Any] = {k: v for k, v in (("id_field", id_field), ("text_field", text_field), ("title_field", title_field),
                                 ("metadata_fields", metadata_fields)) if v is not None}
    if mapping and kind not in _RECORD_KINDS:
        raise ConfigError(f"Field options ({', '.join(sorted(mapping))}) apply to JSONL, CSV and Parquet sources; "
                          f"{p} is read as a {kind} source.")
    if kind == "beir":
        return BeirSource(p)
    if kind == "jsonl":
        return JsonlSource(p, **mapping)
    if kind == "csv":
        return CsvSource(p, **mapping)
    if kind == "parquet":
        return ParquetSource(p, **mapping)
    return FolderSource(p, strict=strict, max_bytes=max_bytes)


def _guess(p: Path) -> str:
    if p.is_dir() and (p / "corpus.jsonl").is_file():
        return "beir"
    if p.is_file():
        return _RECORD_SUFFIXES.get(p.suffix.lower(), "file")
    files = [f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")]
    return "parquet" if files and all(f.suffix.lower() == ".parquet" for f in files) else "folder"
