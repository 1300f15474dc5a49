"""FAISS index types through ragkit's ``FaissIndex``, against raw FAISS on the same vectors, one thread.

For each set and index type (Flat, HNSW32, IVF,Flat, IVF,SQ8, IVF,PQ48):

* build time and FAISS index size; ``tune(target_recall=0.95, k=10)`` run on one half of the
  queries (the *tuning* half), and its choice checked on the other half (*held-out*): recall@10
  against exact search and queries/s of the whole held-out batch at the chosen setting. The
  library's default tuning (``tune()`` with its own sample of stored rows as queries) is run too
  and its choice checked on the same held-out queries.
* the wrapper overhead: raw FAISS calls on the FAISS index object ragkit searches
  (``FaissIndex.faiss_index``) against ragkit's ``search_rows``, timed for the same queries at k=10
  (a raw FAISS index built separately from the same vectors, with the same factory, training
  sample and search breadth, is timed beside them, and ``results_agree`` compares its results
  with ragkit's): single queries one at a time (rounds of ragkit ``search_rows`` over
  all the queries and of ``index.search`` over them alternate; each query's best of ``--rounds``) and the
  whole query batch at once (best of ``--rounds``, interleaved). Lossy indexes (SQ/PQ) in ragkit
  re-rank ``rescore x k`` candidates exactly; their raw peer does the same (FAISS search of
  ``rescore x k`` then a numpy re-rank), and the plain FAISS k=10 time is recorded beside it.
* Flat's single-query scan rate (vector bytes / time per query) as a fraction of the memory
  bandwidth of a 1 GiB numpy copy measured in the same run, just before.

Everything runs on one thread: ``faiss.omp_set_num_threads(1)`` and BLAS pools limited to one
thread (threadpoolctl), so the results do not depend on how busy the machine's other cores are.

Sets: the SciFact corpus as ragkit indexes it (chunks of 254 tokens, default model, through the
embedding cache) with its 300 test queries; and synthetic 384-d unit vectors with a cluster
structure (2,000 Zipf-sized clusters of varied spread in a 48-d latent space, mapped linearly to
384-d, plus noise) with 1,000 queries from the same distribution.

    python benchmarks/vector_speed.py                       # SciFact + synthetic 100,000 (~10 min, 1 thread)
    python benchmarks/vector_speed.py --large               # ... + synthetic 1,000,000 (an hour or more)
    python benchmarks/vector_speed.py --sizes 20000,200000 --no-scifact
Writes benchmarks/results/vector_speed.{json,md} from scratch: exactly the sets this run measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from run_info import finish, markdown, run_info
from threadpoolctl import threadpool_info, threadpool_limits

from ragkit import FaissIndex
from ragkit.index.vector import choose_factory
from ragkit.index.vector.engine import TRAIN_MIN, TRAIN_PER_LIST

RESULTS = Path(__file__).parent / "results"
K = 10
TARGET = 0.95
CURVE_TARGETS = (0.90, 0.95, 0.99)


# -- data --------------------------------------------------------------------------------
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


def scifact_vectors(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """SciFact chunk vectors (RecursiveChunker 254 tokens, overlap 32, as the quality benchmark) and test queries.

    Encoded with the default model through the embedding cache ($RAGKIT_CACHE_DIR), so only a
    first run encodes (minutes on two cores).
    """
    from ragkit import RecursiveChunker, SentenceTransformerEmbedder
    from ragkit.embedding.cache import CachedEmbedder, default_cache_dir
    from ragkit.eval import load_beir

    dataset = load_beir(data / "scifact", split="test")
    chunker = RecursiveChunker(max_tokens=254, overlap=32)
    texts = [c.text for d in dataset.documents for c in chunker.chunk(d)]
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), default_cache_dir() / "embeddings")
    docs = np.ascontiguousarray(embedder.embed_documents(texts), dtype=np.float32)
    queries = np.ascontiguousarray(embedder.embed_queries(list(dataset.queries.values())), dtype=np.float32)
    return docs, queries


# -- measurement helpers ------------------------------------------------------------------
def copy_bandwidth_gbs(size_bytes: int = 1 << 30) -> float:
    """Achieved memory bandwidth of a large single-threaded numpy copy (bytes read + written per second)."""
    a = np.ones(size_bytes // 4, dtype=np.float32)
    b = np.empty_like(a)
    np.copyto(b, a)  # fault the pages in
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - start)
    return 2 * a.nbytes / best / 1e9


def exact_ids(x: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    _, ids = faiss.knn(queries, x, k, metric=faiss.METRIC_INNER_PRODUCT)
    return ids  # type: ignore[no-any-return]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each query's true top-k among its returned top-k."""
    return float(np.mean([np.intersect1d(f[f >= 0], t).size / t.size for f, t in zip(found, truth, strict=True)]))


