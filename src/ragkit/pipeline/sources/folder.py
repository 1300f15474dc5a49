"""Folders of documents (or one document file): text, Markdown, HTML, PDF, DOCX, PPTX, EPUB."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ragkit.core.documents import Document
from ragkit.core.errors import EmptyCorpusError, InputError
from ragkit.core.validation import as_path, check_int
from ragkit.pipeline.sources._base import ShardSpec, documents_table, table_documents, table_skipped
from ragkit.pipeline.sources.loaders import (
    DOCUMENT_SUFFIXES,
    HTML_SUFFIXES,
    LOADERS,
    TEXT_SUFFIXES,
    SkippedFile,
    load_file,
    skip_record,
)

__all__ = ["FolderSource", "read_folder", "TEXT_SUFFIXES", "HTML_SUFFIXES", "DOCUMENT_SUFFIXES", "ALL_SUFFIXES",
           "MAX_FILE_BYTES"]

logger = logging.getLogger(__name__)

#: Every suffix a loader reads.
ALL_SUFFIXES: tuple[str, ...] = tuple(sorted(LOADERS))
#: Files above this size are skipped ("too large") unless ``max_bytes`` says otherwise.
MAX_FILE_BYTES = 200 * 2**20


class FolderSource:
    """The document files under a folder (recursively, sorted by path), or one file.

    Every file goes through :func:`~ragkit.pipeline.sources.loaders.load_file`: text and
    Markdown as they are, HTML/DOCX/EPUB/PDF/PPTX converted to Markdown-headed text, PDF
    and PPTX with a page map (chunks then know ``page_start``/``page_end``). The id is the
    path relative to the folder (the file name for a single file); metadata records
    ``source`` (that path), ``format`` (the suffix) and what the loader found (``title``,
    ``pages``). Hidden files and folders (names starting with ``.``) are not read, nor is a
    symbolic link that leads outside the folder (``/etc/passwd`` from an unpacked archive would
    otherwise be indexed and served): it is skipped as "outside the folder". A file named on
    its own is read wherever it leads.

    A file that gives no document is never dropped silently: it is listed, with its reason
    (unsupported type, encrypted, no extractable text, not UTF-8, too large, unreadable,
    empty), in its shard's skip list (:func:`~ragkit.pipeline.sources.table_skipped`) and
    so in the build report. ``strict=True`` makes any skip an :class:`InputError`.

    Example:
        >>> source = FolderSource("manuals", strict=True)       # doctest: +SKIP

    Raises:
        InputError: ``path`` is neither a folder nor a file; with ``strict``, the first skipped file.
        EmptyCorpusError: on planning, when no file can be read (the message lists why).
        MissingDependencyError: on reading a PDF/DOCX/PPTX without ``ragkit[docs]`` installed.
    """

    def __init__(self, path: str | Path, *, suffixes: Sequence[str] = ALL_SUFFIXES, strict: bool = False,
                 max_bytes: int | None = MAX_FILE_BYTES) -> None:
        given = as_path("read_folder", path)
        self._single: str | None
        if given.is_file():
            self.root, self._single = given.parent, given.name
        elif given.is_dir():
            self.root, self._single = given, None
        else:
            raise InputError(f"{given} is neither a folder of documents nor a document file.")
        self._real_root = self.root.resolve()
        self.suffixes = tuple(sorted({s.lower() if s.startswith(".") else f".{s.lower()}" for s in suffixes}))
        unknown = sorted(set(self.suffixes) - set(LOADERS))
        if unknown:
            raise InputError(f"FolderSource cannot read {unknown}; readable suffixes: {', '.join(ALL_SUFFIXES)}.")
        self.strict = bool(strict)
        if max_bytes is not None:
            check_int("FolderSource", "max_bytes", max_bytes, low=1)
        self.max_bytes = max_bytes

    def describe(self) -> dict[str, Any]:
        path = self.root / self._single if self._single else self.root
        return {"kind": "file" if self._single else "folder", "path": str(path.resolve()), "suffixes": list(self.suffixes),
                "strict": self.strict, "max_bytes": self.max_bytes}

    def files(self) -> list[str]:
        """Relative paths of every (non-hidden) file, sorted; those of other suffixes are reported as skipped."""
        if self._single:
            return [self._single]
        rels = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(rel for rel in rels if not any(part.startswith(".") for part in rel.split("/")))

    def plan(self, shard_docs: int) -> list[ShardSpec]:
        check_int("FolderSource.plan", "shard_docs", shard_docs, low=1)
        wanted = set(self.suffixes)
        files, skipped = [], []
        for rel in self.files():
            outside = self._outside(rel)
            if outside is not None:
                skipped.append(self._skip(rel, SkippedFile("outside the folder", outside)))
            elif Path(rel).suffix.lower() in wanted:
                files.append(rel)
            else:
                skipped.append(self._skip(rel, SkippedFile("unsupported type", _unsupported(rel, self.suffixes))))
        if not files:
            shown = ", ".join(str(s["path"]) for s in skipped[:5]) + (f" and {len(skipped) - 5:,} more" if len(skipped) > 5 else "")
            why = f"{len(skipped):,} skipped: {shown}; readable: {', '.join(self.suffixes)}" if skipped else "it has no files"
            raise EmptyCorpusError(f"{self.root} holds no documents ragkit can read ({why}).")
        specs: list[ShardSpec] = [{"index": i, "docs": len(files[s:s + shard_docs]), "files": files[s:s + shard_docs]}
                                  for i, s in enumerate(range(0, len(files), shard_docs))]
        if skipped:
            specs[0]["skipped"] = skipped
        return specs

    def read(self, spec: ShardSpec) -> pa.Table:
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        skipped: list[dict[str, str]] = list(spec.get("skipped", []))
        for rel in spec["files"]:
            try:
                outside = self._outside(rel)  # again: a link may have changed since the plan
                if outside is not None:
                    raise SkippedFile("outside the folder", outside)
                loaded = load_file(self.root / rel, max_bytes=self.max_bytes)
            except SkippedFile as exc:
                skipped.append(self._skip(rel, exc))
                continue
            ids.append(rel)
            texts.append(loaded.text)
            metas.append({"source": rel, **loaded.metadata})
        return documents_table(ids, texts, metas, skipped)

    def _outside(self, rel: str) -> str | None:
        """Why ``rel`` is not read when it leads (through symbolic links) outside the folder, else ``None``."""
        if self._single:
            return None
        root = self._real_root
        target = (self.root / rel).resolve()
        if target == root or root in target.parents:
            return None
        return f"a symbolic link to {target}, outside {root}; files outside the folder are not read (copy it in to index it)"

    def _skip(self, rel: str, exc: SkippedFile) -> dict[str, str]:
        if self.strict:
            raise InputError(f"{self.root / rel} was not indexed ({exc.reason}): {exc.detail}. "
                             "Without strict (--strict) it is skipped and reported.")
        logger.info("skipping %s (%s): %s", rel, exc.reason, exc.detail)
        return skip_record(rel, exc)


def _unsupported(rel: str, suffixes: Sequence[str]) -> str:
    suffix = Path(rel).suffix.lower()
    if suffix in LOADERS:
        return f"'{suffix}' files are not among the suffixes asked for ({', '.join(suffixes)})"
    what = f"'{suffix}'" if suffix else "a file without a suffix"
    return f"unsupported file type {what}; readable: {', '.join(ALL_SUFFIXES)}"


def read_folder(path: str | Path, *, suffixes: Sequence[str] = ALL_SUFFIXES, strict: bool = False,
                max_bytes: int | None = MAX_FILE_BYTES) -> Iterator[Document]:
    """Documents from the files under ``path`` (or the one file ``path``), one file in memory at a time.

    The same reading as ``ragkit index`` (see :class:`FolderSource`); each skipped file is
    logged as a warning with its reason (``strict=True``: an error instead).

    Example:
        >>> docs = list(read_folder("manuals"))                   # doctest: +SKIP

    Raises:
        InputError: ``path`` does not exist; with ``strict``, a skipped file.
        EmptyCorpusError: no file under ``path`` can be read.
    """
    source = FolderSource(path, suffixes=suffixes, strict=strict, max_bytes=max_bytes)
    for spec in source.plan(1):
        table = source.read(spec)
        for skip in table_skipped(table):
            logger.warning("skipped %s (%s): %s", skip["path"], skip["reason"], skip["detail"])
        yield from table_documents(table)
