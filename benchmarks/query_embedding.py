"""Query embedding: torch (sentence-transformers) against the ONNX Runtime backend, speed and retrieval quality.

Same model (all-MiniLM-L6-v2), same queries, same document vectors (encoded once with torch,
through the embedding cache). For each backend:

- **speed**: one query per call over the first ``--queries`` test queries of SciFact (what a
  search service does), and batches of 64; best of ``--repeats`` for every backend alike, the
  backends interleaved within each repeat; at the libraries' default threads and at one thread
  (``torch.set_num_threads(1)``; ONNX Runtime ``intra_op_num_threads=1``);
- **vectors**: min cosine and max abs difference to torch's vectors;
- **quality**: nDCG@10 of dense and of the default hybrid search over the default collection
  (test split, every judged query, document level), and the paired randomisation p-value
  against torch.

Backends: ``torch`` (SentenceTransformerEmbedder(backend="torch")), ``onnx`` (backend="onnx": the
model exported once, fp32, what ``backend="auto"`` uses for queries), and ``onnx int8``: the same
export quantized by ``onnxruntime.quantization.quantize_dynamic`` (per-channel, reduce_range) —
measured here only, to decide whether it could be offered.

    python benchmarks/query_embedding.py                     # scifact and nfcorpus in ../shared/data
Writes benchmarks/results/query_embedding.{json,md} from scratch.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from run_info import finish, markdown, run_info

import ragkit
from ragkit.core.hashing import sha256_file
from ragkit.embedding import SentenceTransformerEmbedder
from ragkit.embedding.cache import CachedEmbedder, default_cache_dir
from ragkit.embedding.onnx_model import META_FILE, OnnxEncoder
from ragkit.eval import default_data_dir, evaluate, load_beir
from ragkit.pipeline import build_collection
from ragkit.pipeline.evaluate import retrieve_run

RESULTS = Path(__file__).parent / "results"
FLIPS = 10_000


class FixedEncoder(SentenceTransformerEmbedder):
    """The default model with its queries embedded by a given :class:`OnnxEncoder` (the int8 variant)."""

    def __init__(self, encoder: OnnxEncoder) -> None:
        super().__init__(backend="onnx")
        self._onnx = encoder


def int8_folder(fp32: Path, dest: Path) -> Path:
    """A copy of the exported folder with model.onnx quantized to int8 (dynamic, per channel, reduce_range)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(fp32, dest)
    quantize_dynamic(str(fp32 / "model.onnx"), str(dest / "model.onnx"), per_channel=True, reduce_range=True,
                     weight_type=QuantType.QInt8)
    meta = json.loads((dest / META_FILE).read_text())
    meta["onnx_sha256"] = sha256_file(dest / "model.onnx")
    (dest / META_FILE).write_text(json.dumps(meta))
    return dest


def encoders(threads: int | None) -> dict[str, Any]:
    """name -> a callable embedding a list of queries, at ``threads`` (None: the library defaults)."""
    import torch

    torch_model = SentenceTransformerEmbedder(backend="torch")
    torch_model.load()
    onnx = SentenceTransformerEmbedder(backend="onnx")
    folder = onnx.onnx_encoder("query").folder  # type: ignore[union-attr]
    int8 = int8_folder(folder, default_cache_dir() / "bench-onnx-int8")
    fp32_enc, int8_enc = OnnxEncoder(folder, threads=threads), OnnxEncoder(int8, threads=threads)
    previous = torch.get_num_threads()

    def with_torch_threads(texts: list[str]) -> np.ndarray:
        torch.set_num_threads(threads or previous)
        return torch_model.embed_queries(texts)

    # every backend through the same embedder entry point (validation, prompt, then the model)
    return {"torch": with_torch_threads, "onnx": FixedEncoder(fp32_enc).embed_queries,
            "onnx int8": FixedEncoder(int8_enc).embed_queries, "_encoders": {"onnx": fp32_enc, "onnx int8": int8_enc}}


def speed(queries: list[str], repeats: int, threads: int | None) -> dict[str, Any]:
    fns = encoders(threads)
    names = [n for n in fns if not n.startswith("_")]
    singles: dict[str, list[float]] = {n: [] for n in names}
    batches: dict[str, list[float]] = {n: [] for n in names}
    for name in names:  # warm-up: first calls allocate
        for q in queries[:10]:
            fns[name]([q])
    for _ in range(repeats):
        for name in names:
            start = time.perf_counter()
            for q in queries:
                fns[name]([q])
            singles[name].append((time.perf_counter() - start) / len(queries) * 1000)
            start = time.perf_counter()
            for i in range(0, len(queries), 64):
                fns[name](queries[i:i + 64])
            batches[name].append(len(queries) / (time.perf_counter() - start))
    out = {n: {"single_ms_best": round(min(singles[n]), 3), "single_ms_runs": [round(x, 3) for x in singles[n]],
               "batch64_qps_best": round(max(batches[n]), 1)} for n in names}
    for n in names:
        out[n]["single_speedup_vs_torch"] = round(out["torch"]["single_ms_best"] / out[n]["single_ms_best"], 2)
        out[n]["batch_speedup_vs_torch"] = round(out[n]["batch64_qps_best"] / out["torch"]["batch64_qps_best"], 2)
    return out


