"""One file to one document: the loader of each file type, and why a file is skipped.

:func:`load_file` is the single entry point the folder source (so ``read_folder``,
``open_source`` and ``ragkit index``) reads every file through. A loader returns the text
(Markdown headings where the format has headings, so :class:`~ragkit.MarkdownChunker` keeps
the heading path) and metadata; a paged format (PDF, PPTX) adds its page map (see
:mod:`ragkit.chunking.pages`), so every chunk knows its pages. A file that cannot give a
document raises :class:`SkippedFile` with one of :data:`SKIP_REASONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragkit.core.errors import InputError

__all__ = ["LOADERS", "SKIP_REASONS", "DOCUMENT_SUFFIXES", "HTML_SUFFIXES", "TEXT_SUFFIXES", "Loaded", "SkippedFile",
           "load_file", "skip_record"]

TEXT_SUFFIXES: tuple[str, ...] = (".md", ".markdown", ".txt", ".rst")
HTML_SUFFIXES: tuple[str, ...] = (".html", ".htm", ".xhtml")
#: Formats read through optional libraries (``pip install 'ragkit[docs]'``), EPUB with the standard library.
DOCUMENT_SUFFIXES: tuple[str, ...] = (".pdf", ".docx", ".pptx", ".epub")

#: Why a file gave no document.
SKIP_REASONS = ("unsupported type", "encrypted", "no extractable text", "not UTF-8", "too large", "unreadable", "empty",
                "outside the folder")


class SkippedFile(InputError):
    """A file that gives no document; ``reason`` is one of :data:`SKIP_REASONS`, the message says what to do."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class Loaded:
    """What a loader made of a file: the text (offsets point into it) and metadata (``format``, ``title``, pages...)."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _load_text(path: Path) -> Loaded:
    try:
        return Loaded(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SkippedFile("not UTF-8", f"not valid UTF-8 (byte {exc.start}); re-save it as UTF-8") from None


def _load_html(path: Path) -> Loaded:
    from ragkit.pipeline.sources.html import html_to_text

    text, title = html_to_text(_load_text(path).text)
    return Loaded(text, {"title": title})


def _load_pdf(path: Path) -> Loaded:
    from ragkit.pipeline.sources.pdf import load_pdf

    return load_pdf(path)


def _load_docx(path: Path) -> Loaded:
    from ragkit.pipeline.sources.office import load_docx

    return load_docx(path)


def _load_pptx(path: Path) -> Loaded:
    from ragkit.pipeline.sources.office import load_pptx

    return load_pptx(path)


def _load_epub(path: Path) -> Loaded:
    from ragkit.pipeline.sources.epub import load_epub

    return load_epub(path)


#: Loader of each suffix (lower case, with its dot).
LOADERS: dict[str, Callable[[Path], Loaded]] = {
    **{s: _load_text for s in TEXT_SUFFIXES},
    **{s: _load_html for s in HTML_SUFFIXES},
    ".pdf": _load_pdf, ".docx": _load_docx, ".pptx": _load_pptx, ".epub": _load_epub,
}


def load_file(path: Path, *, max_bytes: int | None = None) -> Loaded:
    """The document of one file (``format`` metadata set to its suffix).

    Raises:
        SkippedFile: an unsupported type, a file over ``max_bytes``, not UTF-8, encrypted,
            without extractable text (a scanned PDF), damaged, or empty.
        MissingDependencyError: a PDF/DOCX/PPTX file without ``ragkit[docs]`` installed.
    """
    suffix = path.suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        what = f"'{suffix}'" if suffix else "a file without a suffix"
        raise SkippedFile("unsupported type", f"unsupported file type {what}; readable: {', '.join(sorted(LOADERS))}")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise SkippedFile("too large", f"{size:,} bytes, over the limit of {max_bytes:,} (raise max_bytes / --max-file-mb)")
    loaded = loader(path)
    if not loaded.text.strip():
        raise SkippedFile("empty", "the file holds no text")
    loaded.metadata["format"] = suffix.lstrip(".")
    return loaded


def skip_record(path: str, skipped: SkippedFile) -> dict[str, str]:
    """The JSON-able report entry of a skipped file."""
    return {"path": path, "reason": skipped.reason, "detail": skipped.detail}
