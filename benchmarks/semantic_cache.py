"""Semantic query cache on a realistic SciFact query stream: hit rate, latency saved, wrong hits.

Stream: the 300 SciFact test claims, drawn by Zipf popularity (p(rank r) ~ 1/r^s over a
seeded random order of the claims). Each request is the original text with probability
``--original`` and otherwise one of four deterministic paraphrases of it (see
``paraphrases``): ``case`` (lower-cased, final period replaced by "?"), ``swap`` (two
adjacent words in the middle exchanged), ``synonym`` (the first word found in a fixed
26-entry synonym table replaced), ``stopword`` (the first stop word deleted). A paraphrase
that does not apply to a claim (no synonym, no stop word, fewer than 4 words) falls back to ``case``.

Retriever: HybridRetriever (BM25 + dense all-MiniLM-L6-v2, Flat, RRF, 100 candidates per
leg), top-10, over a SciFact collection (5,183 documents in 254-token chunks). Every request
is answered uncached and then by each cache configuration in turn (interleaved, so all see
the same machine load; one thread). A cache hit is *wrong* when its top-10 chunk rows differ
(in order) from the uncached top-10 of the request's own text; overlap@10 compares the sets;
nDCG@10 (document level, the claim's SciFact qrels) shows what the differences cost in quality.

    python benchmarks/semantic_cache.py --collection indexes/scifact     # built there first if missing
Writes benchmarks/results/semantic_cache.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread: steadier timings on a shared machine
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
from run_info import finish, markdown, run_info

import ragkit
from ragkit.cache import CachedRetriever, SemanticCache
from ragkit.eval import default_data_dir, load_beir
from ragkit.observe import overlap_at_k

RESULTS = Path(__file__).parent / "results"
SYNONYMS = {
    "increases": "raises", "increase": "raise", "increased": "raised", "decreases": "reduces", "decrease": "reduce",
    "decreased": "reduced", "associated": "linked", "patients": "individuals", "risk": "likelihood",
    "causes": "induces", "higher": "greater", "lower": "reduced", "treatment": "therapy", "effect": "impact",
    "common": "frequent", "inhibits": "blocks", "promotes": "enhances", "required": "needed", "prevents": "averts",
    "children": "kids", "disease": "illness", "levels": "amounts", "reduces": "lowers", "significantly": "substantially",
    "improves": "enhances", "mice": "rodents",
}
STOPWORDS = ("the", "a", "an", "of", "in", "is", "are", "with", "to", "for")
KINDS = ("original", "case", "swap", "synonym", "stopword")


def _case(text: str) -> str:
    return text.lower().rstrip(". ") + "?"


def paraphrases(text: str) -> dict[str, tuple[str, str]]:
    """kind -> (paraphrase, edit actually applied). Deterministic."""
    words = text.split()
    out: dict[str, tuple[str, str]] = {"case": (_case(text), "case")}
    if len(words) >= 4:
        i = len(words) // 2 - 1
        swapped = [*words[:i], words[i + 1], words[i], *words[i + 2:]]
        out["swap"] = (" ".join(swapped), "swap")
    else:
        out["swap"] = (_case(text), "case")
    out["synonym"] = (_case(text), "case")
    for i, w in enumerate(words):
        bare = w.lower().strip(".,;:")
        if bare in SYNONYMS:
            out["synonym"] = (" ".join([*words[:i], w.lower().replace(bare, SYNONYMS[bare]), *words[i + 1:]]), "synonym")
            break
    out["stopword"] = (_case(text), "case")
    for i, w in enumerate(words):
        if w.lower() in STOPWORDS and len(words) > 3:
            out["stopword"] = (" ".join(words[:i] + words[i + 1:]), "stopword")
            break
    return out


def make_stream(claims: list[str], n: int, zipf_s: float, p_original: float, seed: int) -> list[tuple[str, str, int]]:
    """(text, edit kind, claim index) per request."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(claims))
    weights = 1.0 / np.arange(1, len(claims) + 1) ** zipf_s
    picks = order[rng.choice(len(claims), size=n, p=weights / weights.sum())]
    variants = [paraphrases(c) for c in claims]
    stream = []
    for claim in picks.tolist():
        if rng.random() < p_original:
            stream.append((claims[claim], "original", claim))
        else:
            text, kind = variants[claim][KINDS[1 + int(rng.integers(4))]]
            stream.append((text, kind, claim))
    return stream


