"""Retrieval quality of ragkit's defaults on every BEIR set in the data folder, with significance tests.

For each set (test split, every judged query, document level = best chunk per document), one
default collection (``build_collection``: RecursiveChunker(254, overlap 32), all-MiniLM-L6-v2,
Flat vectors, BM25), then:

- ``bm25``: the default BM25 leg, ``BM25Retriever(collection)``;
- ``dense``: ``DenseRetriever(collection)``;
- ``hybrid``: the default ``HybridRetriever(collection)`` (no labels used at any point);
- ``hybrid_rrf``: ``HybridRetriever(collection, fusion="rrf")`` (RRF k=60, the usual fixed default elsewhere);
- ``tuned``: the best fusion the workbench finds *with labels*: a sweep of RRF k x weights and
  min-max / z-score / rank score fusion x weights over the same two legs. Sets with a tuning
  split (SciFact train, NFCorpus dev) tune on it; the others use 2-fold cross-validation over
  their test queries (each query is scored by the fusion tuned on the other fold). The script
  refuses to run if a tuning query is also a query it reports.

Paired randomisation test (10,000 sign flips of the per-query nDCG@10 differences, two-sided)
between the default hybrid and the better single leg, and between the default and the tuned
fusion. The fusion stage's time per query is read from a trace over the test queries.
Document vectors go through the embedding cache ($RAGKIT_CACHE_DIR, default ~/.cache/ragkit),
so only a first run encodes.

    python benchmarks/beir_quality.py                      # every set in ../shared/data
    python benchmarks/beir_quality.py --sets scifact --data /path/to/beir
Writes benchmarks/results/beir_quality.{json,md} from scratch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from run_info import finish, markdown, run_info

import ragkit
from ragkit.embedding import SentenceTransformerEmbedder
from ragkit.embedding.cache import CachedEmbedder
from ragkit.eval import FusionConfig, FusionWorkbench, default_data_dir, evaluate, fusion_grid, load_beir
from ragkit.observe import Trace
from ragkit.pipeline import build_collection
from ragkit.pipeline.evaluate import retrieve_run

RESULTS = Path(__file__).parent / "results"
TUNE_SPLIT = {"scifact": "train", "nfcorpus": "dev"}
METRICS = ("ndcg@10", "recall@100")
DENSE_SHARES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
FLIPS = 10_000


def tuning_grid() -> list[FusionConfig]:
    """RRF k x weights, and every score normalisation x weights (weights: bm25 / dense)."""
    weights = [(round(1 - w, 2), w) for w in DENSE_SHARES]
    return fusion_grid(legs=("bm25", "dense"), rrf_k=[5, 10, 20, 40, 60, 100], weights=weights,
                       normalizations=["minmax", "zscore", "rank"])


def paired_test(a: dict[str, float], b: dict[str, float], seed: int = 0) -> dict[str, float]:
    """Mean of a - b over the shared queries and its two-sided randomisation p-value."""
    queries = sorted(set(a) & set(b))
    diff = np.array([a[q] - b[q] for q in queries])
    observed = abs(diff.mean())
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(FLIPS, diff.size))
    p = (np.count_nonzero(np.abs((signs * diff).mean(axis=1)) >= observed - 1e-12) + 1) / (FLIPS + 1)
    return {"mean_diff": round(float(diff.mean()), 4), "p_value": round(float(p), 4), "queries": len(queries)}


def folds(query_ids: list[str]) -> list[set[str]]:
    """Two deterministic halves of the test queries (by a hash of the id)."""
    halves: list[set[str]] = [set(), set()]
    for q in query_ids:
        halves[hashlib.sha256(q.encode()).digest()[0] % 2].add(q)
    return halves


def tuned_scores(bench: FusionWorkbench, test_qrels: dict[str, dict[str, int]],
                 tune_qrels: dict[str, dict[str, int]] | None) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Per-query metrics of the labelled-tuned fusion on the test queries, and the configs chosen."""
    grid = tuning_grid()
    if tune_qrels is not None:
        overlap = set(tune_qrels) & set(test_qrels)
        if overlap:
            raise SystemExit(f"{len(overlap)} queries are judged in both the tuning split and test")
        config, _ = bench.best(grid, tune_qrels)
        return bench.evaluate(config, test_qrels, METRICS).per_query, [config.label]
    per_query: dict[str, dict[str, float]] = {}
    chosen = []
    halves = folds(list(test_qrels))
    for tune_half, report_half in ((halves[0], halves[1]), (halves[1], halves[0])):
        if tune_half & report_half:
            raise SystemExit("cross-validation folds overlap")
        config, _ = bench.best(grid, {q: test_qrels[q] for q in tune_half})
        chosen.append(config.label)
        per_query.update(bench.evaluate(config, {q: test_qrels[q] for q in report_half}, METRICS).per_query)
    return per_query, chosen


def fusion_ms(retriever: Any, queries: list[str]) -> float:
    """Milliseconds per query of fusing the legs (batches of 64 queries, as an application would send): the
    ``fusion`` stage plus, for a fusion that completes every candidate's scores, the ``complete`` stage."""
    total = 0.0
    for start in range(0, len(queries), 64):
        trace = Trace()
        retriever.search_batch(queries[start:start + 64], k=10, trace=trace)
        total += trace.stage_seconds.get("fusion", 0.0) + trace.stage_seconds.get("complete", 0.0)
    return 1000 * total / len(queries)


