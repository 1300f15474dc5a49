"""Retrieval quality on BEIR sets with the default model: BM25, dense, hybrid, and a tuned hybrid.

For each set (test split, every judged query, document level = best chunk per document):

- BM25 over whole documents, and over the 254-token chunks for reference;
- dense: all-MiniLM-L6-v2 over RecursiveChunker(254, overlap 32) chunks, exact (Flat) search;
- hybrid RRF k=60, equal weights (the untuned default);
- hybrid tuned: the fusion (RRF k and weights, or min-max / z-score / rank score fusion and
  weights) with the best nDCG@10 on the *tuning* split (SciFact train qrels, NFCorpus dev
  qrels), then scored once on test. Test judgements play no part in the choice.

Latency per query (p50/p95, legs one after the other, real query encoding) and index size
come from ragkit.eval.run_experiments on the test split. Document vectors go through the
embedding cache ($RAGKIT_CACHE_DIR, default ~/.cache/ragkit), so only a first run encodes.
rank-bm25 is timed against ragkit's BM25 on the same tokens in the same run.

    python benchmarks/beir_quality.py                      # scifact and nfcorpus from ../shared/data
    python benchmarks/beir_quality.py --sets scifact --data /path/to/beir
Writes benchmarks/results/beir_quality.{json,md} (sets not re-run keep their earlier results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import ragkit
from ragkit.eval import (
    Experiment,
    FusionConfig,
    default_data_dir,
    experiment_workbench,
    fusion_grid,
    load_beir,
    run_experiments,
)

RESULTS = Path(__file__).parent / "results"
TUNE_SPLIT = {"scifact": "train", "nfcorpus": "dev"}
METRICS = ("ndcg@10", "recall@100")
DENSE_SHARES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def tuning_grid() -> list[FusionConfig]:
    """RRF k x weights, and every score normalisation x weights (weights: bm25 / dense)."""
    weights = [(round(1 - w, 2), w) for w in DENSE_SHARES]
    return fusion_grid(rrf_k=[5, 10, 20, 40, 60, 100], weights=weights, normalizations=["minmax", "zscore", "rank"])


def run_set(path: Path, tune_split: str, latency_queries: int) -> dict[str, Any]:
    test = load_beir(path, split="test")
    tune = load_beir(path, split=tune_split)
    overlap = set(test.queries) & set(tune.queries)
    if overlap:
        raise SystemExit(f"{path.name}: {len(overlap)} queries are judged in both test and {tune_split}")
    chunked_bm25 = ragkit.RecursiveChunker(max_tokens=254, overlap=32)

    start = time.perf_counter()
    bench = experiment_workbench(test, Experiment(), queries={**tune.queries, **test.queries})
    chunk_bench = experiment_workbench(test, Experiment(legs=("bm25",), bm25_chunker=chunked_bm25))
    build_s = time.perf_counter() - start

    grid = tuning_grid()
    start = time.perf_counter()
    sweep = bench.sweep(grid, tune.qrels, METRICS)
    sweep_s = time.perf_counter() - start
    best_row = sweep.loc[sweep["ndcg@10"].idxmax()]
    tuned: FusionConfig = best_row["config"]
    default = FusionConfig(k=60)
    print(f"{path.name}: swept {len(grid)} fusions on {len(tune.queries)} {tune_split} queries in {sweep_s:.1f}s; "
          f"best {tuned.label} ({tune_split} nDCG@10 {best_row['ndcg@10']:.4f})")

    quality: dict[str, dict[str, Any]] = {}
    rows = [("bm25", FusionConfig(legs=("bm25",)), bench), ("bm25_chunks", FusionConfig(legs=("bm25",)), chunk_bench),
            ("dense", FusionConfig(legs=("dense",)), bench), ("hybrid_rrf", default, bench), ("hybrid_tuned", tuned, bench)]
    for name, config, source in rows:
        result = source.evaluate(config, test.qrels, METRICS)
        tune_result = bench.evaluate(config, tune.qrels, METRICS) if source is bench else None
        quality[name] = {**{k: round(v, 4) for k, v in result.means.items()}, "queries": result.num_queries,
                         "fusion": config.label,
                         f"{tune_split}_ndcg@10": round(tune_result.means["ndcg@10"], 4) if tune_result else None}
        print(f"{path.name} {name}: {quality[name]}")

    experiments = [Experiment(legs=("bm25",), name="bm25"), Experiment(legs=("dense",), name="dense"),
                   Experiment(fusion=default, name="hybrid_rrf"), Experiment(fusion=tuned, name="hybrid_tuned")]
    table = run_experiments(test, experiments, metrics=METRICS, latency_queries=latency_queries)
    for _, row in table.iterrows():
        q = quality[row["experiment"]]
        q.update(latency_p50_ms=round(row["latency_p50_ms"], 2), latency_p95_ms=round(row["latency_p95_ms"], 2),
                 index_mb=round(row["index_bytes"] / 2**20, 2))
        # the experiment path re-runs the legs; it must agree with the workbench numbers
        if abs(row["ndcg@10"] - q["ndcg@10"]) > 1e-3:
            raise SystemExit(f"{path.name} {row['experiment']}: run_experiments gives {row['ndcg@10']:.4f}, "
                             f"the workbench {q['ndcg@10']:.4f}")
    top = sweep.sort_values("ndcg@10", ascending=False).head(5)
    return {
        "documents": len(test.documents), "test_queries": len(test.queries), "tune_split": tune_split,
        "tune_queries": len(tune.queries), "build_and_retrieve_s": round(build_s, 1), "sweep_configs": len(grid),
        "sweep_s": round(sweep_s, 2), "tuned_fusion": tuned.label, "tuned_config": tuned.as_dict(),
        "top_on_tune_split": [{"fusion": r["label"], "ndcg@10": round(r["ndcg@10"], 4)} for _, r in top.iterrows()],
        "quality": quality,
        "bm25_speed": bm25_speed(test),
    }


def bm25_speed(dataset: Any) -> dict[str, float]:
    """Top-10 queries/s of ragkit's BM25 vs rank-bm25 over the same whole documents, one thread, same run."""
    from rank_bm25 import BM25Okapi

    texts = [d.text for d in dataset.documents]
    queries = list(dataset.queries.values())
    index = ragkit.BM25Index().build(texts)
    tokenizer = index.config.tokenizer
    start = time.perf_counter()
    reference = BM25Okapi(tokenizer.tokenize(texts))
    t_ref_build = time.perf_counter() - start
    start = time.perf_counter()
    index.search_rows(queries, 10)
    t_ours = time.perf_counter() - start
    tokenized = tokenizer.tokenize(queries)
    start = time.perf_counter()
    for q in tokenized:
        reference.get_top_n(q, texts, n=10)
    t_ref = time.perf_counter() - start
    ours_qps, ref_qps = len(queries) / t_ours, len(queries) / t_ref
    return {"ragkit_qps": round(ours_qps, 1), "rank_bm25_qps": round(ref_qps, 1),
            "ratio": round(ours_qps / ref_qps, 1), "rank_bm25_build_s": round(t_ref_build, 2)}


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "beir_quality.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"# BEIR quality ({results['model']}, {results['machine']})", "",
             "Test split, every judged query, document level (best chunk per document). The tuned hybrid is the",
             "fusion with the best nDCG@10 on the tuning split's qrels (SciFact train, NFCorpus dev), scored once on test.",
             "",
             "| set | retriever | fusion | nDCG@10 | Recall@100 | tune-split nDCG@10 | p50 ms | p95 ms | index MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, res in results["sets"].items():
        for retriever, q in res["quality"].items():
            tune = q.get(f"{res['tune_split']}_ndcg@10")
            lines.append(f"| {name} | {retriever} | {q['fusion']} | {q['ndcg@10']:.4f} | {q['recall@100']:.4f} | "
                         f"{'' if tune is None else f'{tune:.4f}'} | {q.get('latency_p50_ms', '')} | "
                         f"{q.get('latency_p95_ms', '')} | {q.get('index_mb', '')} |")
    lines += ["", "| set | docs | test queries | tuning split (queries) | fusions swept | sweep s | ragkit BM25 q/s | "
              "rank-bm25 q/s | ratio |", "|---|---|---|---|---|---|---|---|---|"]
    for name, res in results["sets"].items():
        b = res["bm25_speed"]
        lines.append(f"| {name} | {res['documents']} | {res['test_queries']} | {res['tune_split']} ({res['tune_queries']}) | "
                     f"{res['sweep_configs']} | {res['sweep_s']} | {b['ragkit_qps']} | {b['rank_bm25_qps']} | {b['ratio']}x |")
    (RESULTS / "beir_quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", default=["scifact", "nfcorpus"])
    parser.add_argument("--latency-queries", type=int, default=100)
    args = parser.parse_args()
    if args.data is None:
        parser.error("no BEIR data folder: pass --data or set RAGKIT_DATA_DIR")
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
               "model": "sentence-transformers/all-MiniLM-L6-v2", "chunker": "RecursiveChunker(254, overlap 32)",
               "sets": {name: run_set(args.data / name, TUNE_SPLIT.get(name, "train"), args.latency_queries)
                        for name in args.sets}}
    previous = RESULTS / "beir_quality.json"
    if previous.is_file():  # keep the sets not re-run this time
        old = json.loads(previous.read_text())
        if old.get("model") == results["model"]:
            results["sets"] = {**{k: v for k, v in old.get("sets", {}).items() if k not in results["sets"]}, **results["sets"]}
    write(results)


if __name__ == "__main__":
    main()
