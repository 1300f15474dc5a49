"""BM25 speed and quality: ragkit vs bm25s (numba and numpy backends) vs rank-bm25, in one run.

BEIR part (documents = title + text, test split, all judged queries, top-10, one thread):
every system indexes the same tokens (ragkit's tokenizer: lower case, English stop words,
Snowball stemming) and every timed query run starts from the query strings and tokenises them
with that tokenizer, so the systems differ only in indexing and scoring. Systems:

- ragkit ``BM25Index("lucene")`` (compiled kernel);
- bm25s ``BM25(method="lucene", backend="numba")``: the backend its documentation highly
  recommends (``pip install bm25s[core]``), retrieving with ``n_threads=0`` (one thread);
- bm25s ``backend="numpy"`` (its default without numba);
- rank-bm25 ``BM25Okapi`` (one query at a time: it has no batch search).

Each system answers the whole query batch in one call ("batch") and the queries one call each
("one by one"); every timing is the best of ``--repeats`` runs (builds: of 3), the same for each
system, after one untimed warm-up call (which compiles numba code). Also: the first query after
opening a saved index, in a fresh process and in this one.

Scale part (``--scale N``): N synthetic documents of ~80 tokens from a Zipf vocabulary: build,
peak memory, queries/s, save size, open and first query, the cost of adding and deleting 1% of
the corpus, and bm25s (numba) on the same corpus, best of ``--repeats`` for both.

    python benchmarks/bm25_speed.py                       # scifact + nfcorpus, no scale part
    python benchmarks/bm25_speed.py --scale 100000
Writes benchmarks/results/bm25_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np
from run_info import finish, markdown, run_info

from ragkit import BM25Index
from ragkit.eval import default_data_dir, evaluate, load_beir

RESULTS = Path(__file__).parent / "results"
REPEATS_BUILD = 3
SYSTEMS = ("ragkit", "bm25s_numba", "bm25s_numpy", "rank_bm25")
LABELS = {"ragkit": "ragkit", "bm25s_numba": "bm25s numba (recommended)", "bm25s_numpy": "bm25s numpy",
          "rank_bm25": "rank-bm25 BM25Okapi"}


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def best_of(repeats: int, fn: Any, *args: Any) -> tuple[Any, float]:
    """Result and the fastest of ``repeats`` timed calls (the least disturbed by other work)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        out, seconds = timed(fn, *args)
        best = min(best, seconds)
    return out, best


