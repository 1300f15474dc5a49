"""Pick the source for a path: BEIR folder, JSONL file, Parquet file or folder, or a folder of text files."""

from __future__ import annotations

from pathlib import Path

from ragkit.core.errors import InputError
from ragkit.core.validation import check_choice
from ragkit.pipeline.sources._base import Source

__all__ = ["open_source", "SOURCE_KINDS"]

SOURCE_KINDS = ("auto", "folder", "jsonl", "parquet", "beir")


def open_source(path: str | Path, kind: str = "auto") -> Source:
    """The source reading ``path``; ``kind="auto"`` guesses it from the path.

    ``auto``: a folder with ``corpus.jsonl`` is BEIR, a ``.jsonl`` file JSONL, a ``.parquet``
    file or a folder of only Parquet files Parquet, any other folder a folder of text files.

    Raises:
        ConfigError: an unknown ``kind``.
        InputError: ``path`` does not exist or does not fit the kind.
    """
    from ragkit.pipeline.sources.beir import BeirSource
    from ragkit.pipeline.sources.folder import FolderSource
    from ragkit.pipeline.sources.jsonl import JsonlSource
    from ragkit.pipeline.sources.parquet import ParquetSource

    check_choice("open_source", "kind", kind, SOURCE_KINDS)
    p = Path(path)
    if not p.exists():
        raise InputError(f"The source {p} does not exist; give a folder, a .jsonl or a .parquet file.")
    if kind == "auto":
        if p.is_dir() and (p / "corpus.jsonl").is_file():
            kind = "beir"
        elif p.is_file() and p.suffix.lower() == ".jsonl":
            kind = "jsonl"
        elif p.is_file() and p.suffix.lower() == ".parquet":
            kind = "parquet"
        elif p.is_dir():
            files = [f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")]
            kind = "parquet" if files and all(f.suffix.lower() == ".parquet" for f in files) else "folder"
        else:
            raise InputError(f"Cannot tell what kind of source {p} is; its suffix should be .jsonl or .parquet, "
                             f"or pass kind= one of {', '.join(SOURCE_KINDS[1:])}.")
    if kind == "beir":
        return BeirSource(p)
    if kind == "jsonl":
        return JsonlSource(p)
    if kind == "parquet":
        return ParquetSource(p)
    return FolderSource(p)
