"""ragkit against LanceDB on the same corpus, the same vectors and the same queries.

SciFact (from ``--data``), one row per document on both sides: ragkit with
``WholeDocumentChunker`` (Flat vectors + BM25, default ``HybridRetriever``), LanceDB
at its documented defaults (``create_table`` with no vector index, i.e. brute-force
search; ``create_fts_index("text")``: its native full-text index with English stemming
and stop words; ``query_type="hybrid"`` with its default ``RRFReranker``). Document and
query vectors are computed once with the default model (all-MiniLM-L6-v2, through the
embedding cache) and given to both, so no model time is in any figure below.

Measured, each system alike:

- **build**: table/collection from texts + vectors to files on disk, full-text index included
  (ragkit: ``build_collection(..., vectors=...)`` + ``save``), ``--repeats`` times alternating,
  best and median.
- **cold first answer**: a fresh process (``--repeats`` times, alternating) imports the library,
  opens what was built (ragkit verifies checksums, its default) and answers one hybrid query
  from a pre-computed query vector; spawn to exit, and the in-process split import / open / query. Bytecode is
  cached (one untimed run of each first, ``PYTHONDONTWRITEBYTECODE`` dropped), as for an installed package.
  Also, in processes of their own, the import of what ragkit's open loads (pyarrow, pyarrow.compute, FAISS).
- **warm open**: opening what was built in this process, every library imported (median / best), and raw
  FAISS ``read_index`` + an Arrow memory map of the same files as the floor.
- **query latency**: every test query one by one, top 10, in a warm process; best of
  ``--repeats`` passes for each; plus ragkit's batch call.
- **quality**: nDCG@10 and Recall@100 of hybrid and of full-text alone, test qrels, with a paired
  randomisation test between the two systems' hybrid.
- **bytes on disk**.

    python benchmarks/lancedb_peer.py --data ../shared/data
Writes benchmarks/results/lancedb_peer.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from beir_quality import paired_test
from run_info import finish, markdown, run_info

import ragkit
from ragkit.embedding import SentenceTransformerEmbedder
from ragkit.embedding.cache import CachedEmbedder
from ragkit.eval import default_data_dir, evaluate, load_beir

os.environ.setdefault("RUST_LOG", "error")  # LanceDB's scanner logs a deprecation line per query otherwise
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
METRICS = ("ndcg@10", "recall@100")

COLD = {
    "ragkit": r"""
import sys, time, numpy as np
t0 = time.perf_counter()
import ragkit
t1 = time.perf_counter()
col = ragkit.open_collection(sys.argv[1])
t2 = time.perf_counter()
hits = ragkit.HybridRetriever(col).search(sys.argv[2], k=10, query_vectors=np.load(sys.argv[3]))
t3 = time.perf_counter()
print(hits[0].doc_id, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)
""",
    "lancedb": r"""