def rss_mb() -> float:
    """Current resident memory in MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def ndcg(run_ids: list[np.ndarray], run_scores: list[np.ndarray], doc_ids: list[str], dataset: Any) -> float:
    run = {q: {doc_ids[i]: float(s) for i, s in zip(ids, scores, strict=True)}
           for q, ids, scores in zip(dataset.queries, run_ids, run_scores, strict=True)}
    return round(evaluate(run, dataset.qrels, ["ndcg@10"]).means["ndcg@10"], 4)


def systems(texts: list[str], tokenizer: Any) -> dict[str, tuple[Any, Any, Any]]:
    """Per system: (build(), batch(index, queries) -> (ids, scores), one(index, query) -> (ids, scores))."""
    import bm25s
    from rank_bm25 import BM25Okapi

    def ragkit_build() -> BM25Index:
        index = BM25Index("lucene", tokenizer=tokenizer).build(texts)
        index.search_rows(["warm up"], 10)  # derives the score weights, which bm25s computes while indexing
        return index

    def ragkit_batch(index: BM25Index, queries: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        hits = index.search_rows(queries, 10)
        return [h.rows for h in hits], [h.scores for h in hits]

    def bm25s_build(backend: str) -> Any:
        def build() -> Any:
            retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75, backend=backend)
            retriever.index(tokenizer.tokenize(texts), show_progress=False)
            return retriever
        return build

    def bm25s_batch(retriever: Any, queries: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        ids, scores = retriever.retrieve(tokenizer.tokenize(queries), k=10, show_progress=False, n_threads=0)
        return list(ids), list(scores)

    def okapi_one(okapi: Any, query: str) -> tuple[np.ndarray, np.ndarray]:
        s = okapi.get_scores(tokenizer.tokenize([query])[0])
        top = np.argsort(-s, kind="stable")[:10]
        return top, s[top]

    def one_by_one(batch: Any) -> Any:
        def one(index: Any, query: str) -> tuple[np.ndarray, np.ndarray]:
            ids, scores = batch(index, [query])
            return ids[0], scores[0]
        return one

    return {"ragkit": (ragkit_build, ragkit_batch, one_by_one(ragkit_batch)),
            "bm25s_numba": (bm25s_build("numba"), bm25s_batch, one_by_one(bm25s_batch)),
            "bm25s_numpy": (bm25s_build("numpy"), bm25s_batch, one_by_one(bm25s_batch)),
            "rank_bm25": (lambda: BM25Okapi(tokenizer.tokenize(texts)), None, okapi_one)}


_FIRST_QUERY = """
import json, sys, time
t0 = time.perf_counter()
from ragkit import BM25Index
t1 = time.perf_counter()
index = BM25Index.load(__import__("pathlib").Path(sys.argv[1]), json.loads(sys.argv[2]))
t2 = time.perf_counter()
index.search_rows([sys.argv[3]], 10)
t3 = time.perf_counter()
index.search_rows([sys.argv[3]], 10)
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "first_query_s": t3 - t2, "second_query_s": t4 - t3}))
"""


def first_query(index: BM25Index, query: str) -> dict[str, Any]:
    """Open a saved copy of ``index`` and answer one query: in a fresh process (numba code loaded from its
    cache) and in this one (already loaded)."""
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp))
        config = json.dumps(index.get_config())
        fresh = subprocess.run([sys.executable, "-c", _FIRST_QUERY, tmp, config, query], capture_output=True,
                               text=True, check=True)
        loaded, t_open = timed(BM25Index.load, Path(tmp), index.get_config())
        _, t_first = timed(loaded.search_rows, [query], 10)
    return {"fresh_process": json.loads(fresh.stdout.strip().splitlines()[-1]),
            "this_process": {"open_s": t_open, "first_query_s": t_first}}


def beir_set(path: Path, repeats: int) -> dict[str, Any]:
    from ragkit import BM25Tokenizer

    dataset = load_beir(path, split="test")
    texts = [d.text for d in dataset.documents]
    doc_ids = [d.id for d in dataset.documents]
    queries = list(dataset.queries.values())
    tokenizer = BM25Tokenizer()
    tokens = tokenizer.tokenize(queries)
    out: dict[str, Any] = {"documents": len(texts), "queries": len(queries),
                           "query_tokens_mean": float(np.mean([len(t) for t in tokens]))}
    built = systems(texts, tokenizer)
    indexes: dict[str, Any] = {}
    for name, (build, _, one) in built.items():
        indexes[name], t_build = best_of(REPEATS_BUILD, build)
        out[name] = {"build_s": t_build}
        one(indexes[name], queries[0])  # warm-up (numba compiles or loads its code here)
    # the systems take turns within each repeat, so a burst of other load on the machine hits them alike
    best: dict[tuple[str, str], float] = {}
    answers: dict[str, Any] = {}
    for _ in range(repeats):
        for name, (_, batch, one) in built.items():
            index = indexes[name]
            if batch is not None:
                answers[name], t = timed(batch, index, queries)
                best[name, "batch"] = min(best.get((name, "batch"), float("inf")), t)
            runs, t = timed(lambda: [one(index, q) for q in queries])  # noqa: B023
            best[name, "one"] = min(best.get((name, "one"), float("inf")), t)
            if batch is None:
                answers[name] = ([r[0] for r in runs], [r[1] for r in runs])
    for name, (_, batch, _) in built.items():
        res = out[name]
        if batch is not None:
            res["qps_batch"] = len(queries) / best[name, "batch"]
        res["qps_one_by_one"] = len(queries) / best[name, "one"]
        ids, scores = answers[name]
        res["ndcg@10"] = ndcg(list(ids), list(scores), doc_ids, dataset)
        print(json.dumps({path.name: {name: res}}, default=lambda x: round(x, 4)), flush=True)
    out["ragkit"]["first_query_after_open"] = first_query(indexes["ragkit"], queries[0])
    rk, peer = out["ragkit"], out["bm25s_numba"]
    out["ratio_vs_bm25s_numba"] = {"batch": rk["qps_batch"] / peer["qps_batch"],
                                   "one_by_one": rk["qps_one_by_one"] / peer["qps_one_by_one"]}
    out["ratio_vs_bm25s_numpy"] = {"batch": rk["qps_batch"] / out["bm25s_numpy"]["qps_batch"],
                                   "one_by_one": rk["qps_one_by_one"] / out["bm25s_numpy"]["qps_one_by_one"]}
    out["ratio_vs_rank_bm25_one_by_one"] = rk["qps_one_by_one"] / out["rank_bm25"]["qps_one_by_one"]
    return out


def synthetic_corpus(n: int, seed: int, vocab: int = 200_000, mean_len: int = 80) -> list[str]:
    rng = np.random.default_rng(seed)
    lengths = rng.poisson(mean_len, n).clip(5)
    ids = np.minimum(rng.zipf(1.1, int(lengths.sum())), vocab) - 1
    words = np.array([f"w{i}" for i in range(vocab)], dtype=object)
    flat = words[ids]
    bounds = np.cumsum(lengths)[:-1]
    return [" ".join(part) for part in np.split(flat, bounds)]


def bm25s_scale(texts: list[str]) -> tuple[Any, dict[str, Any]]:
    """bm25s (numba backend) built on the synthetic corpus (no stop words or stemming: the words are synthetic)."""
    import gc

    import bm25s

    gc.collect()
    before = rss_mb()

    def build() -> Any:
        retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75, backend="numba")
        retriever.index(bm25s.tokenize(texts, stopwords=None, show_progress=False), show_progress=False)
        return retriever

    retriever, t_build = timed(build)
    return retriever, {"build_s": t_build, "rss_growth_after_build_mb": rss_mb() - before}


def scale_run(n: int, repeats: int) -> dict[str, Any]:
    """Build, query, open and update at ``n`` synthetic documents; ragkit's and bm25s's batch queries take turns in
    each of ``repeats`` timed runs (best kept for each)."""
    import bm25s

    from ragkit import BM25Tokenizer

    texts = synthetic_corpus(n, seed=0)
    extra = synthetic_corpus(n // 100, seed=1)
    rng = np.random.default_rng(2)
    # query terms follow the same Zipf law but skip the 100 most frequent terms (stop-word-like)
    queries = [" ".join(f"w{i + 99}" for i in rng.zipf(1.2, rng.integers(2, 6))) for _ in range(1000)]
    plain = BM25Tokenizer(stopwords=None, stemmer=None)
    before = rss_mb()

    def build() -> BM25Index:
        index = BM25Index("lucene", tokenizer=plain).build(texts)
        index.search_rows(queries[:1], 10)
        return index

    index, t_build = timed(build)
    peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    retriever, peer = bm25s_scale(texts)

    def peer_query() -> Any:
        tokens = bm25s.tokenize(queries, stopwords=None, show_progress=False)
        return retriever.retrieve(tokens, k=10, show_progress=False, n_threads=0)

    peer_query()
    t_ours, t_peer = float("inf"), float("inf")
    for _ in range(repeats):  # taking turns: a change of machine load during the long run hits both alike
        t_ours = min(t_ours, timed(index.search_rows, queries, 10)[1])
        t_peer = min(t_peer, timed(peer_query)[1])
    retriever = None  # free the memory before the updates
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp))
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        rss_before_open = rss_mb()
        loaded, t_open = timed(BM25Index.load, Path(tmp), index.get_config())
        open_rss = rss_mb() - rss_before_open
        _, t_first = timed(loaded.search_rows, queries[:1], 10)
        # each update is timed until the next query is answered
        _, t_add = timed(lambda: (loaded.add(extra), loaded.search_rows(queries[:1], 10)))
        delete = rng.choice(n, size=n // 100, replace=False)
        _, t_delete = timed(lambda: (loaded.delete(delete), loaded.search_rows(queries[:1], 10)))
        _, t_query_after = best_of(repeats, loaded.search_rows, queries, 10)
        loaded = None
    postings, vocabulary = index._require_state().postings.nnz, index.vocabulary_size
    del index
    out = {"documents": n, "postings": postings, "vocabulary": vocabulary, "queries": len(queries),
           "build_s": t_build, "peak_rss_growth_mb": peak_growth, "qps_batch": len(queries) / t_ours,
           "files_mb": size / 2**20, "open_s": t_open, "open_rss_growth_mb": open_rss, "first_query_s": t_first,
           "add_1pct_s": t_add, "delete_1pct_s": t_delete, "qps_after_updates": len(queries) / t_query_after,
           "add_vs_rebuild": t_add / t_build, "delete_vs_rebuild": t_delete / t_build,
           "bm25s_numba": {**peer, "qps_batch": len(queries) / t_peer}}
    out["ratio_vs_bm25s_numba"] = out["qps_batch"] / out["bm25s_numba"]["qps_batch"]
    print(json.dumps({"scale": out}, default=lambda x: round(x, 4)), flush=True)
    return out


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bm25_speed.json").write_text(json.dumps(results, indent=2, default=lambda x: round(x, 4)) + "\n")
    repeats = results["repeats"]
    lines = ["# BM25 speed (one thread, top-10)", "", *markdown(results["run"]), "",
             f"Same tokens for every system (ragkit's tokenizer, inside every timed query run). Timings are the best of "
             f"{REPEATS_BUILD} builds and {repeats} query runs for every system (taking turns within each run); "
             "ragkit's build includes a first query, "
             "which derives the score weights (bm25s computes them while indexing).", "",
             "| set | system | build s | queries/s batch | queries/s one by one | nDCG@10 |", "|---|---|---|---|---|---|"]
    for name, res in results["beir"].items():
        for system in SYSTEMS:
            r = res[system]
            batch = f"{r['qps_batch']:,.0f}" if "qps_batch" in r else "—"
            lines.append(f"| {name} | {LABELS[system]} | {r['build_s']:.2f} | {batch} | {r['qps_one_by_one']:,.1f} "
                         f"| {r['ndcg@10']:.4f} |")
        nb, npy = res["ratio_vs_bm25s_numba"], res["ratio_vs_bm25s_numpy"]
        lines.append(f"| {name} | ragkit / bm25s numba | | {nb['batch']:.2f}x | {nb['one_by_one']:.2f}x | |")
        lines.append(f"| {name} | ragkit / bm25s numpy | | {npy['batch']:.2f}x | {npy['one_by_one']:.2f}x | |")
        lines.append(f"| {name} | ragkit / rank-bm25 | | | {res['ratio_vs_rank_bm25_one_by_one']:.0f}x | |")
    lines += ["", "First query after opening a saved index (ragkit):", "",
              "| set | fresh process: import ragkit | open | first query | second query | this process: open | first query |",
              "|---|---|---|---|---|---|---|"]
    for name, res in results["beir"].items():
        f, t = res["ragkit"]["first_query_after_open"]["fresh_process"], res["ragkit"]["first_query_after_open"]["this_process"]
        lines.append(f"| {name} | {f['import_s'] * 1000:.0f} ms | {f['open_s'] * 1000:.1f} ms | {f['first_query_s'] * 1000:.0f} ms "
                     f"| {f['second_query_s'] * 1000:.2f} ms | {t['open_s'] * 1000:.1f} ms | {t['first_query_s'] * 1000:.1f} ms |")
    lines += ["", "In a fresh process the first query also loads the compiled kernels from numba's cache (numba's import "
              "and start-up, once per process); in a process that has searched before it derives only the index's "
              "own arrays (score weights, term hash table)."]
    if results.get("scale"):
        s = results["scale"]
        b = s["bm25s_numba"]
        lines += ["", f"## Synthetic scale: {s['documents']:,} documents, {s['postings']:,} postings, "
                  f"{s['vocabulary']:,} terms, {s['queries']:,} queries", "", "| measure | value |", "|---|---|",
                  f"| build | {s['build_s']:.1f} s |", f"| peak RSS growth during build | {s['peak_rss_growth_mb']:.0f} MB |",
                  f"| queries/s (batch) | {s['qps_batch']:,.1f} |", f"| files | {s['files_mb']:.0f} MB |",
                  f"| open (memory-mapped) | {s['open_s'] * 1000:.0f} ms, RSS +{s['open_rss_growth_mb']:.0f} MB |",
                  f"| first query after open | {s['first_query_s']:.2f} s |",
                  f"| add 1% ({s['documents'] // 100:,} docs) | {s['add_1pct_s']:.2f} s = {100 * s['add_vs_rebuild']:.1f}% of a rebuild |",
                  f"| delete 1% | {s['delete_1pct_s']:.2f} s = {100 * s['delete_vs_rebuild']:.1f}% of a rebuild |",
                  f"| queries/s after updates | {s['qps_after_updates']:,.1f} |",
                  f"| bm25s numba build (same corpus) | {b['build_s']:.1f} s, RSS +{b['rss_growth_after_build_mb']:.0f} MB after build |",
                  f"| bm25s numba queries/s (batch) | {b['qps_batch']:,.1f} (ragkit / bm25s = {s['ratio_vs_bm25s_numba']:.2f}x) |",
                  "", f"The two batch rates take turns in each of {results['repeats']} timed runs (best of them for each)."]
    (RESULTS / "bm25_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="*", default=["scifact", "nfcorpus"])
    parser.add_argument("--repeats", type=int, default=5, help="timed query runs per system (best kept)")
    parser.add_argument("--scale", type=int, default=0, help="synthetic documents (0: skip the scale part)")
    args = parser.parse_args()
    if args.sets and args.data is None:
        parser.error("no BEIR data folder: pass --data or set RAGKIT_DATA_DIR")
    info = run_info(["numpy", "numba", "bm25s", "rank-bm25", "PyStemmer", "scipy"])
    beir = {name: beir_set(args.data / name, args.repeats) for name in args.sets}
    scale = scale_run(args.scale, args.repeats) if args.scale else None
    write({"run": finish(info), "repeats": args.repeats, "beir": beir, "scale": scale})


if __name__ == "__main__":
    main()
