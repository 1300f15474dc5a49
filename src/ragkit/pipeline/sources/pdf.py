"""PDF files through pypdf (BSD, pure Python): text in content order, headings, pages.

Each page's text is read with its font sizes (pypdf's text visitor). Headings come from
the PDF outline (bookmarks) where a line matches an outline title on its page, else from
font size (:func:`~ragkit.pipeline.sources.pagetext.heading_levels`); running headers and
footers are dropped and end-of-line hyphenation undone
(:mod:`~ragkit.pipeline.sources.pagetext`). The metadata gets ``title`` (the document
information's, else the first heading), ``pages`` and the page map.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ragkit.chunking.pages import PAGE_OFFSETS, encode_page_offsets
from ragkit.core.deps import require
from ragkit.pipeline.sources.loaders import Loaded, SkippedFile
from ragkit.pipeline.sources.pagetext import Line, drop_running_lines, heading_levels, join_pages

__all__ = ["load_pdf", "pdf_pages"]

logger = logging.getLogger(__name__)


def load_pdf(path: Path) -> Loaded:
    """The document of a PDF file.

    Raises:
        SkippedFile: encrypted with a password, damaged, or with no text layer (scanned).
        MissingDependencyError: pypdf is not installed (``pip install 'ragkit[docs]'``).
    """
    pages, title = pdf_pages(path)
    if not any(line.text.strip() for lines in pages for line in lines):
        raise SkippedFile("no extractable text", f"none of its {len(pages)} page(s) has a text layer: a scanned or "
                          "image-only PDF; run OCR on it first (e.g. ocrmypdf in.pdf out.pdf) and index the result")
    pages = drop_running_lines(pages)
    heading_levels(pages)
    text, offsets = join_pages(pages)
    if not title:
        title = next((line.text.strip() for lines in pages for line in lines if line.level), "")
    return Loaded(text, {"title": title, "pages": len(pages), PAGE_OFFSETS: encode_page_offsets(offsets)})


def pdf_pages(path: Path) -> tuple[list[list[Line]], str]:
    """The lines of every page (with font sizes and outline heading levels) and the document title."""
    require("pypdf", extra="docs")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):  # an empty user password: readable, only restricted
            raise SkippedFile("encrypted", "encrypted with a password; decrypt it first (e.g. qpdf --decrypt)")
        outline = _outline(reader)
        pages = [_page_lines(page, outline.get(n, {})) for n, page in enumerate(reader.pages)]
        info = reader.metadata
        title = str(info.title).strip() if info is not None and info.title else ""
    except (FileNotDecryptedError, DependencyError) as exc:
        raise SkippedFile("encrypted", f"encrypted and not readable here ({exc}); decrypt it first") from None
    except SkippedFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SkippedFile("unreadable", f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    return pages, title


def _outline(reader: Any) -> dict[int, dict[str, int]]:
    """Page number -> {normalised outline title: level} of the document's bookmarks."""
    found: dict[int, dict[str, int]] = {}

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:
                continue
            title = _norm(str(getattr(item, "title", "") or ""))
            if page is not None and page >= 0 and title:
                found.setdefault(page, {})[title] = min(level, 6)

    try:
        walk(reader.outline, 1)
    except Exception as exc:
        logger.debug("ignoring the outline of a PDF: %s", exc)
    return found


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def _page_lines(page: Any, outline: dict[str, int]) -> list[Line]:
    lines: list[Line] = []
    parts: list[str] = []
    sizes: list[tuple[float, int]] = []  # (size, characters) of the current line's pieces

    def end_line() -> None:
        text = "".join(parts)
        size = max(sizes, key=lambda s: s[1])[0] if sizes else 0.0
        lines.append(Line(text, size, outline.get(_norm(text), 0)))
        parts.clear()
        sizes.clear()

    def visit(text: str, cm: Any, tm: Any, font: Any, font_size: Any) -> None:
        scale = abs(float(tm[3]) * float(cm[3])) if tm is not None and cm is not None else 1.0
        size = float(font_size or 0.0) * (scale or 1.0)
        pieces = text.split("\n")
        for n, piece in enumerate(pieces):
            if n:
                end_line()
            if piece:
                parts.append(piece)
                if piece.strip():
                    sizes.append((round(size, 1), len(piece)))

    page.extract_text(visitor_text=visit)
    if parts:
        end_line()
    return [line for line in lines if line.text.strip()]
