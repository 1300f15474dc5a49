"""Quality and speed of ragkit's retrievers on BEIR sets, with rank-bm25 measured in the same run.

For each set: chunk + embed + index times, then nDCG@10 / Recall@100 (test split, judged
queries only, document level) for BM25, dense, hybrid RRF and hybrid min-max, and query
throughput of ragkit's BM25 against rank-bm25's BM25Okapi on the same tokens.

    python benchmarks/beir_quality.py                      # scifact and nfcorpus from ../shared/data
    python benchmarks/beir_quality.py --sets scifact --data /path/to/beir
Writes benchmarks/results/beir_quality.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import ragkit
from ragkit.eval import default_data_dir, load_beir
from ragkit.pipeline import evaluate_retriever

RESULTS = Path(__file__).parent / "results"


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def run_set(path: Path) -> dict[str, Any]:
    dataset = load_beir(path, split="test")
    chunker = ragkit.RecursiveChunker(max_tokens=254, overlap=32)
    embedder = ragkit.SentenceTransformerEmbedder(show_progress=True)
    embedder.load()
    chunks, t_chunk = timed(chunker.chunk_many, dataset.documents)
    texts = [c.text for c in chunks]
    vectors, t_embed = timed(embedder.embed_documents, texts)
    bm25 = ragkit.BM25Index()
    _, t_bm25 = timed(bm25.build, texts)
    flat = ragkit.FaissIndex("Flat")
    _, t_faiss = timed(flat.build, vectors)
    from ragkit.store.chunks import chunks_to_table

    collection = ragkit.Collection(chunks_to_table(chunks), {"vector": flat, "bm25": bm25}, embedder=embedder)
    retrievers = {
        "bm25": ragkit.BM25Retriever(collection),
        "dense": ragkit.DenseRetriever(collection),
        "hybrid_rrf": ragkit.HybridRetriever(collection, fusion=ragkit.RRF(k=60)),
        "hybrid_minmax": ragkit.HybridRetriever(collection, fusion=ragkit.ScoreFusion(normalization="minmax")),
    }
    quality = {}
    for name, retriever in retrievers.items():
        result, seconds = timed(evaluate_retriever, retriever, dataset)
        quality[name] = {**{k: round(v, 4) for k, v in result.means.items()},
                         "queries_per_s": round(len(dataset.queries) / seconds, 1)}
        print(f"{dataset.name} {name}: {quality[name]}")
    return {
        "documents": len(dataset.documents), "chunks": len(chunks), "queries": len(dataset.queries),
        "seconds": {"chunk": round(t_chunk, 2), "embed": round(t_embed, 1), "bm25_build": round(t_bm25, 2),
                    "faiss_build": round(t_faiss, 2)},
        "embed_chunks_per_s": round(len(chunks) / t_embed, 1),
        "quality": quality,
        "bm25_speed": bm25_speed(bm25, texts, list(dataset.queries.values())),
    }


def bm25_speed(index: ragkit.BM25Index, texts: list[str], queries: list[str]) -> dict[str, float]:
    """Top-10 queries/s of ragkit's BM25 vs rank-bm25 over the same chunks, one thread, same run."""
    from rank_bm25 import BM25Okapi

    tokenizer = index.config.tokenizer
    reference, t_ref_build = timed(BM25Okapi, tokenizer.tokenize(texts))
    _, t_ours = timed(index.search_rows, queries, 10)
    tokenized = tokenizer.tokenize(queries)
    _, t_ref = timed(lambda: [reference.get_top_n(q, texts, n=10) for q in tokenized])
    ours_qps, ref_qps = len(queries) / t_ours, len(queries) / t_ref
    return {"ragkit_qps": round(ours_qps, 1), "rank_bm25_qps": round(ref_qps, 1),
            "ratio": round(ours_qps / ref_qps, 1), "rank_bm25_build_s": round(t_ref_build, 2)}


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "beir_quality.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"# BEIR quality and speed ({results['machine']})", "",
             "| set | retriever | nDCG@10 | Recall@100 | queries/s |", "|---|---|---|---|---|"]
    for name, res in results["sets"].items():
        for retriever, q in res["quality"].items():
            lines.append(f"| {name} | {retriever} | {q['ndcg@10']:.4f} | {q['recall@100']:.4f} | {q['queries_per_s']} |")
    lines += ["", "| set | docs | chunks | chunk s | embed s (chunks/s) | BM25 build s | ragkit BM25 q/s | rank-bm25 q/s | ratio |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, res in results["sets"].items():
        s, b = res["seconds"], res["bm25_speed"]
        lines.append(f"| {name} | {res['documents']} | {res['chunks']} | {s['chunk']} | {s['embed']} ({res['embed_chunks_per_s']}) "
                     f"| {s['bm25_build']} | {b['ragkit_qps']} | {b['rank_bm25_qps']} | {b['ratio']}x |")
    (RESULTS / "beir_quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", default=["scifact", "nfcorpus"])
    args = parser.parse_args()
    if args.data is None:
        parser.error("no BEIR data folder: pass --data or set RAGKIT_DATA_DIR")
    results = {"machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
               "model": "sentence-transformers/all-MiniLM-L6-v2", "chunker": "RecursiveChunker(254, overlap 32)",
               "sets": {name: run_set(args.data / name) for name in args.sets}}
    write(results)


if __name__ == "__main__":
    main()
