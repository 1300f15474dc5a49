"""EPUB books with the standard library: the spine's XHTML files in reading order, as Markdown text."""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from ragkit.pipeline.sources.html import html_to_text
from ragkit.pipeline.sources.loaders import Loaded, SkippedFile

__all__ = ["load_epub"]

_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"


def load_epub(path: Path) -> Loaded:
    """The document of an EPUB file: each spine item converted like an HTML page, headings kept.

    Raises:
        SkippedFile: not a valid EPUB, or DRM-encrypted.
    """
    try:
        with zipfile.ZipFile(path) as book:
            names = set(book.namelist())
            if "META-INF/encryption.xml" in names:
                raise SkippedFile("encrypted", "a DRM-protected EPUB (META-INF/encryption.xml); remove the DRM first")
            container = ElementTree.fromstring(book.read("META-INF/container.xml"))
            rootfile = container.find(f".//{_CONTAINER}rootfile")
            if rootfile is None:
                raise SkippedFile("unreadable", "an EPUB without a package document (rootfile)")
            opf_path = rootfile.get("full-path", "")
            opf = ElementTree.fromstring(book.read(opf_path))
            base = posixpath.dirname(opf_path)
            manifest = {item.get("id"): item.get("href", "") for item in opf.iter(f"{_OPF}item")}
            parts = []
            for ref in opf.iter(f"{_OPF}itemref"):
                href = manifest.get(ref.get("idref"))
                if href:
                    name = posixpath.normpath(posixpath.join(base, href.split("#")[0]))
                    if name in names:
                        text, _ = html_to_text(book.read(name).decode("utf-8", errors="replace"))
                        if text.strip():
                            parts.append(text)
            title_el = opf.find(f".//{_DC}title")
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise SkippedFile("unreadable", f"not a readable EPUB ({type(exc).__name__}: {exc})") from None
    title = " ".join((title_el.text or "").split()) if title_el is not None else ""
    return Loaded("\n\n".join(parts), {"title": title})