def paired_p(a: dict[str, float], b: dict[str, float], seed: int = 0) -> float:
    diff = np.array([a[q] - b[q] for q in sorted(set(a) & set(b))])
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(FLIPS, diff.size))
    return float((np.count_nonzero(np.abs((signs * diff).mean(axis=1)) >= abs(diff.mean()) - 1e-12) + 1) / (FLIPS + 1))


def quality(path: Path) -> dict[str, Any]:
    test = load_beir(path, split="test")
    collection = build_collection(test.documents, embedder=CachedEmbedder(SentenceTransformerEmbedder(
        backend="torch", show_progress=False)))
    texts = list(test.queries.values())
    fns = encoders(None)
    torch_vectors = fns["torch"](texts)
    result: dict[str, Any] = {"queries": len(texts)}
    per_query: dict[str, dict[str, dict[str, float]]] = {}
    for name in ("torch", "onnx", "onnx int8"):
        collection.embedder = SentenceTransformerEmbedder(backend="torch") if name == "torch" else \
            FixedEncoder(fns["_encoders"][name])
        vectors = fns[name](texts)
        cos = np.sum(vectors * torch_vectors, axis=1)
        row: dict[str, Any] = {"min_cosine": round(float(cos.min()), 6), "mean_cosine": round(float(cos.mean()), 6),
                               "max_abs_diff": float(np.abs(vectors - torch_vectors).max())}
        for leg, retriever in (("dense", ragkit.DenseRetriever(collection)), ("hybrid", ragkit.HybridRetriever(collection))):
            scores = evaluate(retrieve_run(retriever, test.queries), test.qrels, ("ndcg@10",)).per_query
            per_query[f"{name} {leg}"] = {q: v["ndcg@10"] for q, v in scores.items()}
            row[f"{leg}_ndcg@10"] = round(float(np.mean(list(per_query[f"{name} {leg}"].values()))), 4)
            if name != "torch":
                row[f"{leg}_diff_vs_torch"] = round(row[f"{leg}_ndcg@10"] - result["torch"][f"{leg}_ndcg@10"], 4)
                row[f"{leg}_p_vs_torch"] = round(paired_p(per_query[f"{name} {leg}"], per_query[f"torch {leg}"]), 4)
        result[name] = row
        print(path.name, name, json.dumps(row), file=sys.stderr)
    return result


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "query_embedding.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Query embedding: torch vs ONNX Runtime (all-MiniLM-L6-v2)", "", *markdown(results["run"]), "",
             f"Speed: the first {results['speed_queries']} SciFact test queries, one per call (ms/query) and in batches "
             f"of 64 (queries/s), best of {results['repeats']} for every backend, interleaved.", "",
             "| threads | backend | ms / single query | speed-up | batch-64 q/s | speed-up |", "|---|---|---|---|---|---|"]
    for threads, table in results["speed"].items():
        for name, r in table.items():
            lines.append(f"| {threads} | {name} | {r['single_ms_best']:.2f} | {r['single_speedup_vs_torch']:.2f}x | "
                         f"{r['batch64_qps_best']:.0f} | {r['batch_speedup_vs_torch']:.2f}x |")
    lines += ["", "Quality: test split, every judged query, document level; documents embedded once with torch; "
              "p = paired randomisation test against torch.", "",
              "| set | backend | min cosine to torch | dense nDCG@10 | diff (p) | hybrid nDCG@10 | diff (p) |",
              "|---|---|---|---|---|---|---|"]
    for name, res in results["quality"].items():
        for backend in ("torch", "onnx", "onnx int8"):
            r = res[backend]
            diff = ("", "") if backend == "torch" else (f"{r['dense_diff_vs_torch']:+.4f} ({r['dense_p_vs_torch']:.3f})",
                                                         f"{r['hybrid_diff_vs_torch']:+.4f} ({r['hybrid_p_vs_torch']:.3f})")
            lines.append(f"| {name} ({res['queries']} q) | {backend} | {r['min_cosine']:.5f} | {r['dense_ndcg@10']:.4f} | "
                         f"{diff[0]} | {r['hybrid_ndcg@10']:.4f} | {diff[1]} |")
    (RESULTS / "query_embedding.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", default=["scifact", "nfcorpus"])
    parser.add_argument("--queries", type=int, default=200, help="queries timed (SciFact test queries)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.data is None:
        parser.error("no BEIR data folder: pass --data or set RAGKIT_DATA_DIR")
    info = run_info(["numpy", "torch", "sentence-transformers", "transformers", "onnxruntime", "onnx", "tokenizers"])
    queries = list(load_beir(args.data / "scifact", split="test").queries.values())[:args.queries]
    results: dict[str, Any] = {"run": info, "speed_queries": len(queries), "repeats": args.repeats,
                               "speed": {"library defaults": speed(queries, args.repeats, None),
                                         "1": speed(queries, args.repeats, 1)},
                               "quality": {name: quality(args.data / name) for name in args.sets}}
    finish(info)
    write(results)


if __name__ == "__main__":
    main()