def ragkit_ids(index: FaissIndex, queries: np.ndarray, k: int = K) -> np.ndarray:
    ids = np.full((queries.shape[0], k), -1, dtype=np.int64)
    for i, c in enumerate(index.search_rows(queries, k)):
        ids[i, : len(c)] = c.rows
    return ids


def interleaved_single(fns: list[Callable[[np.ndarray], Any]], queries: np.ndarray, rounds: int) -> list[float]:
    """ms/query of each function, one query at a time: each round runs every function over all the queries (the
    functions' order alternating between rounds, so a change of machine load affects them alike), and each query's
    best of ``rounds`` is averaged. A function never follows another on the same query: the second search of a
    query would find the index pages the first one touched in the cache."""
    for fn in fns:  # warm-up pass, untimed
        for i in range(min(20, queries.shape[0])):
            fn(queries[i:i + 1])
    best = np.full((len(fns), queries.shape[0]), np.inf)
    rows = [queries[i:i + 1] for i in range(queries.shape[0])]
    clock = time.perf_counter
    for r in range(rounds):
        for j in (range(len(fns)) if r % 2 == 0 else range(len(fns) - 1, -1, -1)):
            fn, out = fns[j], best[j]
            for i, q in enumerate(rows):
                start = clock()
                fn(q)
                elapsed = clock() - start
                if elapsed < out[i]:
                    out[i] = elapsed
    return [1000 * float(v) for v in best.mean(axis=1)]


def interleaved_batch(fns: list[Callable[[np.ndarray], Any]], queries: np.ndarray, rounds: int) -> list[float]:
    """queries/s of each function on the whole batch at once: best of ``rounds``, runs interleaved."""
    best = [np.inf] * len(fns)
    for r in range(rounds):
        for j in (range(len(fns)) if r % 2 == 0 else range(len(fns) - 1, -1, -1)):
            start = time.perf_counter()
            fns[j](queries)
            best[j] = min(best[j], time.perf_counter() - start)
    return [queries.shape[0] / b for b in best]


# -- raw FAISS peer -----------------------------------------------------------------------
def raw_build(factory: str, x: np.ndarray) -> Any:
    """The same FAISS index ragkit builds for ``factory``: inner product, polysemous training off,
    trained on the same sample (ragkit's rule: at most max(40 x nlist, 65,536) rows, drawn with seed 0)."""
    n, d = x.shape
    index = faiss.index_factory(d, factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))  # IndexIVFPQ, IndexIVFScalarQuantizer...
        if hasattr(ivf, "do_polysemous_training"):
            ivf.do_polysemous_training = False
        cap = max(TRAIN_PER_LIST * int(ivf.nlist), TRAIN_MIN)  # type: ignore[attr-defined]
        index.train(x if n <= cap else x[np.sort(np.random.default_rng(0).choice(n, size=cap, replace=False))])
    index.add(x)
    return index


