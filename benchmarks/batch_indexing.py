"""Batch indexing: ragkit's overhead over raw encoding, and memory/throughput at scale, local vs Ray.

Part 1, throughput ratio (real model, real text): the first N SciFact documents (default
2,000) chunked with the default RecursiveChunker; raw ``SentenceTransformer.encode`` of
exactly those chunk texts (batch 64, normalised) against ragkit's end-to-end
``index_corpus`` of the same documents (read JSONL -> chunk -> length-sorted encode ->
shard files -> FAISS Flat + BM25 -> save), with the model already loaded for both.
Raw and ragkit runs are interleaved ``--repeats`` times (default 5) in one process,
alternating which of the two goes first; each repeat gives a ratio raw seconds / ragkit
seconds (ragkit's rate over raw encode's: >= 0.9 means ragkit adds under ~10%), and the
result is the median of those ratios with their min and max (the spread the machine's
load puts on it).

Part 2, scale (synthetic corpus, HashEmbedder): a JSONL corpus of Zipf-vocabulary
documents; each build runs in its own subprocess while a sampler records the peak RSS of
the whole process tree (driver + Ray processes). HashEmbedder, a cheap deterministic
fake, stands in for the model so the numbers measure ragkit's own pipeline (read,
chunk, shard files, indexes, save), not a model. Configurations: local merged (one
collection), local ``keep_shards`` and Ray ``keep_shards`` at 50k and 200k documents.

    python benchmarks/batch_indexing.py                     # both parts, full sizes
    python benchmarks/batch_indexing.py --ratio-docs 500 --sizes 5000 20000   # quick
Writes benchmarks/results/batch_indexing.{json,md} from scratch (a skipped part is absent).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from run_info import finish, markdown, run_info

RESULTS = Path(__file__).parent / "results"


# -- part 1: throughput ratio against raw encode --------------------------------------------
def ratio_part(docs: int, repeats: int, work: Path) -> dict[str, Any]:
    import ragkit
    from ragkit.eval import default_data_dir, load_beir
    from ragkit.pipeline import index_corpus

    data = default_data_dir()
    if data is None or not (data / "scifact").is_dir():
        return {"skipped": "SciFact data not found (set RAGKIT_DATA_DIR)"}
    documents = load_beir(data / "scifact").documents[:docs]
    corpus = work / "scifact-slice.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for d in documents:
            fh.write(json.dumps({"id": d.id, "text": d.text}) + "\n")
    chunker = ragkit.RecursiveChunker()
    texts = [c.text for c in chunker.chunk_many(documents)]
    embedder = ragkit.SentenceTransformerEmbedder(show_progress=False)
    model = embedder.load()
    model.encode(texts[:64], batch_size=64)  # warm-up

    def raw() -> float:
        start = time.perf_counter()
        model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return time.perf_counter() - start

    def pipeline(r: int) -> tuple[float, Any]:
        start = time.perf_counter()
        report = index_corpus(corpus, work / f"ratio-{r}", chunker=chunker, embedder=embedder, shard_docs=500, progress=False)
        return time.perf_counter() - start, report

    runs: list[dict[str, Any]] = []
    for r in range(repeats):  # interleaved, alternating which goes first, so both see the same machine load
        raw_first = r % 2 == 0
        if raw_first:
            raw_s = raw()
            e2e, report = pipeline(r)
        else:
            e2e, report = pipeline(r)
            raw_s = raw()
        runs.append({"first": "raw" if raw_first else "ragkit", "raw_s": raw_s, "ragkit_s": e2e,
                     "ragkit_embed_s": report.embed_seconds, "ragkit_finalize_s": report.finalize_seconds,
                     "ratio": raw_s / e2e, "load_average": round(os.getloadavg()[0], 2)})
        print(f"  repeat {r + 1}: raw encode {raw_s:.1f}s ({len(texts) / raw_s:.1f} chunks/s), "
              f"ragkit end-to-end {e2e:.1f}s ({len(texts) / e2e:.1f} chunks/s), ratio {raw_s / e2e:.3f}", flush=True)
    ratios = [x["ratio"] for x in runs]
    import torch

    return {"documents": len(documents), "chunks": len(texts), "model": embedder.model_id, "device": str(model.device),
            "torch_threads": torch.get_num_threads(), "repeats": repeats, "runs": runs,
            "raw_chunks_per_s_median": statistics.median(len(texts) / x["raw_s"] for x in runs),
            "ragkit_chunks_per_s_median": statistics.median(len(texts) / x["ragkit_s"] for x in runs),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)}


# -- part 2: scale ---------------------------------------------------------------------------------
def make_corpus(path: Path, n: int, seed: int = 0) -> None:
    """``n`` documents of 20-120 words from a 30,000-word Zipf vocabulary (as JSONL)."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(30_000)])
    with path.open("w", encoding="utf-8") as fh:
        for start in range(0, n, 10_000):
            m = min(10_000, n - start)
            lengths = rng.integers(20, 121, size=m)
            words = vocab[np.minimum(rng.zipf(1.2, size=int(lengths.sum())) - 1, len(vocab) - 1)]
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            fh.writelines(json.dumps({"id": f"doc{start + i}", "text": " ".join(words[bounds[i]:bounds[i + 1]])}) + "\n"
                          for i in range(m))


def tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def run_child(args: list[str]) -> dict[str, Any]:
    """Run one build in a subprocess, sampling the process tree's RSS; returns the child's JSON + peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True, env=env)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_tree_rss_mb"] = peak[0] / 2**20
    return result


def child(engine: str, corpus: str, out: str, keep_shards: bool, shard_docs: int) -> None:
    import resource

    import ragkit
    from ragkit.pipeline import index_corpus
    from ragkit.testing import HashEmbedder

    if engine == "ray":
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    chunker = ragkit.RecursiveChunker(tokenizer="regex")
    start = time.perf_counter()
    report = index_corpus(corpus, out, chunker=chunker, embedder=HashEmbedder(), engine=engine, keep_shards=keep_shards,
                          shard_docs=shard_docs, progress=False)
    seconds = time.perf_counter() - start
    print(json.dumps({"engine": engine, "keep_shards": keep_shards, "documents": report.documents, "chunks": report.chunks,
                      "shards": report.shards, "seconds": seconds, "docs_per_s": report.documents / seconds,
                      "stream_s": report.stream_seconds, "finalize_s": report.finalize_seconds,
                      "driver_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def scale_part(sizes: list[int], configs: list[tuple[str, bool]], shard_docs: int, work: Path) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        corpus = work / f"synthetic-{n}.jsonl"
        make_corpus(corpus, n)
        for engine, keep in configs:
            out = work / f"out-{engine}-{'shards' if keep else 'merged'}-{n}"
            result = run_child([engine, str(corpus), str(out), "1" if keep else "0", str(shard_docs)])
            result["corpus_docs"] = n
            rows.append(result)
            print(f"  {n:>7} docs  {engine:<5} {'shards' if keep else 'merged':<7} {result['docs_per_s']:>8.0f} docs/s  "
                  f"peak RSS {result['peak_tree_rss_mb']:>7.0f} MB  ({result['seconds']:.0f}s)", flush=True)
            subprocess.run(["rm", "-rf", str(out)], check=False)
        corpus.unlink()
    return rows


def write_results(result: dict[str, Any]) -> None:
    """Write this run's results from scratch (a part this run skipped is absent)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "batch_indexing.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = ["# Batch indexing", "", *markdown(result["run"]), ""]
    ratio = result.get("ratio")
    if ratio and "ratio_median" in ratio:
        lines += ["## ragkit end-to-end vs raw `SentenceTransformer.encode` (real model, SciFact slice)", "",
                  f"{ratio['documents']} SciFact documents -> {ratio['chunks']} chunks, {ratio['model']} on {ratio['device']} "
                  f"({ratio['torch_threads']} torch threads), model loaded before timing; {ratio['repeats']} interleaved "
                  "repeats (raw and ragkit back to back, alternating which goes first). Ratio per repeat = raw seconds / "
                  "ragkit seconds (ragkit's rate over raw encode's).", "",
                  "| | median | min | max |", "|---|---:|---:|---:|",
                  f"| raw encode (same chunk texts), chunks/s | {ratio['raw_chunks_per_s_median']:.1f} | "
                  f"{min(ratio['chunks'] / r['raw_s'] for r in ratio['runs']):.1f} | "
                  f"{max(ratio['chunks'] / r['raw_s'] for r in ratio['runs']):.1f} |",
                  f"| ragkit index_corpus end-to-end, chunks/s | {ratio['ragkit_chunks_per_s_median']:.1f} | "
                  f"{min(ratio['chunks'] / r['ragkit_s'] for r in ratio['runs']):.1f} | "
                  f"{max(ratio['chunks'] / r['ragkit_s'] for r in ratio['runs']):.1f} |",
                  f"| **ratio** (raw time / ragkit time) | **{ratio['ratio_median']:.3f}** | {ratio['ratio_min']:.3f} | "
                  f"{ratio['ratio_max']:.3f} |", "",
                  "| repeat | first | raw encode (s) | ragkit end-to-end (s) | ratio | load average after |",
                  "|---:|---|---:|---:|---:|---:|"]
        lines += [f"| {i + 1} | {r['first']} | {r['raw_s']:.1f} | {r['ragkit_s']:.1f} | {r['ratio']:.3f} | {r['load_average']} |"
                  for i, r in enumerate(ratio["runs"])]
        lines.append("")
    elif ratio:
        lines += [f"Throughput ratio skipped: {ratio.get('skipped')}", ""]
    if result.get("scale"):
        lines += ["## Scale: synthetic corpus, HashEmbedder (measures ragkit's pipeline, not a model)", "",
                  "Peak RSS is of the whole process tree (for Ray: driver, raylet, GCS and workers), sampled every 0.2 s.", "",
                  "| documents | engine | output | chunks | docs/s | peak tree RSS (MB) | driver max RSS (MB) | seconds |",
                  "|---:|---|---|---:|---:|---:|---:|---:|"]
        for r in result["scale"]:
            lines.append(f"| {r['corpus_docs']} | {r['engine']} | {'shards' if r['keep_shards'] else 'merged'} | {r['chunks']} | "
                         f"{r['docs_per_s']:.0f} | {r['peak_tree_rss_mb']:.0f} | {r['driver_max_rss_mb']:.0f} | {r['seconds']:.0f} |")
        lines.append("")
    (RESULTS / "batch_indexing.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        engine, corpus, out, keep, shard_docs = sys.argv[2:7]
        child(engine, corpus, out, keep == "1", int(shard_docs))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratio-docs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved raw/ragkit repeats of the ratio part (>= 5)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--shard-docs", type=int, default=5000)
    parser.add_argument("--configs", nargs="+", default=["local:merged", "local:shards", "ray:shards"])
    parser.add_argument("--skip-ratio", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    if not args.skip_ratio and args.repeats < 5:
        parser.error("--repeats must be at least 5 (the ratio is a median with its spread)")
    configs = [(c.split(":")[0], c.split(":")[1] == "shards") for c in args.configs]
    result: dict[str, Any] = {"run": run_info(["numpy", "torch", "sentence-transformers", "transformers", "faiss-cpu",
                                               "pyarrow", "ray", "psutil"])}
    with tempfile.TemporaryDirectory(prefix="ragkit-batch-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_ratio:
            print("throughput ratio (real model):", flush=True)
            result["ratio"] = ratio_part(args.ratio_docs, args.repeats, work)
        if not args.skip_scale:
            print("scale (HashEmbedder):", flush=True)
            result["scale"] = scale_part(args.sizes, configs, args.shard_docs, work)
    finish(result["run"])
    write_results(result)
    print((RESULTS / "batch_indexing.md").read_text())


if __name__ == "__main__":
    main()