def open_collection(path: Path, data: Path) -> ragkit.Collection:
    if not (path / "manifest.json").is_file():
        print(f"building the SciFact collection into {path} (encodes the corpus: several minutes on 2 cores)")
        docs = load_beir(data, split="test").documents
        col = ragkit.build_collection(docs, chunker=ragkit.RecursiveChunker(max_tokens=254, overlap=32),
                                      embedder=ragkit.SentenceTransformerEmbedder(),
                                      indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
        col.save(path)
    return ragkit.Collection.open(path)


def ndcg10(doc_ids: list[str], qrels: dict[str, int]) -> float:
    """Document-level nDCG@10 (a document counts at its best chunk's rank)."""
    ranked = list(dict.fromkeys(doc_ids))[:10]
    dcg = sum(qrels.get(d, 0) / np.log2(i + 2) for i, d in enumerate(ranked))
    ideal = sum(r / np.log2(i + 2) for i, r in enumerate(sorted(qrels.values(), reverse=True)[:10]))
    return float(dcg / ideal) if ideal else 0.0


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def summarise(threshold: float, cache: SemanticCache, source: np.ndarray, wrong: np.ndarray, overlap: np.ndarray,
              wall: np.ndarray, cpu: np.ndarray, base_wall: np.ndarray, base_cpu: np.ndarray, ndcg: np.ndarray,
              base_ndcg: np.ndarray, kinds: np.ndarray) -> dict[str, Any]:
    hit, semantic = source != "miss", source == "semantic"

    def p50(values: np.ndarray) -> float:
        return float(np.median(values) * 1e3) if values.size else float("nan")

    return {
        "threshold": "exact only" if threshold >= 1.0 else threshold,
        "hit_rate": float(hit.mean()), "exact_hits": int((source == "exact").sum()), "semantic_hits": int(semantic.sum()),
        "wrong_hits": int((wrong & hit).sum()), "wrong_set_hits": int(((overlap < 1.0) & hit).sum()),
        "wrong_semantic_rate": float((wrong & semantic).sum() / max(semantic.sum(), 1)),
        "mean_overlap10_on_hits": float(overlap[hit].mean()) if hit.any() else float("nan"),
        "min_overlap10_on_hits": float(overlap[hit].min()) if hit.any() else float("nan"),
        "mean_ms_cached": float(wall.mean() * 1e3), "mean_ms_uncached": float(base_wall.mean() * 1e3),
        "latency_saved": float(1 - wall.sum() / base_wall.sum()),
        "cpu_ms_cached": float(cpu.mean() * 1e3), "cpu_ms_uncached": float(base_cpu.mean() * 1e3),
        "cpu_saved": float(1 - cpu.sum() / base_cpu.sum()),
        "hit_ms_p50": p50(wall[hit]), "miss_ms_p50": p50(wall[~hit]), "uncached_ms_p50": p50(base_wall),
        "ndcg10_cached": float(ndcg.mean()), "ndcg10_uncached": float(base_ndcg.mean()),
        "by_kind": {kind: {"requests": int((kinds == kind).sum()), "hit_rate": float(hit[kinds == kind].mean()),
                           "wrong_hits": int((wrong & hit & (kinds == kind)).sum())} for kind in KINDS if (kinds == kind).any()},
        "stats": cache.stats(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = args.data or ((default_data_dir() or Path("../shared/data")) / "scifact")
    dataset = load_beir(data, split="test")
    ids = list(dataset.queries)
    claims = [dataset.queries[i] for i in ids]
    col = open_collection(args.collection, data)
    retriever = ragkit.HybridRetriever(col, fusion="rrf")
    stream = make_stream(claims, args.requests, args.zipf, args.original, args.seed)
    retriever.search("warm up the model", k=args.k)
    torch = __import__("torch")
    torch.set_num_threads(1)

    n, thresholds = len(stream), list(args.thresholds)
    caches = [SemanticCache(threshold=None if t >= 1.0 else t, max_entries=args.max_entries, ttl_seconds=None) for t in thresholds]
    cached = [CachedRetriever(retriever, c) for c in caches]
    base_wall, base_cpu, base_ndcg = np.zeros(n), np.zeros(n), np.zeros(n)
    wall, cpu, ndcg, overlap = (np.zeros((len(thresholds), n)) for _ in range(4))
    wrong = np.zeros((len(thresholds), n), dtype=bool)
    source = np.empty((len(thresholds), n), dtype=object)
    for i, (text, _, claim) in enumerate(stream):  # interleaved: every configuration sees the same machine load
        qrels = dataset.qrels.get(ids[claim], {})
        hits, base_wall[i], base_cpu[i] = timed(retriever.search, text, k=args.k)
        truth = [h.chunk_row for h in hits]
        base_ndcg[i] = ndcg10([h.doc_id for h in hits], qrels)
        for c, cr in enumerate(cached):
            got, wall[c, i], cpu[c, i] = timed(cr.search, text, k=args.k)
            source[c, i] = cr.last_sources[0]
            rows = [h.chunk_row for h in got]
            wrong[c, i] = rows != truth
            overlap[c, i] = overlap_at_k(truth, rows, args.k)
            ndcg[c, i] = ndcg10([h.doc_id for h in got], qrels)
    kinds = np.array([kind for _, kind, _ in stream])
    configs = [summarise(t, caches[c], source[c], wrong[c], overlap[c], wall[c], cpu[c], base_wall, base_cpu, ndcg[c], base_ndcg,
                         kinds) for c, t in enumerate(thresholds)]
    for c in configs:
        print(f"threshold {c['threshold']}: hit rate {c['hit_rate']:.3f}, wrong hits {c['wrong_hits']}, "
              f"latency saved {c['latency_saved']:.1%} (cpu {c['cpu_saved']:.1%}), nDCG@10 {c['ndcg10_cached']:.4f} "
              f"vs {c['ndcg10_uncached']:.4f}")
    return {
        "setup": {"requests": n, "distinct_texts": len({text for text, _, _ in stream}), "claims": len(claims),
                  "claims_requested": len({c for _, _, c in stream}), "zipf_s": args.zipf, "p_original": args.original,
                  "seed": args.seed, "k": args.k, "max_entries": args.max_entries, "chunks": col.num_chunks,
                  "requests_by_kind": {kind: int((kinds == kind).sum()) for kind in KINDS},
                  "retriever": "HybridRetriever(rrf, candidates=100), dense all-MiniLM-L6-v2 Flat + BM25 (lucene)",
                  "torch_threads": torch.get_num_threads()},
        "configs": configs,
    }


def to_markdown(result: dict[str, Any]) -> str:
    s = result["setup"]
    lines = [
        "# Semantic query cache on a SciFact query stream",
        "",
        *markdown(result["run"]),
        "",
        f"{s['requests']} requests ({s['distinct_texts']} distinct texts) over {s['claims_requested']} of the {s['claims']} "
        f"SciFact test claims, Zipf s={s['zipf_s']}, original text with p={s['p_original']}, else one of four "
        f"paraphrases; requests by edit: {s['requests_by_kind']}. {s['retriever']}, k={s['k']}, "
        f"{s['chunks']} chunks, cache max_entries={s['max_entries']}, no TTL; torch threads {s['torch_threads']}.",
        "",
        "Paraphrases (deterministic): `case` lower-cases the claim and replaces its final period with '?'; `swap` exchanges "
        "the two words in the middle; `synonym` replaces the first word found in a fixed 26-entry table (increases->raises, "
        "patients->individuals, treatment->therapy, ...); `stopword` deletes the first of the, a, an, of, in, is, are, with, "
        "to, for. An edit that does not apply to a claim falls back to `case` (and is counted as `case`).",
        "",
        "A hit is wrong (order) when its top-10 chunk rows differ, in order, from the uncached top-10 of the request's own "
        "text; wrong (set) when the sets differ. nDCG@10 is document level against the claim's SciFact qrels. Every request "
        "is answered uncached and by each configuration in turn (interleaved), so all see the same machine load.",
        "",
        "| threshold | hit rate | exact | semantic | wrong hits (order) | wrong hits (set) | wrong / semantic hits "
        "| mean overlap@10 on hits | min overlap@10 | nDCG@10 cached / uncached | mean ms cached / uncached | latency saved "
        "| CPU saved | p50 ms hit / miss / uncached |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in result["configs"]:
        lines.append(
            f"| {c['threshold']} | {c['hit_rate']:.3f} | {c['exact_hits']} | {c['semantic_hits']} | {c['wrong_hits']} "
            f"| {c['wrong_set_hits']} | {c['wrong_semantic_rate']:.3f} | {c['mean_overlap10_on_hits']:.3f} "
            f"| {c['min_overlap10_on_hits']:.1f} | {c['ndcg10_cached']:.4f} / {c['ndcg10_uncached']:.4f} "
            f"| {c['mean_ms_cached']:.2f} / {c['mean_ms_uncached']:.2f} | {c['latency_saved']:.1%} | {c['cpu_saved']:.1%} "
            f"| {c['hit_ms_p50']:.2f} / {c['miss_ms_p50']:.2f} / {c['uncached_ms_p50']:.2f} |"
        )
    lines += ["", "Hit rate (wrong hits) by edit kind:", "",
              "| threshold | " + " | ".join(KINDS) + " |", "|---" * (len(KINDS) + 1) + "|"]
    for c in result["configs"]:
        cells = [f"{c['by_kind'][k]['hit_rate']:.2f} ({c['by_kind'][k]['wrong_hits']})" if k in c["by_kind"] else "-" for k in KINDS]
        lines.append(f"| {c['threshold']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", type=Path, default=Path("indexes/scifact"), help="SciFact collection (built if missing)")
    parser.add_argument("--data", type=Path, default=None, help="SciFact BEIR folder (default ../shared/data/scifact)")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument("--original", type=float, default=0.5, help="share of requests that repeat the original text")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[1.0, 0.99, 0.97, 0.95, 0.90])
    parser.add_argument("--max-entries", type=int, default=1024)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    info = run_info(["numpy", "torch", "sentence-transformers", "transformers", "faiss-cpu", "pyarrow"])
    result = {"run": info, **run(args)}
    finish(info)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "semantic_cache.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = to_markdown(result)
    (RESULTS / "semantic_cache.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