def raw_rescored(index: Any, x: np.ndarray, fetch: int) -> Callable[[np.ndarray], list[np.ndarray]]:
    """Raw FAISS for a lossy index, doing what ragkit does: ``fetch`` candidates, re-ranked by exact inner product."""
    def search(queries: np.ndarray) -> list[np.ndarray]:
        _, ids = index.search(queries, fetch)
        out = []
        for q, found in zip(queries, ids, strict=True):
            found = found[found >= 0]
            out.append(found[np.argsort(-(x[found] @ q), kind="stable")[:K]])
        return out
    return search


def lossy(factory: str) -> bool:
    return any(s in factory for s in ("PQ", "SQ", "LSH", "RaBitQ"))


# -- one set ------------------------------------------------------------------------------
def measure_index(factory: str, x: np.ndarray, queries: np.ndarray, tune_q: np.ndarray, held_q: np.ndarray,
                  held_truth: np.ndarray, single_q: np.ndarray, rounds: int,
                  flat_qps: float | None) -> tuple[dict[str, Any], dict[str, Any]]:
    n = x.shape[0]
    start = time.perf_counter()
    index = FaissIndex(factory, device="cpu").build(x)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    raw = raw_build(factory, x)
    raw_build_s = time.perf_counter() - start
    entry: dict[str, Any] = {"build_s": build_s, "raw_build_s": raw_build_s, "index_mb": index.memory_bytes() / 2**20,
                             "lossy": index.lossy}

    # the library's default tuning (its own sample of stored rows as queries), checked on the held-out real queries
    default = index.tune(target_recall=TARGET, k=K)
    entry["default_tune"] = {
        "tuned": {"parameter": default.parameter, "value": default.chosen, "rescore": default.rescore, "met": default.met},
        "recall_tuning_queries": next(p.recall for p in default.curve if p.value == (default.chosen or 0)),
        "heldout_recall": recall(ragkit_ids(index, held_q), held_truth)}

    # tuned on the tuning half of the real queries: the settings every later measurement uses
    tuned = index.tune(target_recall=TARGET, k=K, queries=tune_q)
    entry["tuned"] = {"parameter": tuned.parameter, "value": tuned.chosen, "rescore": tuned.rescore, "met": tuned.met}
    entry["tuned_recall_tuning_queries"] = next(p.recall for p in tuned.curve if p.value == (tuned.chosen or 0))
    entry["tuned_heldout_recall"] = recall(ragkit_ids(index, held_q), held_truth)
    entry["curve_tuning_queries"] = tuned.rows()
    for target in CURVE_TARGETS:
        meeting = [p for p in tuned.curve if p.recall >= target]
        entry[f"curve_qps@{target}"] = 1000 / meeting[0].ms_per_query if meeting else None

    # raw FAISS set to the same search breadth
    if tuned.parameter != "none" and tuned.chosen is not None:
        faiss.ParameterSpace().set_index_parameter(raw, tuned.parameter, tuned.chosen)
    rescore = tuned.rescore if index.lossy and tuned.rescore else 0
    fetch = min(K * rescore, n) if rescore else K
    # timed on the very FAISS object ragkit searches (two identically built indexes differ by several per cent in
    # speed, their memory placed apart); the separately built one is timed too, and its results compared
    searched = index.faiss_index
    peer = raw_rescored(searched, x, fetch) if rescore else (lambda q: searched.search(q, K))
    own_build = raw_rescored(raw, x, fetch) if rescore else (lambda q: raw.search(q, K))

    def ours(q: np.ndarray) -> Any:
        return index.search_rows(q, K)

    ours_ids = ragkit_ids(index, queries)
    peer_ids = np.array([r for r in own_build(queries)]) if rescore else own_build(queries)[1]
    agree = float(np.mean([np.array_equal(a, b[b >= 0]) for a, b in zip(ours_ids, peer_ids, strict=True)]))

    held_qps, = interleaved_batch([ours], held_q, rounds)
    entry["tuned_qps"] = held_qps
    entry["tuned_qps_over_flat"] = held_qps / flat_qps if flat_qps else 1.0

    fns: list[Callable[[np.ndarray], Any]] = [ours, peer, own_build]
    if rescore:
        fns.append(lambda q: searched.search(q, K))
    single = interleaved_single(fns, single_q, rounds)
    batch = interleaved_batch(fns, queries, rounds)
    peer_entry: dict[str, Any] = {
        "search_parameter": tuned.parameter, "search_value": tuned.chosen, "rescore": rescore or None, "fetch": fetch,
        "ragkit_single_ms": single[0], "raw_single_ms": single[1], "single_ratio": single[0] / single[1],
        "ragkit_batch_qps": batch[0], "raw_batch_qps": batch[1], "batch_ratio": batch[1] / batch[0],
        "raw_own_build_single_ms": single[2], "raw_own_build_batch_qps": batch[2], "results_agree": agree}
    if rescore:
        peer_entry |= {"raw_plain_k10_single_ms": single[3], "raw_plain_k10_batch_qps": batch[3]}
    if factory == "Flat":
        entry["flat_scan_gbs"] = x.nbytes / (single[0] / 1000) / 1e9
        entry["raw_flat_scan_gbs"] = x.nbytes / (single[1] / 1000) / 1e9
    print(json.dumps({factory: {**{k: v for k, v in entry.items() if k != "curve_tuning_queries"}, "raw_faiss": peer_entry}}), flush=True)
    return entry, peer_entry


