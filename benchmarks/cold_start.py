"""Cold start of ``ragkit search``: process start to the first answer, and where the time goes.

Each case is a fresh process, as a user runs it (``python -m ragkit.cli search COLLECTION QUERY -k 3``),
timed from spawn to exit, ``--repeats`` times (median and best reported). A probe process then
repeats the command's steps one by one and times each: interpreter start, ``import ragkit.cli``,
opening the collection, importing torch and sentence-transformers, loading the model, embedding
the query, the search itself. It also lists which heavy modules were imported.

Cases: a BM25-only collection (the CLI's default mode falls back to BM25), the same with
``--mode bm25``, a hybrid collection with ``--mode bm25``, and with the default hybrid mode twice:
queries embedded with torch (``--query-backend torch``: the path before the ONNX backend) and
with the default (ONNX Runtime, the model exported once beforehand — the build step warms it).
Both collections index this repository's docs/ (built once into ``--work``, the hybrid one with
the default model), by each configuration for itself (an older tree may not read a newer format).

    python benchmarks/cold_start.py                                   # this tree, this interpreter
    python benchmarks/cold_start.py --config "before=/tmp/head/src" --config "after=src" \
        --config "runtime venv=src@/tmp/venv-runtime/bin/python"
Each ``--config LABEL=SRC[@PYTHON]`` runs ragkit from the source tree SRC (first on PYTHONPATH)
with the interpreter PYTHON (default: this one). The configurations alternate within each
repeat, so a change in the machine's load affects them alike.
Writes benchmarks/results/cold_start.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from run_info import finish, markdown, run_info

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
QUERY = "how do I save an index and open it again?"
HEAVY = ("torch", "sentence_transformers", "transformers", "onnxruntime", "faiss", "pandas", "scipy.sparse")
#: (case, collection, --mode, --query-backend)
CASES = (("bm25-only collection, default mode", "bm25", None, None),
         ("bm25-only collection, --mode bm25", "bm25", "bm25", None),
         ("hybrid collection, --mode bm25", "hybrid", "bm25", None),
         ("hybrid collection, hybrid, queries on torch", "hybrid", "hybrid", "torch"),
         ("hybrid collection, hybrid (default: queries on ONNX Runtime)", "hybrid", "hybrid", None))

PROBE = r"""
import sys, time, json
t = {"start": time.time()}
marks = []
def mark(name):
    marks.append((name, time.perf_counter()))
mark("start")
import ragkit.cli.main
from ragkit.cli.retrievers import retriever_for
mark("import ragkit.cli")
from ragkit.store import open_collection
col = open_collection(sys.argv[1])
mark("open collection")
mode = sys.argv[2]
if mode == "bm25-fallback":
    mode = "bm25" if not any(i.kind == "vector" for i in col.indexes.values()) else "hybrid"
if mode != "bm25" and sys.argv[5] == "torch":
    from ragkit.cli.search import use_query_backend
    use_query_backend(col, "torch")
    import torch
    mark("import torch")
    import sentence_transformers
    mark("import sentence-transformers")
    col.embedder.load()
    mark("load model")
    vec = col.embed_queries([sys.argv[3]])
    mark("embed query")
elif mode != "bm25":
    col.embedder.onnx_encoder("query")
    mark("load the ONNX model (checksum, session)")
    vec = col.embed_queries([sys.argv[3]])
    mark("embed query")
else:
    vec = None
retriever = retriever_for(col, mode)
hits = retriever.search_batch([sys.argv[3]], k=3, query_vectors=vec) if vec is not None else retriever.search_batch([sys.argv[3]], k=3)
mark("search (incl. first use of the indexes)")
heavy = sorted(m for m in json.loads(sys.argv[4]) if m in sys.modules)
steps = [(a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])]
print(json.dumps({"spawned_to_start": t["start"], "steps": [[b[0], s] for b, s in zip(marks[1:], [s for _, s in steps])],
                  "heavy": heavy, "hits": len(hits[0])}))
