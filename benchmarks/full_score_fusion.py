"""Fusion with every candidate's exact score from both legs, against the fusions of today, on every BEIR set.

Today's fusions see each leg's top list only: a document one leg did not return gets that
leg's lowest listed score (score fusion) or nothing (RRF). Here both legs score every
candidate exactly, so nothing is imputed:

- the candidates are the union of each leg's top ``--depth`` documents (BM25 over whole
  documents, derived from the chunk postings as the default collection searches; dense: a
  document's best chunk);
- ``full zscore w``: each leg's scores z-normalised over that union, weighted ``w`` (BM25 /
  dense), summed;
- against: BM25, dense, RRF k=60, and z-score over each leg's own list with the lowest
  listed score for a missing document (the library's default ``fusion="default"``, 0.4 / 0.6),
  computed here the same way, from the same score matrices.

No labels choose anything (the weights are the library default's). Paired randomisation test
on per-query nDCG@10 against the best leg and against the list z-score fusion.

    python benchmarks/full_score_fusion.py [--data DIR] [--sets scifact nfcorpus ...]
Embeddings are cached (``RAGKIT_CACHE_DIR``). Writes benchmarks/results/full_score_fusion.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
from beir_quality import paired_test
from run_info import finish, markdown, run_info

from ragkit.embedding import SentenceTransformerEmbedder
from ragkit.embedding.cache import CachedEmbedder
from ragkit.eval import default_data_dir, evaluate, load_beir
from ragkit.pipeline import build_collection
from ragkit.search.document_scope import DocumentView

RESULTS = Path(__file__).resolve().parent / "results"
SETS = ["scifact", "nfcorpus", "cisi", "cranfield", "dbpedia-5k"]
Ranked = tuple[np.ndarray, np.ndarray]


def zscore(s: np.ndarray) -> np.ndarray:
    if s.size < 2 or s.std() == 0:
        return np.zeros_like(s)
    return (s - s.mean()) / s.std()  # type: ignore[no-any-return]


def ranked(ids: np.ndarray, fused: np.ndarray, depth: int) -> Ranked:
    order = np.argsort(-fused, kind="stable")[:depth]
    return ids[order], fused[order]


def methods(bm25: np.ndarray, dense: np.ndarray, depth: int) -> dict[str, Ranked]:
    """Every method's ranking of one query, from its full BM25 and dense document scores."""
    b_top = np.argsort(-bm25, kind="stable")[:depth]
    b_top = b_top[bm25[b_top] > 0]  # BM25 returns documents holding a query term
    d_top = np.argsort(-dense, kind="stable")[:depth]
    union = np.union1d(b_top, d_top)
    at = np.searchsorted(union, b_top), np.searchsorted(union, d_top)
    rrf = np.zeros(union.size)
    for positions in at:
        rrf[positions] += 1.0 / (60 + np.arange(1, positions.size + 1))

    def listed(top: np.ndarray, positions: np.ndarray, scores: np.ndarray) -> np.ndarray:
        z = zscore(scores[top])
        out = np.full(union.size, z.min() if z.size else 0.0)
        out[positions] = z
        return out

    out = {"bm25": (b_top, bm25[b_top]), "dense": (d_top, dense[d_top]), "rrf k=60": ranked(union, rrf, depth),
           "list zscore 0.4/0.6 (default)": ranked(union, 0.4 * listed(b_top, at[0], bm25) + 0.6 * listed(d_top, at[1], dense),
                                                    depth)}
    zb, zd = zscore(bm25[union]), zscore(dense[union])
    for w in (0.3, 0.4, 0.5):
        out[f"full zscore {w:.1f}/{1 - w:.1f}"] = ranked(union, w * zb + (1 - w) * zd, depth)
    return out


