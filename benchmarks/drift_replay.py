"""Drift signals and replay on real traffic: do they see a real shift, and a real change of version?

1. Log the 300 SciFact test claims through ``ObservedRetriever(HybridRetriever)`` over a
   SciFact collection (the reference window), then 300 NFCorpus test queries (nutrition
   questions: off-domain traffic on the same index, the current window), and run
   ``compare_windows``. Then, as a control, two halves of the SciFact window against each other.
2. Replay the SciFact window against "new versions": the same collection with ScoreFusion
   instead of RRF, and with BM25 rebuilt as Okapi instead of Lucene. Report overlap@10.

    python benchmarks/drift_replay.py --collection indexes/scifact
Writes benchmarks/results/drift_replay.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from run_info import finish, markdown, run_info

import ragkit
from ragkit.eval import default_data_dir, load_beir
from ragkit.observe import ObservedRetriever, QueryLog, compare_windows, read_log, replay

RESULTS = Path(__file__).parent / "results"


def _queries(folder: Path, limit: int) -> list[str]:
    lines = (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    judged = {line.split("\t")[0] for line in (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    texts = [json.loads(line) for line in lines if line.strip()]
    return [q["text"] for q in texts if q["_id"] in judged][:limit]


def _signals(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "flags": report["flags"],
        "empty_rate": (report["empty_rate"]["reference"], report["empty_rate"]["current"]),
        "dense_top1_mean": (report["dense_top1"]["reference_mean"], report["dense_top1"]["current_mean"]),
        "dense_top1_psi": report["dense_top1"]["psi"], "dense_top1_ks_p": report["dense_top1"]["ks_pvalue"],
        "bm25_top1_mean": (report["bm25_top1"]["reference_mean"], report["bm25_top1"]["current_mean"]),
        "bm25_top1_psi": report["bm25_top1"]["psi"],
        "agreement": (report["agreement"]["reference"], report["agreement"]["current"]),
        "latency_p95_ratio": report["latency"]["p95"]["ratio"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", type=Path, default=Path("indexes/scifact"), help="a saved SciFact collection")
    parser.add_argument("--data", type=Path, default=None, help="folder holding scifact/ and nfcorpus/ (default ../shared/data)")
    args = parser.parse_args()
    info = run_info(["numpy", "pyarrow", "scipy", "torch", "sentence-transformers", "faiss-cpu"])
    data = args.data or default_data_dir() or Path("../shared/data")
    scifact = list(load_beir(data / "scifact", split="test").queries.values())
    nfcorpus = _queries(data / "nfcorpus", len(scifact))
    col = ragkit.Collection.open(args.collection)
    with tempfile.TemporaryDirectory() as tmp:
        with QueryLog(tmp) as log:
            observed = ObservedRetriever(ragkit.HybridRetriever(col), collection="scifact", query_log=log)
            for batch in (scifact, nfcorpus):
                for query in batch:  # one query per call, as an online service sees them
                    observed.search(query, k=10)
        table = read_log(tmp)
    ref, cur = table.slice(0, len(scifact)), table.slice(len(scifact))
    shift = _signals(compare_windows(ref, cur))
    half = len(scifact) // 2
    control = _signals(compare_windows(ref.slice(0, half), ref.slice(half)))

    bm25 = ragkit.BM25Index(variant="okapi").build(col.chunks.column("text").to_pylist())
    versions = {
        "ScoreFusion (min-max, equal weights) instead of RRF": ragkit.HybridRetriever(col, fusion="score"),
        "BM25 Okapi instead of Lucene": ragkit.HybridRetriever(ragkit.Collection(
            col.chunks, {"vector": col.index(col.index_of_kind("vector")), "bm25": bm25}, embedder=col.embedder)),
        "same version (control)": ragkit.HybridRetriever(col),
    }
    replays = {}
    for name, retriever in versions.items():
        result = replay(ref, retriever, k=10)
        replays[name] = {k: result[k] for k in ("queries", "mean_overlap", "top1_same", "same_set")}
        replays[name]["worst_5"] = result["per_query"].slice(0, 5).to_pylist()

    result = {"run": finish(info), "setup": {"chunks": col.num_chunks, "reference": f"{len(scifact)} SciFact test claims",
                        "current": f"{len(nfcorpus)} NFCorpus test queries"},
              "shift": shift, "control": control, "replay": replays}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "drift_replay.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    md = to_markdown(result)
    (RESULTS / "drift_replay.md").write_text(md, encoding="utf-8")
    print(md)


def to_markdown(result: dict[str, Any]) -> str:
    s = result["setup"]

    def pair(v: tuple[float, float]) -> str:
        return f"{v[0]:.3f} -> {v[1]:.3f}"

    lines = ["# Drift signals and replay on SciFact traffic", "", *markdown(result["run"]), "",
             f"HybridRetriever (RRF) over the SciFact collection ({s['chunks']} chunks), all-MiniLM-L6-v2, logged through "
             "ObservedRetriever + QueryLog.", "",
             "## compare_windows", "",
             "| signal | SciFact -> NFCorpus (off-domain) | SciFact 1st half -> 2nd half (control) |", "|---|---|---|"]
    sh, co = result["shift"], result["control"]
    for key in ("empty_rate", "dense_top1_mean", "bm25_top1_mean", "agreement"):
        lines.append(f"| {key} | {pair(sh[key])} | {pair(co[key])} |")
    for key in ("dense_top1_psi", "dense_top1_ks_p", "bm25_top1_psi", "latency_p95_ratio"):
        lines.append(f"| {key} | {sh[key]:.3g} | {co[key]:.3g} |")
    lines.append(f"| **flags** | {', '.join(sh['flags']) or 'none'} | {', '.join(co['flags']) or 'none'} |")
    lines += ["", "## replay of the SciFact window (overlap@10 over doc ids)", "",
              "| new version | queries | mean overlap@10 | same top-1 | same top-10 set |", "|---|---|---|---|---|"]
    for name, r in result["replay"].items():
        lines.append(f"| {name} | {r['queries']} | {r['mean_overlap']:.3f} | {r['top1_same']:.3f} | {r['same_set']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