"""


def _env(src: str | None) -> dict[str, str]:
    # bytecode is cached (by the untimed build and warm-up runs) and reused, as for an installed package: a
    # PYTHONDONTWRITEBYTECODE inherited from the shell would compile every module from source in every run
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    if src:
        env["PYTHONPATH"] = src
    return env


def build(python: str, work: Path, src: str | None) -> dict[str, Path]:
    """The two collections over docs/, built once (kept in ``work``)."""
    out = {"bm25": work / "docs-bm25", "hybrid": work / "docs-hybrid"}
    for kind, path in out.items():
        if not (path / "manifest.json").is_file():
            extra = ["--no-vectors"] if kind == "bm25" else []
            subprocess.run([python, "-m", "ragkit.cli", "index", str(ROOT / "docs"), str(path), "--no-progress", *extra],
                           check=True, env=_env(src), stdout=subprocess.DEVNULL)
    # export the default model to ONNX once (the cache every later process reuses), outside the timings
    subprocess.run([python, "-m", "ragkit.cli", "search", str(out["hybrid"]), QUERY, "-k", "1"], check=True, env=_env(src),
                   stdout=subprocess.DEVNULL)
    return out


def time_command(python: str, collection: Path, mode: str | None, backend: str | None, repeats: int,
                 src: str | None) -> dict[str, Any]:
    cmd = [python, "-m", "ragkit.cli", "search", str(collection), QUERY, "-k", "3", *(["--mode", mode] if mode else []),
           *(["--query-backend", backend] if backend else [])]
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=_env(src), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
    return {"median_s": statistics.median(walls), "best_s": min(walls), "runs": walls}


def probe(python: str, collection: Path, mode: str | None, backend: str | None, src: str | None) -> dict[str, Any]:
    spawned = time.time()
    out = subprocess.run([python, "-c", PROBE, str(collection), mode or "bm25-fallback", QUERY, json.dumps(HEAVY),
                          backend or "auto"],
                         check=True, env=_env(src), capture_output=True, text=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["steps"] = [["interpreter start", data.pop("spawned_to_start") - spawned], *data["steps"]]
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", default=None, metavar="LABEL=SRC[@PYTHON]",
                        help="a configuration to time (repeatable; default: this tree with this interpreter)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ragkit-cold-start"), help="where the collections are built")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bm25-only", action="store_true", help="only the cases that search with BM25 (no model)")
    args = parser.parse_args()
    cases = [c for c in CASES if not (args.bm25_only and c[2] == "hybrid")]

    configs = []
    for spec in args.config or [f"this tree=src@{sys.executable}"]:
        label, _, rest = spec.partition("=")
        src, _, python = rest.partition("@")
        configs.append((label, str(Path(src).resolve()) if src else None, python or sys.executable))
    info = run_info(["numpy", "pyarrow", "torch", "sentence-transformers", "transformers", "onnxruntime", "faiss-cpu",
                     "faiss-gpu", "pandas"])
    args.work.mkdir(parents=True, exist_ok=True)
    # each configuration builds (and reads) its own collections: an older tree may not read a newer collection format
    collections = {label: build(python, args.work / _slug(label), src) for label, src, python in configs}
    walls: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):  # configurations alternate: the same load for each
        for name, kind, mode, backend in cases:
            for label, src, python in configs:
                walls.setdefault((label, name), []).extend(
                    time_command(python, collections[label][kind], mode, backend, 1, src)["runs"])
    rows = []
    for label, src, python in configs:
        for name, kind, mode, backend in cases:
            runs = walls[(label, name)]
            rows.append({"config": label, "src": src, "python": python, "case": name, "median_s": statistics.median(runs),
                         "best_s": min(runs), "runs": runs, "probe": probe(python, collections[label][kind], mode, backend, src)})
            print(f"{label} | {name}: median {rows[-1]['median_s']:.2f}s, best {rows[-1]['best_s']:.2f}s", file=sys.stderr)
    write({"run": finish(info), "query": QUERY, "repeats": args.repeats, "rows": rows})


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in label) or "config"


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cold_start.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    lines = ["# Cold start of `ragkit search` (process start to first answer)", "", *markdown(results["run"]), ""]
    lines += [f"Query: `{results['query']}`, `-k 3`; each figure is a fresh process, median and best of "
              f"{results['repeats']} runs (Python bytecode cached, as for an installed package).", "",
              "| configuration | case | median s | best s | heavy modules imported |", "|---|---|---|---|---|"]
    for r in results["rows"]:
        lines.append(f"| {r['config']} | {r['case']} | {r['median_s']:.2f} | {r['best_s']:.2f} | "
                     f"{', '.join(r['probe']['heavy']) or 'none'} |")
    lines += ["", "## Where the time goes (one probe process per case)", ""]
    for r in results["rows"]:
        steps = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in r["probe"]["steps"])
        lines.append(f"- {r['config']} | {r['case']}: {steps}")
    (RESULTS / "cold_start.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