def score_matrices(path: Path, embedder: Any) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, Any]:
    """Test query ids, document ids, and the (queries x documents) BM25 and dense scores of the default collection."""
    test = load_beir(path, split="test")
    collection = build_collection(test.documents, embedder=embedder)
    view, codes, n_docs = DocumentView().derive(collection, collection.index("bm25"))
    doc_ids = np.array([str(d) for d in pc.dictionary_encode(collection.chunks.column("doc_id")).combine_chunks()
                        .dictionary.to_pylist()])
    qids = list(test.queries)
    texts = [test.queries[q] for q in qids]
    chunk_scores = embedder.embed_queries(texts) @ collection.index("vector").row_vectors(np.arange(collection.num_rows)).T
    dense = np.full((len(qids), n_docs), -np.inf)
    for row, scores in enumerate(chunk_scores):  # a document's dense score: its best chunk
        np.maximum.at(dense[row], codes, scores)
    bm25 = np.stack([view.get_scores(t) for t in texts])
    return qids, doc_ids, bm25, dense, test.qrels


def run_set(path: Path, embedder: Any, depth: int) -> dict[str, Any]:
    qids, doc_ids, bm25, dense, qrels = score_matrices(path, embedder)
    rankings: dict[str, dict[str, dict[str, float]]] = {}
    for q, b, d in zip(qids, bm25, dense, strict=True):
        for name, (docs, scores) in methods(b, d, depth).items():
            rankings.setdefault(name, {})[q] = {str(doc_ids[x]): float(s) for x, s in zip(docs, scores, strict=True)}
    per_query = {name: {q: v["ndcg@10"] for q, v in evaluate(run, qrels, ["ndcg@10"]).per_query.items()}
                 for name, run in rankings.items()}
    means = {name: round(float(np.mean(list(v.values()))), 4) for name, v in per_query.items()}
    best_leg = max(("bm25", "dense"), key=lambda n: means[n])
    compare: Callable[[str, str], dict[str, float]] = lambda a, b: paired_test(per_query[a], per_query[b])  # noqa: E731
    return {"queries": len(qids), "documents": int(doc_ids.size), "ndcg@10": means, "best_leg": best_leg,
            "vs_best_leg": {n: compare(n, best_leg) for n in means if n not in ("bm25", "dense")},
            "vs_default": {n: compare(n, "list zscore 0.4/0.6 (default)") for n in means if n.startswith("full")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="folder of BEIR sets (default: ../shared/data)")
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--depth", type=int, default=100, help="candidates per leg")
    args = parser.parse_args()
    data = args.data or default_data_dir()
    if data is None:
        raise SystemExit("no BEIR data: pass --data or provide ../shared/data")
    info = run_info(["numpy", "sentence-transformers", "torch"])
    embedder = CachedEmbedder(SentenceTransformerEmbedder(show_progress=False))
    results = {}
    for name in args.sets:
        results[name] = run_set(Path(data) / name, embedder, args.depth)
        print(name, json.dumps(results[name]["ndcg@10"]), flush=True)
    finish(info)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "full_score_fusion.json").write_text(json.dumps({"run": info, "depth": args.depth, "sets": results}, indent=2))
    names = list(next(iter(results.values()))["ndcg@10"])
    lines = ["# Fusion over exact scores of both legs (no imputation) vs today's fusions", "", *markdown(info), "",
             f"Default collection (default chunker, all-MiniLM-L6-v2, BM25 over whole documents), test queries, "
             f"nDCG@10; candidates: each leg's top {args.depth} documents. p: paired randomisation test.", "",
             "| method | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for name in names:
        cells = []
        for r in results.values():
            cell = f"{r['ndcg@10'][name]:.4f}"
            if name in r["vs_best_leg"]:
                t = r["vs_best_leg"][name]
                cell += f" ({t['mean_diff']:+.4f} vs {r['best_leg']}, p {t['p_value']:.3f})"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Full-score fusion against the default (list z-score 0.4/0.6), mean difference (p):", ""]
    for name in [n for n in names if n.startswith("full")]:
        lines.append(f"- {name}: " + "; ".join(f"{s} {r['vs_default'][name]['mean_diff']:+.4f} "
                                               f"({r['vs_default'][name]['p_value']:.3f})" for s, r in results.items()))
    (RESULTS / "full_score_fusion.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