import sys, time, numpy as np
t0 = time.perf_counter()
import lancedb
t1 = time.perf_counter()
tbl = lancedb.connect(sys.argv[1]).open_table("docs")
t2 = time.perf_counter()
res = tbl.search(query_type="hybrid").vector(np.load(sys.argv[3])[0]).text(sys.argv[2]).select(["id"]).limit(10).to_arrow()
t3 = time.perf_counter()
print(res.column("id")[0].as_py(), (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)
""",
}


#: what ragkit's cold open imports of its dependencies (numpy is imported before the clock starts, as in COLD)
DEPENDENCIES = r"""
import time, numpy
t0 = time.perf_counter()
import pyarrow, pyarrow.compute, faiss
print((time.perf_counter() - t0) * 1e3)
"""


def build_ragkit(docs: list[ragkit.Document], vectors: np.ndarray, out: Path) -> Any:
    collection = ragkit.build_collection(docs, chunker=ragkit.WholeDocumentChunker(), vectors=vectors,
                                         embedder=SentenceTransformerEmbedder(show_progress=False))
    collection.save(out)
    return collection


def build_lancedb(ids: list[str], texts: list[str], vectors: np.ndarray, out: Path) -> Any:
    import lancedb

    table = pa.table({"id": ids, "text": texts,
                      "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])})
    tbl = lancedb.connect(out).create_table("docs", data=table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tbl.create_fts_index("text")
    return tbl


def ragkit_search(retriever: Any, query: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
    return [(h.doc_id, h.score) for h in retriever.search(query, k=k, query_vectors=vector[None, :])]


def lancedb_search(tbl: Any, query: str, vector: np.ndarray, k: int, kind: str) -> list[tuple[str, float]]:
    if kind == "hybrid":
        res = tbl.search(query_type="hybrid").vector(vector).text(query).select(["id"]).limit(k).to_arrow()
        scores = res.column("_relevance_score")
    else:
        res = tbl.search(query, query_type="fts").select(["id"]).limit(k).to_arrow()
        scores = res.column("_score")
    return list(zip(res.column("id").to_pylist(), scores.to_pylist(), strict=True))


def as_run(qids: list[str], ranked: list[list[tuple[str, float]]]) -> dict[str, dict[str, float]]:
    """trec-style run; scores replaced by a strictly decreasing value so ties keep each system's own order."""
    return {q: {doc: float(len(r) - i) for i, (doc, _) in enumerate(r)} for q, r in zip(qids, ranked, strict=True)}


def bytes_under(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def summary(values: list[float], digits: int = 2) -> dict[str, float]:
    return {"best": round(min(values), digits), "median": round(statistics.median(values), digits)}


def time_warm_open(paths: dict[str, Path], repeats: int) -> dict[str, dict[str, float]]:
    """ms to open what was built, in this process (every library already imported), alternating, ``repeats`` x 5 times
    each: ragkit's ``open_collection`` (checksums verified, its default), LanceDB's ``connect(...).open_table``, and raw
    FAISS's ``read_index`` of ragkit's vector file (memory-mapped) + an Arrow memory map of its chunk table."""
    import faiss
    import lancedb

    data = next(p for p in paths["ragkit"].iterdir() if p.is_dir() and p.name.startswith("data-"))

    def raw() -> Any:
        flag = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP)
        index = faiss.read_index(str(data / "vector" / "vectors.faiss"), flag | faiss.IO_FLAG_READ_ONLY)
        return index, pa.ipc.open_file(pa.memory_map(str(data / "chunks.arrow"))).read_all()

    openers = {"ragkit": lambda: ragkit.open_collection(paths["ragkit"]),
               "lancedb": lambda: lancedb.connect(paths["lancedb"]).open_table("docs"),
               "raw FAISS + Arrow map": raw}
    times: dict[str, list[float]] = {name: [] for name in openers}
    for _ in range(5 * repeats):
        for name, opener in openers.items():
            start = time.perf_counter()
            opened = opener()
            times[name].append(1e3 * (time.perf_counter() - start))
            del opened
    return {name: summary(t, 2) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--set", default="scifact")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="where both systems write (default: a temporary folder)")
    args = parser.parse_args()
    if args.data is None:
        parser.error("no BEIR data folder: pass --data or set RAGKIT_DATA_DIR")
    info = run_info(["numpy", "pyarrow", "faiss-cpu", "faiss-gpu", "lancedb", "pylance", "sentence-transformers", "torch"])
    data = load_beir(args.data / args.set, split="test")
    docs = data.documents
    ids, texts = [d.id for d in docs], [d.text.strip() for d in docs]
    qids = list(data.queries)
    queries = [data.queries[q] for q in qids]
    embedder = CachedEmbedder(SentenceTransformerEmbedder(show_progress=False))
    vectors = np.ascontiguousarray(embedder.embed_documents(texts), dtype=np.float32)
    qvecs = np.ascontiguousarray(embedder.embed_queries(queries), dtype=np.float32)

    work = args.work or Path(tempfile.mkdtemp(prefix="ragkit-lancedb-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    build_s: dict[str, list[float]] = {"ragkit": [], "lancedb": []}
    for _ in range(args.repeats):
        for name in build_s:
            out = work / f"{name}-build"
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            built = build_ragkit(docs, vectors, out) if name == "ragkit" else build_lancedb(ids, texts, vectors, out)
            build_s[name].append(time.perf_counter() - start)
            del built
    paths = {name: work / f"{name}-build" for name in build_s}
    collection = ragkit.open_collection(paths["ragkit"])
    import lancedb

    tbl = lancedb.connect(paths["lancedb"]).open_table("docs")
    hybrid = ragkit.HybridRetriever(collection)
    bm25 = ragkit.BM25Retriever(collection)

    # quality: depth 100 for Recall@100
    ranked = {
        "ragkit hybrid": [ragkit_search(hybrid, q, v, 100) for q, v in zip(queries, qvecs, strict=True)],
        "lancedb hybrid": [lancedb_search(tbl, q, v, 100, "hybrid") for q, v in zip(queries, qvecs, strict=True)],
        "ragkit bm25": [ragkit_search(bm25, q, v, 100) for q, v in zip(queries, qvecs, strict=True)],
        "lancedb fts": [lancedb_search(tbl, q, v, 100, "fts") for q, v in zip(queries, qvecs, strict=True)],
    }
    per_query = {name: evaluate(as_run(qids, r), data.qrels, METRICS).per_query for name, r in ranked.items()}
    quality = {name: {m: round(float(np.mean([s[m] for s in pq.values()])), 4) for m in METRICS}
               for name, pq in per_query.items()}
    ndcg = {name: {q: s["ndcg@10"] for q, s in pq.items()} for name, pq in per_query.items()}

    # warm one-by-one latency, best pass of --repeats for each, alternating
    passes: dict[str, list[float]] = {"ragkit hybrid": [], "lancedb hybrid": [], "ragkit hybrid, batch call": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        for q, v in zip(queries, qvecs, strict=True):
            ragkit_search(hybrid, q, v, 10)
        passes["ragkit hybrid"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for q, v in zip(queries, qvecs, strict=True):
            lancedb_search(tbl, q, v, 10, "hybrid")
        passes["lancedb hybrid"].append(time.perf_counter() - start)
        start = time.perf_counter()
        hybrid.search_batch(queries, k=10, query_vectors=qvecs)
        passes["ragkit hybrid, batch call"].append(time.perf_counter() - start)
    latency = {name: {"ms_per_query": round(1e3 * min(p) / len(queries), 3), "queries_per_s": round(len(queries) / min(p), 1)}
               for name, p in passes.items()}

    # open in this (warm) process, the libraries imported: each system's own work, with raw FAISS + an Arrow map as the floor
    warm_open = time_warm_open(paths, args.repeats)

    # cold first answer, fresh processes, alternating; one untimed run of each first, which caches the bytecode of
    # every module it imports (as installing a package does: LanceDB's is in site-packages, ragkit runs from src/)
    np.save(work / "query.npy", qvecs[:1])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cold: dict[str, dict[str, list[float]]] = {n: {"spawn_to_exit": [], "import": [], "open": [], "query": []} for n in COLD}
    dependencies_ms: list[float] = []
    for name, code in COLD.items():
        subprocess.run([sys.executable, "-c", code, str(paths[name]), queries[0], str(work / "query.npy")],
                       capture_output=True, text=True, check=True, env=env)
    for _ in range(args.repeats):
        for name, code in COLD.items():
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code, str(paths[name]), queries[0], str(work / "query.npy")],
                                  capture_output=True, text=True, check=True, env=env)
            cold[name]["spawn_to_exit"].append(1e3 * (time.perf_counter() - start))
            for key, value in zip(("import", "open", "query"), done.stdout.split()[1:], strict=True):
                cold[name][key].append(float(value))
        done = subprocess.run([sys.executable, "-c", DEPENDENCIES], capture_output=True, text=True, check=True, env=env)
        dependencies_ms.append(float(done.stdout.split()[-1]))

    results = {
        "run": info, "set": args.set, "documents": len(docs), "test_queries": len(qids),
        "model": "sentence-transformers/all-MiniLM-L6-v2 (vectors computed once, given to both)",
        "settings": {"ragkit": "WholeDocumentChunker, FaissIndex('Flat') + BM25Index() defaults, HybridRetriever() default fusion",
                     "lancedb": "create_table (no vector index: brute force, L2 on unit vectors = cosine order), "
                                "create_fts_index('text') defaults, query_type='hybrid' with the default RRFReranker"},
        "build_s": {n: summary(v, 3) for n, v in build_s.items()},
        "build_ratio_best": round(min(build_s["lancedb"]) / min(build_s["ragkit"]), 2),
        "bytes_on_disk": {n: bytes_under(p) for n, p in paths.items()},
        "quality": quality,
        "hybrid_ragkit_vs_lancedb": paired_test(ndcg["ragkit hybrid"], ndcg["lancedb hybrid"]),
        "bm25_ragkit_vs_lancedb_fts": paired_test(ndcg["ragkit bm25"], ndcg["lancedb fts"]),
        "latency": latency,
        "latency_ratio": round(latency["lancedb hybrid"]["ms_per_query"] / latency["ragkit hybrid"]["ms_per_query"], 2),
        "warm_open_ms": warm_open,
        "cold_ms": {n: {k: summary(v, 1) for k, v in parts.items()} for n, parts in cold.items()},
        "cold_dependency_import_ms": summary(dependencies_ms, 1),
        "cold_ratio_median": round(statistics.median(cold["lancedb"]["spawn_to_exit"])
                                   / statistics.median(cold["ragkit"]["spawn_to_exit"]), 2),
    }
    finish(info)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    write(results)


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lancedb_peer.json").write_text(json.dumps(results, indent=2) + "\n")
    q, lat, cold, b = results["quality"], results["latency"], results["cold_ms"], results["build_s"]
    hv, bv = results["hybrid_ragkit_vs_lancedb"], results["bm25_ragkit_vs_lancedb_fts"]
    lines = [f"# ragkit vs LanceDB on {results['set']} ({results['documents']} documents, {results['test_queries']} test queries)",
             "", *markdown(results["run"]), "",
             f"ragkit: {results['settings']['ragkit']}. LanceDB: {results['settings']['lancedb']}. "
             f"Vectors: {results['model']}. Ratios are LanceDB / ragkit (above 1: ragkit is faster).", "",
             "| measure | ragkit | LanceDB | ratio |", "|---|---|---|---|",
             f"| build from texts + vectors to disk, s (best / median) | {b['ragkit']['best']} / {b['ragkit']['median']} "
             f"| {b['lancedb']['best']} / {b['lancedb']['median']} | {results['build_ratio_best']} |",
             f"| bytes on disk | {results['bytes_on_disk']['ragkit']:,} | {results['bytes_on_disk']['lancedb']:,} | "
             f"{results['bytes_on_disk']['lancedb'] / results['bytes_on_disk']['ragkit']:.2f} |",
             f"| hybrid query one by one, ms (best pass) | {lat['ragkit hybrid']['ms_per_query']} | "
             f"{lat['lancedb hybrid']['ms_per_query']} | {results['latency_ratio']} |",
             f"| hybrid, ragkit batch call, ms/query | {lat['ragkit hybrid, batch call']['ms_per_query']} | — | — |",
             f"| cold process: spawn to first hybrid answer, ms (median / best) | {cold['ragkit']['spawn_to_exit']['median']} / "
             f"{cold['ragkit']['spawn_to_exit']['best']} | {cold['lancedb']['spawn_to_exit']['median']} / "
             f"{cold['lancedb']['spawn_to_exit']['best']} | {results['cold_ratio_median']} |"]
    for part in ("import", "open", "query"):
        lines.append(f"| … of which {part}, ms (median) | {cold['ragkit'][part]['median']} | {cold['lancedb'][part]['median']} | "
                     f"{cold['lancedb'][part]['median'] / max(cold['ragkit'][part]['median'], 1e-9):.2f} |")
    lines.append(f"| … of ragkit's open: importing pyarrow, pyarrow.compute and FAISS, ms (median, own process) | "
                 f"{results['cold_dependency_import_ms']['median']} | — | — |")
    wo = results["warm_open_ms"]
    lines.append(f"| open in a warm process (libraries imported), ms (median / best) | {wo['ragkit']['median']} / "
                 f"{wo['ragkit']['best']} | {wo['lancedb']['median']} / {wo['lancedb']['best']} | "
                 f"{wo['lancedb']['median'] / max(wo['ragkit']['median'], 1e-9):.2f} |")
    lines += [f"| hybrid nDCG@10 / R@100 | {q['ragkit hybrid']['ndcg@10']:.4f} / {q['ragkit hybrid']['recall@100']:.3f} | "
              f"{q['lancedb hybrid']['ndcg@10']:.4f} / {q['lancedb hybrid']['recall@100']:.3f} | "
              f"diff {hv['mean_diff']:+.4f}, p = {hv['p_value']:.3f} |",
              f"| full text alone (BM25 / LanceDB FTS) nDCG@10 / R@100 | {q['ragkit bm25']['ndcg@10']:.4f} / "
              f"{q['ragkit bm25']['recall@100']:.3f} | {q['lancedb fts']['ndcg@10']:.4f} / {q['lancedb fts']['recall@100']:.3f} | "
              f"diff {bv['mean_diff']:+.4f}, p = {bv['p_value']:.3f} |"]
    lines += ["", f"Open in a warm process, for comparison: raw FAISS `read_index` (memory-mapped) of ragkit's vector file + an "
              f"Arrow memory map of its chunk table, no checks: {wo['raw FAISS + Arrow map']['median']} ms (median). The cold "
              "runs reuse cached bytecode (one untimed run of each system first), as an installed package does; a cold "
              "process's open includes importing the libraries it needs (ragkit imports pyarrow and FAISS on open, "
              "LanceDB at import)."]
    (RESULTS / "lancedb_peer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
