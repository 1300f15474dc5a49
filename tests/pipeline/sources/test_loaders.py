"""Loaders of PDF, DOCX, PPTX, EPUB and HTML files: text, headings, pages, offsets, skip reasons."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ragkit import Document, MarkdownChunker
from ragkit.chunking.pages import decode_page_offsets, page_span
from ragkit.core.errors import InputError, MissingDependencyError
from ragkit.pipeline.sources import SkippedFile, load_file
from ragkit.pipeline.sources.pagetext import Line, drop_running_lines, join_pages


def _chunks(path: Path, max_tokens: int = 40) -> tuple[Document, list]:  # type: ignore[type-arg]
    loaded = load_file(path)
    doc = Document(id=path.name, text=loaded.text, metadata=loaded.metadata)
    return doc, MarkdownChunker(max_tokens=max_tokens, overlap=0).chunk(doc)


def test_pdf_text_headings_running_lines_and_hyphenation(tmp_path: Path, make: SimpleNamespace) -> None:
    loaded = load_file(make.pdf(tmp_path / "m.pdf"))
    text = loaded.text
    assert loaded.metadata["title"] == "ACME Router Manual" and loaded.metadata["pages"] == 3
    assert "ACME Router Manual - Internal" not in text and "Page 2 of 3" not in text  # running header and footer gone
    assert "# Chapter 1\n\n## Section 1.1\n\n" in text and "# Chapter 3" in text  # numbered headings stay
    assert "configuration in flash memory" in text and "configu-" not in text
    assert make.BODY.split(".")[0] in text


def test_pdf_two_columns_read_column_by_column_and_table_rows_in_order(tmp_path: Path, make: SimpleNamespace) -> None:
    text = load_file(make.pdf(tmp_path / "m.pdf")).text
    left, right = text.index("Left column"), text.index("Right column")
    assert left < right and text.rindex("Left column") < right  # the left column entirely before the right one
    assert text.index("Model Speed") < text.index("R100 100 Mbit") < text.index("R900 900 Mbit")


def test_pdf_outline_gives_heading_levels(tmp_path: Path, make: SimpleNamespace) -> None:
    text = load_file(make.pdf(tmp_path / "o.pdf", outline=True, running=False)).text
    assert "# Chapter 2\n\n## Section 2.1" in text


def test_pdf_chunks_know_their_pages_and_offsets_point_into_the_text(tmp_path: Path, make: SimpleNamespace) -> None:
    doc, chunks = _chunks(make.pdf(tmp_path / "m.pdf"))
    offsets = decode_page_offsets(doc.metadata["page_offsets"])
    assert len(offsets) == 3 and offsets[0] == 0
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
        assert "page_offsets" not in chunk.metadata
        first, last = chunk.metadata["page_start"], chunk.metadata["page_end"]
        assert (first, last) == page_span(offsets, chunk.start, chunk.end)
        assert f"This page is number {first}" in doc.text[offsets[first - 1]:] and first <= last
    by_heading = {tuple(c.metadata["headings"]): c for c in chunks}
    assert by_heading[("Chapter 2", "Section 2.1")].metadata["page_start"] == 2
    assert by_heading[("Chapter 3", "Section 3.1")].metadata["page_end"] == 3


def test_page_span_of_a_chunk_across_pages() -> None:
    assert page_span([0, 10, 20], 5, 15) == (1, 2)
    assert page_span([0, 10, 20], 10, 20) == (2, 2)
    assert page_span([0, 10, 20], 25, 30) == (3, 3)
    with pytest.raises(InputError, match="ascending"):
        decode_page_offsets("10 5")


def test_encrypted_and_image_only_pdfs_are_skipped_with_their_reason(tmp_path: Path, make: SimpleNamespace) -> None:
    with pytest.raises(SkippedFile) as enc:
        load_file(make.encrypted_pdf(tmp_path / "e.pdf"))
    assert enc.value.reason == "encrypted" and "password" in enc.value.detail
    with pytest.raises(SkippedFile) as scan:
        load_file(make.image_pdf(tmp_path / "s.pdf", tmp_path))
    assert scan.value.reason == "no extractable text" and "OCR" in scan.value.detail


def test_damaged_pdf_and_unsupported_types(tmp_path: Path) -> None:
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(SkippedFile) as bad:
        load_file(tmp_path / "bad.pdf")
    assert bad.value.reason in ("unreadable", "no extractable text")
    (tmp_path / "x.bin").write_bytes(b"\x00")
    with pytest.raises(SkippedFile, match="unsupported file type '.bin'"):
        load_file(tmp_path / "x.bin")
    (tmp_path / "l.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(SkippedFile) as latin:
        load_file(tmp_path / "l.txt")
    assert latin.value.reason == "not UTF-8"
    (tmp_path / "big.md").write_text("x" * 100)
    with pytest.raises(SkippedFile) as big:
        load_file(tmp_path / "big.md", max_bytes=10)
    assert big.value.reason == "too large"


def test_docx_styles_become_headings_lists_and_tables(tmp_path: Path, make: SimpleNamespace) -> None:
    doc, chunks = _chunks(make.docx(tmp_path / "g.docx"), max_tokens=30)
    assert doc.metadata["title"] == "Setup guide" and doc.metadata["format"] == "docx"
    assert doc.text.startswith("# Setup guide\n\nPlug the router in")
    assert "## Resetting the password" in doc.text
    assert "- Unplug the cable\n- Hold the button" in doc.text
    assert "Light | Meaning\nGreen | Online" in doc.text
    paths = {tuple(c.metadata["headings"]) for c in chunks}
    assert ("Setup guide", "Resetting the password") in paths and ("Setup guide", "Warranty") in paths
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)


def test_pptx_slides_are_pages(tmp_path: Path, make: SimpleNamespace) -> None:
    doc, chunks = _chunks(make.pptx(tmp_path / "s.pptx"), max_tokens=12)
    assert doc.text == "## Welcome\n\nThe router family in one slide.\n\n## Reset\n\nHold the reset button ten seconds."
    reset = next(c for c in chunks if "Hold" in c.text)
    assert (reset.metadata["page_start"], reset.metadata["page_end"]) == (2, 2)


def test_epub_chapters_in_spine_order(tmp_path: Path, make: SimpleNamespace) -> None:
    loaded = load_file(make.epub(tmp_path / "b.epub"))
    assert loaded.text == "# Beginnings\n\nThe first router was slow.\n\n# Endings\n\nThe last router was fast."
    assert loaded.metadata["title"] == "Router Stories"


def test_encrypted_office_file(tmp_path: Path) -> None:
    (tmp_path / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    with pytest.raises(SkippedFile) as exc:
        load_file(tmp_path / "locked.docx")
    assert exc.value.reason == "encrypted"


def test_missing_library_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: SimpleNamespace) -> None:
    import sys

    path = make.docx(tmp_path / "g.docx")
    monkeypatch.setitem(sys.modules, "docx", None)
    with pytest.raises(MissingDependencyError, match=r"ragkit\[docs\]"):
        load_file(path)


def test_running_lines_need_half_the_pages() -> None:
    pages = [[Line("Header", 8), Line(f"body {n}", 11), Line(f"{n}", 8)] for n in range(1, 5)]
    pages[3][0] = Line("Something else", 8)
    cleaned = drop_running_lines(pages)
    assert [line.text for line in cleaned[0]] == ["body 1"]
    assert [line.text for line in cleaned[3]] == ["Something else", "body 4"]
    text, offsets = join_pages(cleaned)
    assert offsets == [0, 8, 16, 24] and text[offsets[3]:].startswith("Something else")
