"""Document files made in the tests: PDFs (fpdf2), DOCX (python-docx), PPTX (python-pptx), EPUB (zipfile)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

BODY = ("Resetting a password takes three steps. Open the account page, choose the reset link and follow "
        "the mail that arrives a minute later. ")


def make_pdf(path: Path, *, pages: int = 3, running: bool = True, outline: bool = False) -> Path:
    """A manual of ``pages`` pages: a running header and page-number footer, chapter and section headings by
    font size (or bookmarks), body text, a hyphenated line break on page 1, a two-column page and a table on page 2."""
    from fpdf import FPDF

    class Manual(FPDF):
        def header(self) -> None:
            if running:
                self.set_font("Helvetica", size=8)
                self.cell(0, 5, "ACME Router Manual - Internal", align="C", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            if running:
                self.set_y(-12)
                self.set_font("Helvetica", size=8)
                self.cell(0, 5, f"Page {self.page_no()} of {pages}", align="C")

    pdf = Manual()
    pdf.set_title("ACME Router Manual")
    for n in range(1, pages + 1):
        pdf.add_page()
        if outline:
            pdf.start_section(f"Chapter {n}", level=0)
        pdf.set_font("Helvetica", "B", 20)
        pdf.cell(0, 12, f"Chapter {n}", new_x="LMARGIN", new_y="NEXT")
        if outline:
            pdf.start_section(f"Section {n}.1", level=1)
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 9, f"Section {n}.1", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, BODY + f"This page is number {n}.", new_x="LMARGIN", new_y="NEXT")
        if n == 1:
            pdf.multi_cell(0, 6, "The router keeps its configu-\nration in flash memory.", new_x="LMARGIN", new_y="NEXT")
        if n == 2:
            top = pdf.get_y() + 2
            pdf.set_xy(10, top)
            pdf.multi_cell(90, 6, "Left column: the antenna points up. " * 3, new_x="LMARGIN", new_y="NEXT")
            pdf.set_xy(110, top)
            pdf.multi_cell(90, 6, "Right column: the cable goes in the back. " * 3, new_x="LMARGIN", new_y="NEXT")
            pdf.set_y(top + 50)
            with pdf.table() as table:
                for row in (("Model", "Speed"), ("R100", "100 Mbit"), ("R900", "900 Mbit")):
                    cells = table.row()
                    for value in row:
                        cells.cell(value)
    pdf.output(str(path))
    return path


def make_encrypted_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Top secret reset codes.")
    pdf.output(str(path))
    return path


def make_image_pdf(path: Path, tmp: Path) -> Path:
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 120), "white")
    ImageDraw.Draw(image).text((10, 50), "scanned page: reset the router", fill="black")
    image.save(tmp / "scan.png")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(tmp / "scan.png"), x=10, y=10, w=180)
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Setup guide"
    document.add_heading("Setup guide", level=1)
    document.add_paragraph("Plug the router in and wait for the green light.")
    document.add_heading("Resetting the password", level=2)
    document.add_paragraph("Hold the reset button for ten seconds.")
    document.add_paragraph("Unplug the cable", style="List Bullet")
    document.add_paragraph("Hold the button", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate((("Light", "Meaning"), ("Green", "Online"))):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_heading("Warranty", level=2)
    document.add_paragraph("Two years from the date of purchase.")
    document.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    import pptx

    deck = pptx.Presentation()
    for title, body in (("Welcome", "The router family in one slide."), ("Reset", "Hold the reset button ten seconds.")):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text_frame.text = body
    deck.save(str(path))
    return path


def make_epub(path: Path) -> Path:
    chapter = ("<html xmlns='http://www.w3.org/1999/xhtml'><body><h1>{title}</h1><p>{body}</p></body></html>")
    opf = ("<?xml version='1.0'?><package xmlns='http://www.idpf.org/2007/opf' version='3.0'>"
           "<metadata xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title>Router Stories</dc:title></metadata>"
           "<manifest><item id='c2' href='text/c2.xhtml' media-type='application/xhtml+xml'/>"
           "<item id='c1' href='text/c1.xhtml' media-type='application/xhtml+xml'/></manifest>"
           "<spine><itemref idref='c1'/><itemref idref='c2'/></spine></package>")
    container = ("<?xml version='1.0'?><container version='1.0' xmlns='urn:oasis:names:tc:opendocument:xmlns:container'>"
                 "<rootfiles><rootfile full-path='OEBPS/content.opf' media-type='application/oebps-package+xml'/>"
                 "</rootfiles></container>")
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr("META-INF/container.xml", container)
        book.writestr("OEBPS/content.opf", opf)
        book.writestr("OEBPS/text/c1.xhtml", chapter.format(title="Beginnings", body="The first router was slow."))
        book.writestr("OEBPS/text/c2.xhtml", chapter.format(title="Endings", body="The last router was fast."))
    return path


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """A new user's folder: a PDF, a DOCX, a binary file, a Markdown and a text file."""
    root = tmp_path / "docs"
    root.mkdir()
    make_pdf(root / "reset.pdf")
    make_docx(root / "guide.docx")
    (root / "firmware.bin").write_bytes(b"\x00\x01\x02\xff" * 10)
    (root / "notes.md").write_text("# Notes\n\nThe admin password is printed under the router.", encoding="utf-8")
    (root / "faq.txt").write_text("Does the router support IPv6? Yes, since firmware 2.", encoding="utf-8")
    return root


@pytest.fixture
def make() -> SimpleNamespace:
    """The file makers above, for tests: ``make.pdf(path)``, ``make.docx(path)``..."""
    return SimpleNamespace(pdf=make_pdf, encrypted_pdf=make_encrypted_pdf, image_pdf=make_image_pdf, docx=make_docx,
                           pptx=make_pptx, epub=make_epub, BODY=BODY)
