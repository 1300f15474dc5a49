"""Folders of text, Markdown and HTML files."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ragkit.core.documents import Document
from ragkit.core.errors import InputError
from ragkit.core.validation import check_int
from ragkit.pipeline.sources._base import ShardSpec, documents_table, table_documents
from ragkit.pipeline.sources.html import html_to_text

__all__ = ["FolderSource", "read_folder", "TEXT_SUFFIXES", "HTML_SUFFIXES"]

logger = logging.getLogger(__name__)

TEXT_SUFFIXES: tuple[str, ...] = (".md", ".markdown", ".txt", ".rst")
HTML_SUFFIXES: tuple[str, ...] = (".html", ".htm")


class FolderSource:
    """The text files under a folder (recursively), sorted by path; HTML converted to text.

    The id is the path relative to the folder; metadata records ``source`` (that path),
    ``format`` (the suffix without its dot) and, for HTML, ``title``. Empty files are
    skipped; files that are not valid UTF-8 are skipped with a warning naming them.

    Raises:
        InputError: if ``path`` is not a folder.
    """

    def __init__(self, path: str | Path, *, suffixes: Sequence[str] = TEXT_SUFFIXES + HTML_SUFFIXES) -> None:
        self.root = Path(path)
        if not self.root.is_dir():
            raise InputError(f"{self.root} is not a folder of documents.")
        self.suffixes = tuple(sorted({s.lower() for s in suffixes}))

    def describe(self) -> dict[str, Any]:
        return {"kind": "folder", "path": str(self.root.resolve()), "suffixes": list(self.suffixes)}

    def files(self) -> list[str]:
        """Relative paths of the files to read, sorted."""
        wanted = set(self.suffixes)
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                      if p.is_file() and p.suffix.lower() in wanted)

    def plan(self, shard_docs: int) -> list[ShardSpec]:
        check_int("FolderSource.plan", "shard_docs", shard_docs, low=1)
        files = self.files()
        return [{"index": i, "docs": len(files[s:s + shard_docs]), "files": files[s:s + shard_docs]}
                for i, s in enumerate(range(0, len(files), shard_docs))]

    def read(self, spec: ShardSpec) -> pa.Table:
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for rel in spec["files"]:
            file = self.root / rel
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                logger.warning("skipping %s: not valid UTF-8", file)
                continue
            fmt = file.suffix.lower().lstrip(".")
            meta: dict[str, Any] = {"source": rel, "format": fmt}
            if file.suffix.lower() in HTML_SUFFIXES:
                text, title = html_to_text(text)
                meta["title"] = title
            if not text.strip():
                continue
            ids.append(rel)
            texts.append(text)
            metas.append(meta)
        return documents_table(ids, texts, metas)


def read_folder(path: str | Path, *, suffixes: Sequence[str] = TEXT_SUFFIXES) -> Iterator[Document]:
    """Documents from the text files under ``path`` (see :class:`FolderSource`), one file in memory at a time.

    Raises:
        InputError: if ``path`` is not a folder.
    """
    source = FolderSource(path, suffixes=suffixes)
    for spec in source.plan(1):
        yield from table_documents(source.read(spec))