def run_set(x: np.ndarray, queries: np.ndarray, factories: list[str], single: int, rounds: int) -> dict[str, Any]:
    n, d = x.shape
    order = np.random.default_rng(0).permutation(queries.shape[0])
    half = queries.shape[0] // 2
    tune_q = np.ascontiguousarray(queries[np.sort(order[:half])])
    held_q = np.ascontiguousarray(queries[np.sort(order[half:])])
    held_truth = exact_ids(x, held_q)
    single_q = held_q[:single]
    copy_gbs = copy_bandwidth_gbs()
    out: dict[str, Any] = {"n": n, "dim": d, "vectors_mb": x.nbytes / 2**20, "queries": queries.shape[0],
                           "tuning_queries": tune_q.shape[0], "heldout_queries": held_q.shape[0],
                           "single_queries": single_q.shape[0], "rounds": rounds,
                           "auto_choice": choose_factory(n, d).factory, "copy_bandwidth_gbs": copy_gbs,
                           "indexes": {}, "raw_faiss": {}}
    flat_qps = None
    for factory in factories:
        entry, peer = measure_index(factory, x, queries, tune_q, held_q, held_truth, single_q, rounds, flat_qps)
        out["indexes"][factory], out["raw_faiss"][factory] = entry, peer
        gc.collect()  # the two indexes of this factory
        if factory == "Flat":
            flat_qps = entry["tuned_qps"]
            out["flat_bandwidth_fraction"] = entry["flat_scan_gbs"] / copy_gbs
            out["raw_flat_bandwidth_fraction"] = entry["raw_flat_scan_gbs"] / copy_gbs
    return out


