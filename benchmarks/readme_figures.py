"""The README's measured figures, generated from benchmarks/results/*.json (never typed by hand).

The block between ``<!-- measured:start -->`` and ``<!-- measured:end -->`` in README.md is this
script's output; ``tests/test_readme_figures.py`` fails when it differs from what the results files
give, so a re-run benchmark and the README cannot drift apart.

    python benchmarks/readme_figures.py            # print the block
    python benchmarks/readme_figures.py --write    # replace it in README.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
START, END = "<!-- measured:start -->", "<!-- measured:end -->"
SET_NAMES = {"scifact": "SciFact", "nfcorpus": "NFCorpus", "cisi": "CISI", "cranfield": "Cranfield", "dbpedia-5k": "dbpedia-5k"}


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _run_line(name: str, data: dict[str, Any]) -> str:
    run = data["run"]
    return f"`benchmarks/results/{name}.md`, {run['date_utc']}, load {run['load_average_start']}"


def quality(data: dict[str, Any]) -> list[str]:
    lines = ["Quality of the defaults (`build_collection` + `HybridRetriever(col)`, no labels), nDCG@10 on the test split, "
             f"every judged query, document level ({_run_line('beir_quality', data)}; `python benchmarks/beir_quality.py`):",
             "", "| set | BM25 | dense | hybrid (default) | hybrid RRF k=60 | tuned with labels | default - better leg (p) |",
             "|---|---|---|---|---|---|---|"]
    order = [s for s in SET_NAMES if s in data["sets"]] + sorted(set(data["sets"]) - set(SET_NAMES))
    for name in order:
        res = data["sets"][name]
        q, leg = res["quality"], res["hybrid_vs_best_leg"]
        lines.append(f"| {SET_NAMES.get(name, name)} ({res['test_queries']} q) | {q['bm25']['ndcg@10']:.4f} | "
                     f"{q['dense']['ndcg@10']:.4f} | **{q['hybrid']['ndcg@10']:.4f}** | {q['hybrid_rrf']['ndcg@10']:.4f} | "
                     f"{q['tuned']['ndcg@10']:.4f} | {leg['mean_diff']:+.4f} ({leg['p_value']:.3f}) |")
    return lines


def bm25(data: dict[str, Any]) -> list[str]:
    parts = []
    for name, res in data["beir"].items():
        numba, numpy = res["ratio_vs_bm25s_numba"], res["ratio_vs_bm25s_numpy"]
        parts.append(f"{SET_NAMES.get(name, name)} {numba['batch']:.2f}x batched / {numba['one_by_one']:.2f}x one query "
                     f"at a time (bm25s NumPy backend: {numpy['batch']:.1f}x / {numpy['one_by_one']:.1f}x)")
    line = (f"- BM25 ({_run_line('bm25_speed', data)}; same tokens, one thread, best of {data['repeats']} for every "
            "system) against bm25s with its recommended numba backend: " + "; ".join(parts) + ".")
    scale = data.get("scale")
    if scale and "bm25s_numba" in scale:
        ours, theirs = scale.get("qps_batch"), scale["bm25s_numba"].get("qps_batch")
        if ours and theirs:
            line += f" At {scale['documents']:,} synthetic documents: {ours / theirs:.2f}x batched."
    return [line]


def vectors(data: dict[str, Any]) -> list[str]:
    lines = []
    for name, res in data["sets"].items():
        if not isinstance(res.get("indexes"), dict):
            continue
        peer = res.get("raw_faiss")
        if peer:
            ratios = ", ".join(f"{factory} {r['single_ratio']:.2f}x single / {r['batch_ratio']:.2f}x batch"
                               for factory, r in peer.items())
            lines.append(f"- FAISS wrapper against raw FAISS, same index and queries, k=10 ({name}; "
                         f"{_run_line('vector_speed', data)}): time per query ragkit / raw = {ratios}.")
        tuned = [f"{factory} {r['tuned_qps_over_flat']:.0f}x Flat at held-out recall@10 {r['tuned_heldout_recall']:.3f}"
                 for factory, r in res["indexes"].items() if r.get("tuned_qps_over_flat") and r.get("tuned_heldout_recall")]
        if tuned:
            lines.append(f"- `tune(target_recall=0.95)` on {name} (recall measured on queries it did not tune on): "
                         + ", ".join(tuned) + ".")
    return lines


def query_embedding(data: dict[str, Any]) -> list[str]:
    speed = data["speed"]["library defaults"]
    one = data["speed"]["1"]
    quality_parts = []
    for name, res in data["quality"].items():
        r = res["onnx"]
        quality_parts.append(f"{SET_NAMES.get(name, name)} dense nDCG@10 {r['dense_diff_vs_torch']:+.4f}, hybrid "
                             f"{r['hybrid_diff_vs_torch']:+.4f}")
    return [f"- Query embedding ({_run_line('query_embedding', data)}): ONNX Runtime embeds one query "
            f"{speed['onnx']['single_speedup_vs_torch']:.2f}x faster than torch ({speed['onnx']['single_ms_best']:.2f} vs "
            f"{speed['torch']['single_ms_best']:.2f} ms; one thread {one['onnx']['single_speedup_vs_torch']:.2f}x), "
            f"vectors at cosine {min(r['onnx']['min_cosine'] for r in data['quality'].values()):.5f} or above, "
            "retrieval quality against torch: " + "; ".join(quality_parts) + "."]


def cold_start(data: dict[str, Any]) -> list[str]:
    last = data["rows"][-1]["config"]  # with several configurations (before/after a change), the last one
    rows = {r["case"]: r for r in data["rows"] if r["config"] == last}
    torch_row = next((r for c, r in rows.items() if "queries on torch" in c), None)
    onnx_row = next((r for c, r in rows.items() if "ONNX Runtime" in c), None)
    bm25_row = next((r for c, r in rows.items() if c.startswith("bm25-only") and "default mode" in c), None)
    if not (torch_row and onnx_row):
        return []
    line = (f"- Process start to first hybrid answer, `ragkit search` over docs/ ({_run_line('cold_start', data)}, median of "
            f"{data['repeats']}): {onnx_row['median_s']:.2f} s with queries on ONNX Runtime (the default) against "
            f"{torch_row['median_s']:.2f} s on torch ({torch_row['median_s'] / onnx_row['median_s']:.1f}x)")
    if bm25_row:
        line += f"; {bm25_row['median_s']:.2f} s for a BM25-only collection"
    return [line + "."]


def _open_text(data: dict[str, Any]) -> str:
    warm = data.get("warm_open_ms")
    if not warm:
        return ""
    deps = data.get("cold_dependency_import_ms", {}).get("median")
    cold = data["cold_ms"]["ragkit"]["open"]["median"]
    return (f"opening the collection {warm['ragkit']['median']:.1f} ms in a process that has its libraries imported "
            f"(LanceDB {warm['lancedb']['median']:.1f} ms), {cold:.0f} ms in a fresh one"
            + (f" ({deps:.0f} ms of it importing pyarrow and FAISS)" if deps is not None else "") + "; ")


def lancedb(data: dict[str, Any]) -> list[str]:
    cold, lat, q = data["cold_ms"], data["latency"], data["quality"]
    return [f"- Against LanceDB ({_run_line('lancedb_peer', data)}; {SET_NAMES.get(data['set'], data['set'])} whole documents, "
            "the same vectors given to both, its default hybrid search): hybrid queries one by one "
            f"{data['latency_ratio']:.2f}x faster ({lat['ragkit hybrid']['ms_per_query']:.2f} vs "
            f"{lat['lancedb hybrid']['ms_per_query']:.2f} ms); a fresh process to its first hybrid answer "
            f"{data['cold_ratio_median']:.2f}x faster ({cold['ragkit']['spawn_to_exit']['median']:.0f} vs "
            f"{cold['lancedb']['spawn_to_exit']['median']:.0f} ms); building from texts + vectors "
            f"{data['build_ratio_best']:.2f}x LanceDB's speed ({data['build_s']['ragkit']['best']:.2f} vs "
            f"{data['build_s']['lancedb']['best']:.2f} s); {_open_text(data)}hybrid nDCG@10 {q['ragkit hybrid']['ndcg@10']:.4f} vs "
            f"{q['lancedb hybrid']['ndcg@10']:.4f} (p = {data['hybrid_ragkit_vs_lancedb']['p_value']:.3f})."]


def render() -> str:
    lines: list[str] = []
    data = _load("beir_quality")
    if data:
        lines += quality(data)
    speed: list[str] = []
    for name, fn in (("bm25_speed", bm25), ("query_embedding", query_embedding), ("cold_start", cold_start),
                     ("vector_speed", vectors), ("lancedb_peer", lancedb)):
        found = _load(name)
        if found:
            speed += fn(found)
    if speed:
        lines += ["", "Speed, same run and machine for each comparison (2 cores; the ratios are what to read):", "", *speed]
    return "\n".join([START, *lines, END])


def replace(text: str, block: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    return head + block + rest.split(END, 1)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="replace the block in README.md")
    args = parser.parse_args()
    block = render()
    if args.write:
        README.write_text(replace(README.read_text(encoding="utf-8"), block), encoding="utf-8")
    else:
        sys.stdout.write(block + "\n")


if __name__ == "__main__":
    main()