def run_set(path: Path) -> dict[str, Any]:
    test = load_beir(path, split="test")
    tune_split = TUNE_SPLIT.get(path.name)
    tune = load_beir(path, split=tune_split) if tune_split else None
    start = time.perf_counter()
    collection = build_collection(test.documents, embedder=CachedEmbedder(SentenceTransformerEmbedder(show_progress=False)))
    build_s = time.perf_counter() - start

    retrievers = {"bm25": ragkit.BM25Retriever(collection), "dense": ragkit.DenseRetriever(collection),
                  "hybrid": ragkit.HybridRetriever(collection), "hybrid_rrf": ragkit.HybridRetriever(collection, fusion="rrf")}
    per_query: dict[str, dict[str, dict[str, float]]] = {}
    for name, retriever in retrievers.items():
        per_query[name] = evaluate(retrieve_run(retriever, test.queries), test.qrels, METRICS).per_query

    queries = {**(tune.queries if tune else {}), **test.queries}
    bench = FusionWorkbench(queries, depth=100)
    bench.add_retriever("bm25", retrievers["bm25"])
    bench.add_retriever("dense", retrievers["dense"])
    per_query["tuned"], chosen = tuned_scores(bench, test.qrels, tune.qrels if tune else None)

    def mean(name: str, metric: str) -> float:
        return round(float(np.mean([v[metric] for v in per_query[name].values()])), 4)

    quality = {name: {m: mean(name, m) for m in METRICS} for name in per_query}
    ndcg = {name: {q: v["ndcg@10"] for q, v in scores.items()} for name, scores in per_query.items()}
    best_leg = max(("bm25", "dense"), key=lambda n: quality[n]["ndcg@10"])
    texts = list(test.queries.values())
    result = {
        "documents": len(test.documents), "chunks": collection.num_chunks, "test_queries": len(test.queries),
        "tuning": f"{tune_split} qrels ({len(tune.queries)} queries)" if tune else "2-fold cross-validation on test",
        "tuned_fusion": chosen, "build_s": round(build_s, 1), "quality": quality, "best_leg": best_leg,
        "hybrid_vs_best_leg": paired_test(ndcg["hybrid"], ndcg[best_leg]),
        "hybrid_vs_rrf": paired_test(ndcg["hybrid"], ndcg["hybrid_rrf"]),
        "hybrid_vs_tuned": paired_test(ndcg["hybrid"], ndcg["tuned"]),
        "fusion_ms_per_query": {"hybrid": round(fusion_ms(retrievers["hybrid"], texts), 4),
                                "hybrid_rrf": round(fusion_ms(retrievers["hybrid_rrf"], texts), 4)},
        "default_fusion": retrievers["hybrid"].fusion.__repr__(),
    }
    print(path.name, json.dumps(result))
    return result


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "beir_quality.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"# BEIR quality of the defaults ({results['model']})", "", *markdown(results["run"]), "",
             f"Default hybrid fusion: `{next(iter(results['sets'].values()))['default_fusion']}`. Test split, every judged "
             "query, document level (best chunk per document). `tuned` = the best fusion found with labels "
             "(tuning split, or 2-fold cross-validation on test). p = paired randomisation test on per-query nDCG@10.", "",
             "| set | queries | BM25 | dense | hybrid (default) | hybrid RRF k=60 | tuned (labels) | default - best leg (p) "
             "| default - tuned (p) | R@100 BM25 / dense / hybrid |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, res in results["sets"].items():
        q = res["quality"]
        vs_leg, vs_tuned = res["hybrid_vs_best_leg"], res["hybrid_vs_tuned"]
        lines.append(f"| {name} | {res['test_queries']} | {q['bm25']['ndcg@10']:.4f} | {q['dense']['ndcg@10']:.4f} | "
                     f"**{q['hybrid']['ndcg@10']:.4f}** | {q['hybrid_rrf']['ndcg@10']:.4f} | {q['tuned']['ndcg@10']:.4f} | "
                     f"{vs_leg['mean_diff']:+.4f} ({vs_leg['p_value']:.3f}) | {vs_tuned['mean_diff']:+.4f} ({vs_tuned['p_value']:.3f}) | "
                     f"{q['bm25']['recall@100']:.3f} / {q['dense']['recall@100']:.3f} / {q['hybrid']['recall@100']:.3f} |")
    lines += ["", "| set | tuning | tuned fusion chosen | fusion ms/query default / RRF | build s |", "|---|---|---|---|---|"]
    for name, res in results["sets"].items():
        f = res["fusion_ms_per_query"]
        lines.append(f"| {name} | {res['tuning']} | {'; '.join(res['tuned_fusion'])} | {f['hybrid']:.3f} / {f['hybrid_rrf']:.3f} | "
                     f"{res['build_s']} |")
    (RESULTS / "beir_quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", default=None, help="default: every folder of --data with qrels/test.tsv")
    args = parser.parse_args()
    if args.data is None:
        parser.error("no BEIR data folder: pass --data or set RAGKIT_DATA_DIR")
    names = args.sets or sorted(p.parent.parent.name for p in args.data.glob("*/qrels/test.tsv"))
    info = run_info(["numpy", "faiss-cpu", "faiss-gpu", "sentence-transformers", "torch"])
    results = {"run": info, "model": "sentence-transformers/all-MiniLM-L6-v2",
               "sets": {name: run_set(args.data / name) for name in names}}
    finish(info)
    write(results)


if __name__ == "__main__":
    main()