# -- output -------------------------------------------------------------------------------
def write(results: dict[str, Any]) -> None:
    """Write this run's results (and only them) to vector_speed.{json,md}."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vector_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    threads = results["run"]["faiss_threads"]
    lines = ["# FAISS index types: ragkit `FaissIndex` against raw FAISS (one thread, k=10)", "",
             *markdown(results["run"]), "",
             f"All measurements on one thread: `faiss.omp_set_num_threads({threads['omp_set_num_threads']})` "
             f"(FAISS's OpenMP default here was {threads['omp_max_threads_before']}) and BLAS limited to "
             f"{threads['blas_threads']} thread (threadpoolctl). Last-level cache: {results['run'].get('l3_cache', '?')}.", ""]

    def num(v: Any, spec: str = ",.0f") -> str:
        return "—" if v is None else format(v, spec)

    for name, s in results["sets"].items():
        lines += [f"## {name}: {s['n']:,} x {s['dim']}-d ({s['vectors_mb']:,.1f} MB of vectors), {s['queries']} queries", "",
                  f"Queries split at random: {s['tuning_queries']} to tune on, {s['heldout_queries']} held out; the single-query "
                  f"timings use {s['single_queries']} held-out queries, best of {s['rounds']} per query; batches are best of "
                  f"{s['rounds']}. Automatic choice for this size: `{s['auto_choice']}`.", ""]
        if "flat_bandwidth_fraction" in s:
            flat = s["indexes"]["Flat"]
            lines += [f"Flat, one query at a time: ragkit scans {flat['flat_scan_gbs']:.3f} GB/s = "
                      f"{s['flat_bandwidth_fraction']:.4f} of the {s['copy_bandwidth_gbs']:.3f} GB/s of a 1 GiB numpy copy "
                      f"(read + written) measured in this run (raw FAISS: {flat['raw_flat_scan_gbs']:.3f} GB/s = "
                      f"{s['raw_flat_bandwidth_fraction']:.4f}); vectors smaller than the last-level cache can scan faster "
                      "than a copy that streams through memory.", ""]
        lines += ["### Wrapper overhead: ragkit against raw FAISS, same index and search breadth", "",
                  "| index | setting | ragkit ms/query | raw ms/query | single ratio | raw, own build ms/query "
                  "| ragkit q/s (batch) | raw q/s (batch) | batch ratio | raw, own build q/s | same results |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for factory, p in s["raw_faiss"].items():
            setting = "exact" if p["search_parameter"] == "none" else f"{p['search_parameter']}={p['search_value']}"
            if p["rescore"]:
                setting += f", re-rank {p['fetch']}"
            lines.append(f"| `{factory}` | {setting} | {p['ragkit_single_ms']:.4f} | {p['raw_single_ms']:.4f} | "
                         f"{p['single_ratio']:.3f} | {p['raw_own_build_single_ms']:.4f} | {p['ragkit_batch_qps']:,.0f} | "
                         f"{p['raw_batch_qps']:,.0f} | {p['batch_ratio']:.3f} | {p['raw_own_build_batch_qps']:,.0f} | "
                         f"{p['results_agree']:.3f} |")
        lossy_rows = [(f, p) for f, p in s["raw_faiss"].items() if p["rescore"]]
        if lossy_rows:
            lines += ["", "Raw FAISS at plain k=10 without the exact re-rank (what the re-rank costs): " + "; ".join(
                f"`{f}` {p['raw_plain_k10_single_ms']:.4f} ms/query, {p['raw_plain_k10_batch_qps']:,.0f} q/s" for f, p in lossy_rows) + "."]
        lines += ["", "### tune(target_recall=0.95, k=10)", "",
                  "| index | build s (raw FAISS) | index MB | tuned on half the queries | recall, tuning half | recall, held out "
                  "| q/s held out | x Flat | default tune() choice | its held-out recall |", "|---|---|---|---|---|---|---|---|---|---|"]
        for factory, e in s["indexes"].items():
            lines.append(f"| `{factory}` | {e['build_s']:.2f} ({e['raw_build_s']:.2f}) | {e['index_mb']:,.1f} | {choice(e['tuned'])} | "
                         f"{e['tuned_recall_tuning_queries']:.4f} | {e['tuned_heldout_recall']:.4f} | {e['tuned_qps']:,.0f} | "
                         f"{e['tuned_qps_over_flat']:.1f}x | {choice(e['default_tune']['tuned'])} | "
                         f"{e['default_tune']['heldout_recall']:.4f} |")
        lines += ["", "Queries/s where the tuning curve (tuning half) first reaches a recall@10: "
                  + "; ".join(f"`{f}` " + " / ".join(num(e[f'curve_qps@{t}']) for t in CURVE_TARGETS)
                              for f, e in s["indexes"].items() if e["tuned"]["parameter"] != "none")
                  + f" (at {' / '.join(str(t) for t in CURVE_TARGETS)}).", ""]
    lines += ["Single ratio: ragkit ms/query ÷ raw ms/query; batch ratio: raw q/s ÷ ragkit q/s (both > 1 when ragkit is slower;",
              "target ≤ 1.1). Lossy indexes (SQ/PQ) re-rank rescore x k candidates exactly from the stored vectors; their raw peer",
              "does the same re-rank in numpy. 'raw' calls FAISS on the very index object ragkit searches, so the ratios are the",
              "wrapper's own cost; 'raw, own build' is a second index built by FAISS alone from the same vectors and settings",
              "(identical, but placed elsewhere in memory), and 'same results' the fraction of queries whose top-10 rows from it",
              "are identical to ragkit's.",
              "'index MB' is the FAISS index alone (ragkit keeps the exact vectors beside it). The default tune() tunes on 500",
              "stored rows as queries (each one's own row left out); both tunings are checked on the same held-out real queries."]
    (RESULTS / "vector_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def choice(t: dict[str, Any]) -> str:
    if t["parameter"] == "none":
        return "exact"
    out = f"{t['parameter']}={t['value']}" + (f", rescore={t['rescore']}" if t.get("rescore") else "")
    return out + ("" if t["met"] else " (target not met)")


def l3_cache() -> str | None:
    try:
        return Path("/sys/devices/system/cpu/cpu0/cache/index3/size").read_text().strip()
    except OSError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="synthetic set sizes, comma-separated (empty: none)")
    parser.add_argument("--large", action="store_true", help="add the 1,000,000-vector synthetic set")
    parser.add_argument("--data", type=Path, default=None, help="BEIR data folder (default: RAGKIT_DATA_DIR or ../shared/data)")
    parser.add_argument("--no-scifact", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs per measurement (best kept)")
    parser.add_argument("--single", type=int, default=200, help="held-out queries timed one at a time")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.replace("_", "").split(",") if s.strip()] + ([1_000_000] if args.large else [])
    info = run_info(["numpy", "faiss-cpu", "threadpoolctl", "sentence-transformers", "torch"])
    omp_before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    sets: dict[str, Any] = {}
    with threadpool_limits(limits=1):
        info["faiss_threads"] = {"omp_max_threads_before": omp_before, "omp_set_num_threads": 1,
                                 "omp_max_threads": faiss.omp_get_max_threads(), "blas_threads": 1,
                                 "threadpools": [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads")}
                                                 for p in threadpool_info()]}
        info["l3_cache"] = l3_cache()
        if not args.no_scifact:
            from ragkit.eval import default_data_dir

            data = args.data or default_data_dir()
            if data is None or not (data / "scifact").exists():
                parser.error("SciFact not found: pass --data, set RAGKIT_DATA_DIR, or use --no-scifact")
            docs, queries = scifact_vectors(data)
            sets["scifact (all-MiniLM-L6-v2)"] = run_set(
                docs, queries, ["Flat", "HNSW32", "IVF256,Flat", "IVF256,SQ8", "IVF256,PQ48"], args.single, args.rounds)
        for n in sizes:
            nlist = 4 * int(np.sqrt(n)) // 1000 * 1000 or 64  # 4*sqrt(N), rounded: 1000 at 100k, 4000 at 1M
            x = clustered(n, 384, seed=0)
            queries = clustered(1000, 384, seed=1)
            sets[f"synthetic clustered {n:,}"] = run_set(
                x, queries, ["Flat", "HNSW32", f"IVF{nlist},Flat", f"IVF{nlist},SQ8", f"IVF{nlist},PQ48"], args.single, args.rounds)
            del x
            gc.collect()
    write({"run": finish(info), "sets": sets})


if __name__ == "__main__":
    main()
