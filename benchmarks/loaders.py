"""Document loaders and incremental sync: PDF throughput and text quality, and what a sync costs against a build.

PDF part: every PDF extractor installed reads the same files, one after the other in this
run: ragkit's loader (pypdf with headings, running-line removal and de-hyphenation),
plain pypdf ``extract_text()``, pdfplumber ``extract_text()`` and, if installed, PyMuPDF
``get_text()`` (AGPL: measured for comparison only, never a ragkit dependency) - each at
its defaults. Inputs: a generated 40-page two-column-free manual whose text is known
(SciFact abstracts, ODC-By; a running header, a page-number footer and hyphenated line
breaks on every page), and the real PDFs shipped by Debian's documentation packages when
present (libtasn1 manual, shared-mime-info spec). Quality on the generated manual: word
order similarity to the true text (difflib ratio over words), running headers left, and
hyphenated words left broken.

Sync part: the default model (all-MiniLM-L6-v2, loaded once before timing), Flat + BM25,
``--docs`` SciFact documents: a full build, then a sync after changing 1% of them, then a
sync with nothing changed; ratio = sync seconds / build seconds.

    nice -n 5 .venv/bin/python benchmarks/loaders.py --docs 1000
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run_info import finish, markdown, run_info

from ragkit.eval import default_data_dir

RESULTS = Path(__file__).parent / "results"
REAL_PDFS = [Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"), Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")]
HEADER = "SciFact Abstracts - Benchmark Edition"


def _abstracts(n: int) -> list[dict[str, Any]]:
    path = default_data_dir() / "scifact" / "corpus.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for _, line in zip(range(n), fh, strict=False)]


def make_manual(path: Path, pages: int = 40) -> str:
    """A manual of ``pages`` pages of abstracts; returns its true body text (headings and paragraphs)."""
    from fpdf import FPDF

    class Manual(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, HEADER, align="C", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, f"Page {self.page_no()}", align="C")

    pdf = Manual()
    truth: list[str] = []
    for record in _abstracts(pages):
        pdf.add_page()
        title = record["title"].encode("latin-1", "replace").decode("latin-1")
        body = record["text"][:1800].encode("latin-1", "replace").decode("latin-1")
        pdf.set_font("Helvetica", "B", 15)
        pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        long = re.search(r"\b[a-z]{10,}\b", body)
        shown = body if long is None else body[:long.start() + 5] + "-\n" + body[long.start() + 5:]  # a hyphenated break
        pdf.multi_cell(0, 5, shown, new_x="LMARGIN", new_y="NEXT")
        truth += [title, body]
    pdf.output(str(path))
    return "\n".join(truth)


def _extractors() -> dict[str, Any]:
    from ragkit.pipeline.sources.pdf import load_pdf

    out: dict[str, Any] = {"ragkit (pypdf + cleanup)": lambda p: load_pdf(p).text}
    import pypdf

    out["pypdf extract_text"] = lambda p: "\n".join(page.extract_text() for page in pypdf.PdfReader(p).pages)
    try:
        import pdfplumber

        def plumber(p: Path) -> str:
            with pdfplumber.open(p) as pdf:
                return "\n".join(page.extract_text() or "" for page in pdf.pages)

        out["pdfplumber extract_text"] = plumber
    except ImportError:
        pass
    try:
        import pymupdf

        def mupdf(p: Path) -> str:
            with pymupdf.open(p) as doc:
                return "\n".join(page.get_text() for page in doc)

        out["pymupdf get_text (AGPL)"] = mupdf
    except ImportError:
        pass
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bench_pdfs(tmp: Path) -> list[dict[str, Any]]:
    import pypdf

    manual = tmp / "manual.pdf"
    truth = make_manual(manual)
    true_words = _words(truth)
    files = [manual, *[p for p in REAL_PDFS if p.is_file()]]
    rows = []
    for name, extract in _extractors().items():
        for file in files:
            pages = len(pypdf.PdfReader(file).pages)
            extract(file)  # warm (imports, caches)
            start = time.perf_counter()
            text = extract(file)
            seconds = time.perf_counter() - start
            row: dict[str, Any] = {"extractor": name, "file": file.name, "pages": pages, "seconds": round(seconds, 3),
                                   "pages_per_s": round(pages / seconds, 1), "chars": len(text),
                                   "markdown_headings": len(re.findall(r"(?m)^#{1,6} ", text))}
            if file == manual:
                row["word_order_similarity"] = round(difflib.SequenceMatcher(None, true_words, _words(text),
                                                                             autojunk=False).ratio(), 4)
                row["running_headers_left"] = text.count(HEADER)
                row["broken_hyphenations"] = len(re.findall(r"[a-z]-\n[a-z]", text))
            rows.append(row)
            print(row, flush=True)
    return rows


def bench_sync(tmp: Path, docs: int) -> dict[str, Any]:
    from ragkit import BM25Index, FaissIndex, RecursiveChunker
    from ragkit.embedding import SentenceTransformerEmbedder
    from ragkit.pipeline import BatchConfig, sync_collection

    records = _abstracts(docs)
    src = tmp / "corpus.jsonl"

    def write(rows: list[dict[str, Any]]) -> None:
        src.write_text("".join(json.dumps({"id": r["_id"], "title": r["title"], "text": r["text"]}) + "\n" for r in rows))

    embedder = SentenceTransformerEmbedder(show_progress=False)
    embedder.embed_documents(["warm up the model"])

    def settings() -> dict[str, Any]:
        return {"chunker": RecursiveChunker(), "embedder": embedder, "indexes": [FaissIndex("Flat"), BM25Index()],
                "config": BatchConfig(progress=False)}

    write(records)
    out = tmp / "col"
    start = time.perf_counter()
    built = sync_collection(src, out, **settings())
    build_s = time.perf_counter() - start
    changed = max(1, docs // 100)
    for r in records[:changed]:
        r["text"] += " (revised)"
    write(records)
    start = time.perf_counter()
    synced = sync_collection(src, out, **settings())
    sync_s = time.perf_counter() - start
    start = time.perf_counter()
    idle = sync_collection(src, out, **settings())
    idle_s = time.perf_counter() - start
    result = {"documents": docs, "chunks": built.chunks_added, "changed": changed, "build_seconds": round(build_s, 2),
              "sync_seconds": round(sync_s, 2), "sync_report": synced.to_dict(), "nothing_changed_seconds": round(idle_s, 2),
              "nothing_changed_unchanged": idle.unchanged,
              "sync_over_build": round(sync_s / build_s, 4), "idle_over_build": round(idle_s / build_s, 4)}
    print(result, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="SciFact documents of the sync benchmark")
    parser.add_argument("--skip-sync", action="store_true")
    args = parser.parse_args()
    info = run_info(["pypdf", "pdfplumber", "pymupdf", "python-docx", "fpdf2", "sentence-transformers", "torch"])
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = bench_pdfs(Path(tmp))
        sync = None if args.skip_sync else bench_sync(Path(tmp), args.docs)
    finish(info)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "loaders.json").write_text(json.dumps({"run": info, "pdf": pdfs, "sync": sync}, indent=2) + "\n")
    lines = ["# Document loaders and incremental sync", "", *markdown(info), "", "## PDF extraction", "",
             "| extractor | file | pages | pages/s | word-order similarity | running headers left | broken hyphenations | headings |",
             "|---|---|---|---|---|---|---|---|"]
    for r in pdfs:
        lines.append(f"| {r['extractor']} | {r['file']} | {r['pages']} | {r['pages_per_s']} | "
                     f"{r.get('word_order_similarity', '')} | {r.get('running_headers_left', '')} | "
                     f"{r.get('broken_hyphenations', '')} | {r['markdown_headings']} |")
    if sync is not None:
        lines += ["", "## Sync cost (default model, Flat + BM25, SciFact)", "",
                  f"{sync['documents']} documents ({sync['chunks']} chunks): full build {sync['build_seconds']} s; "
                  f"sync after changing {sync['changed']} documents {sync['sync_seconds']} s "
                  f"(**{100 * sync['sync_over_build']:.1f}%** of the build); sync with nothing changed "
                  f"{sync['nothing_changed_seconds']} s ({100 * sync['idle_over_build']:.1f}%)."]
    (RESULTS / "loaders.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
