"""FAISS index types at 1M vectors and on real SciFact embeddings: build time, memory, queries/s at a recall.

For each index type: build time, FAISS index bytes, and the recall@10 / queries/s curve of its
search breadth (nprobe or efSearch) measured against exact (Flat) search, from which the
queries/s at recall@10 = 0.90 / 0.95 / 0.99 are read; then ``tune(target_recall=0.95)`` is run
and its choice recorded. Every search answers the whole query batch at once (FAISS uses all
cores). Flat's single-query speed gives its achieved memory bandwidth, compared with a large
numpy copy: the physical limit of exact search on this machine.

Data: N synthetic 384-d unit vectors with a cluster structure (2,000 clusters of Zipf-distributed
sizes and varied spreads in a 48-d latent space, mapped linearly to 384-d, plus noise) and 1,000
held-out queries from the same distribution; plus the SciFact corpus as ragkit indexes it (chunks of
254 tokens, default model, through the embedding cache) and its 300 real test queries.

    python benchmarks/vector_speed.py                 # 1,000,000 synthetic + SciFact
    python benchmarks/vector_speed.py --n 100000 --no-scifact
Writes benchmarks/results/vector_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragkit import FaissIndex
from ragkit.index.vector import choose_factory

RESULTS = Path(__file__).parent / "results"
CACHE = Path(__file__).parent / ".cache"
TARGETS = (0.90, 0.95, 0.99)


def clustered(n: int, d: int, seed: int, n_clusters: int = 2000, latent: int = 48) -> np.ndarray:
    """Unit vectors with a cluster structure of low intrinsic dimension, like sentence embeddings.

    Points are drawn around Zipf-sized clusters (each with its own spread) in a ``latent``-d
    space, mapped to ``d`` dimensions by a fixed random linear map, plus a little isotropic noise.
    """
    rng = np.random.default_rng(seed)
    gen = np.random.default_rng(12345)  # the same clusters and map for corpus and queries
    centers = gen.standard_normal((n_clusters, latent)).astype(np.float32)
    popularity = 1.0 / np.arange(1, n_clusters + 1) ** 0.8
    spread = gen.uniform(0.3, 0.8, n_clusters).astype(np.float32)
    mapping = gen.standard_normal((latent, d)).astype(np.float32) / np.sqrt(latent)
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        label = rng.choice(n_clusters, size=m, p=popularity / popularity.sum())
        z = centers[label] + spread[label, None] * rng.standard_normal((m, latent), dtype=np.float32)
        block = z @ mapping + 0.05 * rng.standard_normal((m, d), dtype=np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def copy_bandwidth_gbs(size_bytes: int = 1 << 30) -> float:
    """Achieved memory bandwidth of a large numpy copy (bytes read + written per second)."""
    a = np.ones(size_bytes // 4, dtype=np.float32)
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - start)
    return 2 * a.nbytes / best / 1e9


def batch_qps(index: FaissIndex, queries: np.ndarray, repeats: int = 2) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        index.search_rows(queries, 10)
        best = min(best, time.perf_counter() - start)
    return queries.shape[0] / best


def measure(factory: str, x: np.ndarray, queries: np.ndarray, flat_qps: float) -> dict[str, Any]:
    start = time.perf_counter()
    index = FaissIndex(factory).build(x)
    build_s = time.perf_counter() - start
    out: dict[str, Any] = {"factory": factory, "build_s": build_s, "index_mb": index.memory_bytes() / 2**20,
                           "lossy": index.lossy}
    curve = index.tune(target_recall=0.99, k=10, queries=queries)
    out["curve"] = curve.rows()
    out["curve_rescore"] = curve.rescore
    for target in TARGETS:
        meeting = [p for p in curve.curve if p.recall >= target]
        out[f"qps@{target}"] = 1000 / meeting[0].ms_per_query if meeting else None
        out[f"setting@{target}"] = meeting[0].value if meeting else None
    tuned = index.tune(target_recall=0.95, k=10, queries=queries)
    qps = batch_qps(index, queries)
    out["tune_0.95"] = {"parameter": tuned.parameter, "chosen": tuned.chosen, "met": tuned.met, "rescore": tuned.rescore,
                        "recall": next(p.recall for p in tuned.curve if p.value == tuned.chosen) if tuned.curve else None,
                        "qps": qps, "speedup_vs_flat": qps / flat_qps}
    print(json.dumps({factory: {k: v for k, v in out.items() if k != "curve"}}, default=lambda v: round(v, 4)), flush=True)
    del index
    gc.collect()
    return out


def run_set(name: str, x: np.ndarray, queries: np.ndarray, factories: list[str], copy_gbs: float) -> dict[str, Any]:
    n, d = x.shape
    flat = FaissIndex("Flat").build(x)
    flat_qps = batch_qps(flat, queries)
    single = queries[:20]
    start = time.perf_counter()
    for q in single:
        flat.search_rows(q[None, :], 10)
    single_s = (time.perf_counter() - start) / single.shape[0]
    del flat
    gc.collect()
    out: dict[str, Any] = {"vectors": n, "dimension": d, "queries": queries.shape[0],
                           "auto_choice": choose_factory(n, d).factory,
                           "flat": {"qps_batch": flat_qps, "qps_single": 1 / single_s,
                                    "bandwidth_gbs": x.nbytes / single_s / 1e9, "index_mb": x.nbytes / 2**20},
                           "indexes": [measure(f, x, queries, flat_qps) for f in factories],
                           "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "copy_bandwidth_gbs": copy_gbs}
    print(json.dumps({name: {"flat": out["flat"], "auto_choice": out["auto_choice"]}}, default=lambda v: round(v, 4)), flush=True)
    return out


def scifact_vectors(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """SciFact chunk vectors (RecursiveChunker 254 tokens, overlap 32, as the quality benchmark) and test queries.

    Encoded with the default model through the embedding cache ($RAGKIT_CACHE_DIR), so only a
    first run encodes.
    """
    from ragkit import RecursiveChunker, SentenceTransformerEmbedder
    from ragkit.embedding.cache import CachedEmbedder, default_cache_dir
    from ragkit.eval import load_beir

    dataset = load_beir(data / "scifact", split="test")
    chunker = RecursiveChunker(max_tokens=254, overlap=32)
    texts = [c.text for d in dataset.documents for c in chunker.chunk(d)]
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), default_cache_dir() / "embeddings")
    return embedder.embed_documents(texts), embedder.embed_queries(list(dataset.queries.values()))


def write(results: dict[str, Any]) -> None:
    """Write the results; sets measured by an earlier run and not re-run now are kept (with their own date)."""
    RESULTS.mkdir(exist_ok=True)
    previous = RESULTS / "vector_speed.json"
    if previous.exists():
        for name, res in json.loads(previous.read_text())["sets"].items():
            results["sets"].setdefault(name, res)
    (RESULTS / "vector_speed.json").write_text(json.dumps(results, indent=2, default=lambda v: round(v, 4)) + "\n")
    lines = [f"# FAISS index types ({results['machine']}; whole query batch per search, all cores)", "",
             "Each set records the memory bandwidth of a 1 GiB numpy copy (read + written bytes per second) measured in",
             "its own run: the physical limit of exact search.", ""]

    def fmt(v: Any) -> str:
        return "—" if v is None else f"{v:,.0f}"

    for name, res in results["sets"].items():
        f = res["flat"]
        copy_gbs = res.get("copy_bandwidth_gbs", results["copy_bandwidth_gbs"])
        lines += [f"## {name}: {res['vectors']:,} x {res['dimension']}-d, {res['queries']} queries ({res.get('measured', '')})", "",
                  f"Flat: {f['qps_batch']:,.0f} q/s batched, {f['qps_single']:.1f} q/s one query at a time = "
                  f"{f['bandwidth_gbs']:.1f} GB/s scanned ({100 * f['bandwidth_gbs'] / copy_gbs:.0f}% "
                  f"of the {copy_gbs:.1f} GB/s copy bandwidth); {f['index_mb']:,.0f} MB. "
                  f"Automatic choice for this size: `{res['auto_choice']}`.", "",
                  "| index | build s | index MB | q/s @R0.90 | q/s @R0.95 | q/s @R0.99 | tune(0.95) choice | recall | q/s | x Flat |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in res["indexes"]:
            t = r["tune_0.95"]
            choice = f"{t['parameter']}={t['chosen']}" + (f", rescore={t['rescore']}" if t.get("rescore") else "")
            choice += "" if t["met"] else " (target not met)"
            lines.append(f"| `{r['factory']}` | {r['build_s']:.1f} | {r['index_mb']:,.0f} | {fmt(r['qps@0.9'])} | "
                         f"{fmt(r['qps@0.95'])} | {fmt(r['qps@0.99'])} | {choice} | {t['recall']:.3f} | {t['qps']:,.0f} | "
                         f"{t['speedup_vs_flat']:.1f}x |")
        lines.append("")
    lines += ["Lossy indexes (SQ/PQ) re-rank rescore x k candidates (4 unless tune() raised it) exactly from the stored vectors",
              "(kept beside the index, memory-mapped on open); 'index MB' is the FAISS index alone.",
              "The q/s @R columns read the curve of `tune(target_recall=0.99)`: the cheapest measured breadth reaching each recall",
              "(— = none did); for lossy indexes that curve is at the rescore the 0.99 run settled on. `tune(0.95)` is a separate",
              "run; its q/s column is re-measured on the whole query batch afterwards."]
    (RESULTS / "vector_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic vectors (0 to skip)")
    parser.add_argument("--data", type=Path, default=None, help="BEIR data folder (default: RAGKIT_DATA_DIR or ../shared/data)")
    parser.add_argument("--no-scifact", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
                               "copy_bandwidth_gbs": copy_bandwidth_gbs(), "sets": {}}
    if not args.no_scifact:
        from ragkit.eval import default_data_dir

        data = args.data or default_data_dir()
        if data is None or not (data / "scifact").exists():
            parser.error("SciFact not found: pass --data, set RAGKIT_DATA_DIR, or use --no-scifact")
        docs, queries = scifact_vectors(data)
        results["sets"]["scifact (all-MiniLM-L6-v2)"] = run_set(
            "scifact", docs, queries, ["HNSW32", "IVF256,Flat", "IVF256,SQ8", "IVF256,PQ48"], results["copy_bandwidth_gbs"])
    if args.n:
        nlist = 4 * int(np.sqrt(args.n)) // 1000 * 1000 or 64  # 4*sqrt(N), rounded: 4000 at 1M
        x = clustered(args.n, 384, seed=0)
        queries = clustered(1000, 384, seed=1)
        results["sets"][f"synthetic clustered {args.n:,}"] = run_set(
            "synthetic", x, queries, ["HNSW32", f"IVF{nlist},Flat", f"IVF{nlist},SQ8", f"IVF{nlist},PQ48"],
            results["copy_bandwidth_gbs"])
    write(results)


if __name__ == "__main__":
    main()
