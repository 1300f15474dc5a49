"""Document sources: folders of text and markdown files."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from ragkit.documents import Document
from ragkit.errors import InputError

__all__ = ["read_folder", "TEXT_SUFFIXES"]

logger = logging.getLogger(__name__)

TEXT_SUFFIXES: tuple[str, ...] = (".md", ".markdown", ".txt", ".rst")


def read_folder(path: str | Path, *, suffixes: Sequence[str] = TEXT_SUFFIXES) -> Iterator[Document]:
    """Documents from the text files under ``path`` (recursively), sorted by path.

    The id is the path relative to ``path``; metadata records ``source`` (that path)
    and ``format`` (the suffix without its dot). Empty files are skipped; files that are
    not valid UTF-8 are skipped with a warning naming them.

    Raises:
        InputError: if ``path`` is not a folder.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder of documents.")
    wanted = {s.lower() for s in suffixes}
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in wanted):
        rel = file.relative_to(root).as_posix()
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            logger.warning("skipping %s: not valid UTF-8", file)
            continue
        if not text.strip():
            continue
        yield Document(id=rel, text=text, metadata={"source": rel, "format": file.suffix.lower().lstrip(".")})
