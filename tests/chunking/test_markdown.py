"""MarkdownChunker: sections, heading paths and fenced code."""

from __future__ import annotations

from itertools import pairwise

from ragkit.chunking import MarkdownChunker
from ragkit.chunking.markdown import markdown_sections
from ragkit.core.documents import Document

GUIDE = """Intro before any heading.

# Guide
Welcome to the guide.

## Install
Run the installer:

```bash
# not a heading, a shell comment
pip install ragkit
```

## Use
Call it.

# Reference ##
### Deep
Details here.
"""


def _chunks(text: str, **kwargs: int) -> list[tuple[str, list[str]]]:
    params = {"max_tokens": 1000, "overlap": 0, **kwargs}
    chunker = MarkdownChunker(tokenizer="regex", **params)
    return [(c.text, list(c.metadata["headings"])) for c in chunker.chunk(Document(id="d", text=text))]


def test_each_section_is_a_chunk_with_its_heading_path() -> None:
    assert _chunks(GUIDE) == [
        ("Intro before any heading.", []),
        ("# Guide\nWelcome to the guide.", ["Guide"]),
        (
            "## Install\nRun the installer:\n\n```bash\n# not a heading, a shell comment\npip install ragkit\n```",
            ["Guide", "Install"],
        ),
        ("## Use\nCall it.", ["Guide", "Use"]),
        ("# Reference ##", ["Reference"]),
        ("### Deep\nDetails here.", ["Reference", "Deep"]),
    ]


def test_chunks_never_cross_sections_and_keep_heading_with_body() -> None:
    chunker = MarkdownChunker(max_tokens=12, overlap=3, tokenizer="regex")
    doc = Document(id="d", text=GUIDE)
    chunks = chunker.chunk(doc)
    sections = markdown_sections(GUIDE)
    for c in chunks:
        inside = [(lo, hi) for lo, hi, _ in sections if lo <= c.start and c.end <= hi]
        assert len(inside) == 1, f"chunk {c.text!r} crosses a section boundary"
    install = [c for c in chunks if c.metadata["headings"] == ["Guide", "Install"]]
    assert install[0].text.startswith("## Install\nRun the installer")
    assert any("pip install ragkit" in c.text for c in install)


def test_tilde_fences_and_fence_lengths() -> None:
    text = "# A\n~~~\n# inside\n```\n# still inside\n~~~\n# B\n````\n```\n# inside too\n````\n## C\nx"
    paths = [path for _, _, path in markdown_sections(text)]
    assert paths == [("A",), ("B",), ("B", "C")]


def test_unclosed_fence_runs_to_the_end() -> None:
    text = "# A\n```python\n# comment\n## not a heading"
    assert [path for _, _, path in markdown_sections(text)] == [("A",)]


def test_what_is_not_an_atx_heading() -> None:
    text = "#hashtag\n    # indented code\n####### seven\n> # quote\ntext"
    assert markdown_sections(text) == [(0, len(text), ())]


def test_heading_details() -> None:
    text = "   ## Indented ok ##\nbody\n# C# tips\nmore\n#\nempty"
    assert [path for _, _, path in markdown_sections(text)] == [("Indented ok",), ("C# tips",), ("",)]


def test_sections_tile_the_text() -> None:
    sections = markdown_sections(GUIDE)
    assert sections[0][0] == 0 and sections[-1][1] == len(GUIDE)
    assert all(a[1] == b[0] for a, b in pairwise(sections))


def test_headings_metadata_joins_document_metadata() -> None:
    doc = Document(id="d", text="# T\nbody", metadata={"source": "wiki", "headings": "overridden"})
    (chunk,) = MarkdownChunker(tokenizer="regex").chunk(doc)
    assert chunk.metadata == {"source": "wiki", "headings": ["T"]}


def test_long_section_is_split_with_the_same_path(hf_tokenizer: str) -> None:
    body = " ".join(f"Sentence number {i} describes the install step." for i in range(40))
    text = f"# Guide\n## Install\n{body}\n# Next\nShort."
    chunker = MarkdownChunker(max_tokens=32, overlap=8, tokenizer=hf_tokenizer)
    chunks = chunker.chunk(Document(id="d", text=text))
    install = [c for c in chunks if c.metadata["headings"] == ["Guide", "Install"]]
    assert len(install) > 5
    assert install[0].text.startswith("## Install\nSentence number 0")
    assert chunks[-1].text == "# Next\nShort." and chunks[-1].metadata["headings"] == ["Next"]
    assert chunks[0].text == "# Guide" and chunks[0].metadata["headings"] == ["Guide"]
