"""HTML to plain text with the standard library's parser."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["html_to_text"]

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title"})
_BLOCK = frozenset({
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer", "pre",
    "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dd", "dt", "main", "nav", "aside", "figure",
})

#: Block tags that start a new line but not a new paragraph.
_LINE = frozenset({"li", "br", "tr", "dd", "dt"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag.startswith("h") or tag == "p" else "\n")
            if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
                self.parts.append("#" * int(tag[1]) + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK and tag not in _LINE:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """``(text, title)`` of an HTML page: scripts and styles dropped, headings kept as Markdown ``#`` lines.

    Example:
        >>> html_to_text("<html><title>T</title><body><h1>Hi</h1><p>a &amp; b</p></body></html>")
        ('# Hi\\n\\na & b', 'T')
    """
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text: list[str] = []
    blank = False
    for line in lines:
        if line:
            if blank and text:
                text.append("")
            text.append(line)
            blank = False
        else:
            blank = True
    return "\n".join(text), " ".join("".join(parser.title).split())
