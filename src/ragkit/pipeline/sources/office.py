"""Word (.docx) and PowerPoint (.pptx) files through python-docx and python-pptx (MIT).

DOCX: paragraphs and tables in document order; ``Title`` and ``Heading N`` styles become
Markdown headings, list styles ``- `` items, table rows ``cell | cell`` lines. PPTX: one
page per slide (so chunks get ``page_start``/``page_end`` = slide numbers), the slide title
a ``##`` heading, then its text frames and tables in shape order.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from ragkit.chunking.pages import PAGE_OFFSETS, encode_page_offsets
from ragkit.core.deps import require
from ragkit.pipeline.sources.loaders import Loaded, SkippedFile

__all__ = ["load_docx", "load_pptx"]

_HEADING = re.compile(r"heading\s*(\d)", re.IGNORECASE)


def _open(path: Path, module: str, opener: str) -> Any:
    lib = require(module, extra="docs")
    if not zipfile.is_zipfile(path):
        with path.open("rb") as fh:
            head = fh.read(8)
        if head.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE container: a password-protected Office file
            raise SkippedFile("encrypted", "an encrypted (password-protected) Office file; save it without a password")
        raise SkippedFile("unreadable", "not an Office Open XML file (not a zip archive)")
    try:
        return getattr(lib, opener)(str(path))
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise SkippedFile("unreadable", f"a damaged file ({type(exc).__name__}: {exc})") from None


def _line(text: str) -> str:
    return " ".join(text.split())


def load_docx(path: Path) -> Loaded:
    """The document of a Word file (headings from paragraph styles, tables as ``a | b`` rows).

    Raises:
        SkippedFile: encrypted or damaged.
        MissingDependencyError: python-docx is not installed (``pip install 'ragkit[docs]'``).
    """
    document = _open(path, "docx", "Document")
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[str] = []
    first_heading = ""
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = _line(item.text)
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            level = 1 if style.lower() == "title" else int(m.group(1)) if (m := _HEADING.match(style)) else 0
            if level:
                first_heading = first_heading or text
                blocks.append("#" * level + " " + text)
            elif "list" in style.lower():
                blocks.append("- " + text)
            else:
                blocks.append(text)
        elif isinstance(item, Table):
            rows = [" | ".join(_line(cell.text) for cell in row.cells) for row in item.rows]
            blocks.append("\n".join(r for r in rows if r.strip(" |")))
    title = _line(document.core_properties.title or "") or first_heading
    return Loaded(_join(blocks), {"title": title})


def _join(blocks: list[str]) -> str:
    """Blocks separated by blank lines, except consecutive list items (one list)."""
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("\n" if block.startswith("- ") and out[-1].startswith("- ") else "\n\n")
        out.append(block)
    return "".join(out)


def load_pptx(path: Path) -> Loaded:
    """The document of a slide deck: one page per slide.

    Raises:
        SkippedFile: encrypted or damaged.
        MissingDependencyError: python-pptx is not installed (``pip install 'ragkit[docs]'``).
    """
    deck = _open(path, "pptx", "Presentation")
    pages: list[str] = []
    title = ""
    for slide in deck.slides:
        blocks: list[str] = []
        heading = slide.shapes.title
        if heading is not None and _line(heading.text_frame.text):
            blocks.append("## " + _line(heading.text_frame.text))
            title = title or _line(heading.text_frame.text)
        for shape in slide.shapes:
            if heading is not None and shape.shape_id == heading.shape_id:
                continue
            if shape.has_text_frame:
                lines = [_line(p.text) for p in shape.text_frame.paragraphs]
                blocks.extend(t for t in lines if t)
            elif getattr(shape, "has_table", False) and shape.has_table:
                rows = [" | ".join(_line(c.text) for c in row.cells) for row in shape.table.rows]
                blocks.append("\n".join(r for r in rows if r.strip(" |")))
        pages.append("\n\n".join(blocks))
    offsets, size = [], 0
    for n, page in enumerate(pages):
        size += 2 if n else 0
        offsets.append(size)
        size += len(page)
    core_title = _line(deck.core_properties.title or "")
    return Loaded("\n\n".join(pages), {"title": core_title or title, "pages": len(pages),
                                       PAGE_OFFSETS: encode_page_offsets(offsets)})
