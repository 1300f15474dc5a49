"""Label-free fusion of the two hybrid legs: many variants against the default, on every BEIR set.

The question: can a fusion that sees no relevance labels tell, per query or per collection, that
one leg is much weaker than the other, and lean on the stronger one (dbpedia-5k: dense 0.517,
BM25 0.380, the default z-score fusion 0.490) without losing what fusion gains where the legs
are comparable (CISI, Cranfield, NFCorpus, SciFact)?

For each set, the default collection is built once (embedding cache) and the default
``HybridRetriever``'s completed legs are recorded for every judged test query, at the depth the
quality benchmark uses (300 candidates per leg; every candidate scored by both legs). Each variant
below is a function of one query's two aligned score vectors, evaluated from those arrays (document
level, best chunk per document, nDCG@10; the default variant is checked against ``ragkit.eval``).
Families, all label-free:

- fixed weights over z-scores (the default: 0.4 / 0.6), and other score transforms: log1p or sqrt of
  BM25 before the z-score (BM25 over the completed candidates is right-skewed), theoretical min-max
  (Bruch et al. 2023), a soft minimum of the two z-scores;
- per-query weights from query-performance predictors of each leg's score distribution: the top-10
  z-gap, the mean top-10 z-score, NQC (spread of the top scores over the mean);
- per-query weights from leg agreement: how the other leg rates a leg's top 10;
- per-query weights from a two-class latent mixture fitted to the candidates (EM; each leg's weight
  is its linear log-likelihood ratio);
- corpus-level, label-free: pseudo-queries cut from the corpus (document titles, random 8-word
  spans) with their source document as the positive, and the dense share that maximises MRR@10 there.

For reference only (they use labels): the best fixed dense share per set, the per-query oracle, and
how much the per-query predictors could give at best: a ridge regression from 13 of them to each
query's best dense share, fitted with the labels of the other sets and applied to the held-out one.

    python benchmarks/fusion_research.py [--data DIR] [--sets cisi dbpedia-5k ...]
Writes benchmarks/results/fusion_research.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from beir_quality import paired_test
from run_info import finish, markdown, run_info

import ragkit
from ragkit.core.results import Candidates
from ragkit.embedding import SentenceTransformerEmbedder
from ragkit.embedding.cache import CachedEmbedder
from ragkit.eval import default_data_dir, evaluate, load_beir
from ragkit.pipeline import build_collection
from ragkit.pipeline.evaluate import retrieve_run
from ragkit.search.fusion import default_fusion

RESULTS = Path(__file__).parent / "results"
DEPTH = 300
DISCOUNT = 1.0 / np.log2(np.arange(2, 12))
Variant = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Recorder:
    """A fusion that keeps the completed legs it is given and fuses like the default."""

    complete = True

    def __init__(self) -> None:
        self.inner = default_fusion(["bm25", "dense"])
        self.seen: list[list[Candidates]] = []

    def fuse(self, legs: Sequence[Candidates], k: int) -> Candidates:
        self.seen.append(list(legs))
        return self.inner.fuse(legs, k)


def aligned(legs: list[Candidates]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of the legs' rows and each leg's score of every row (both legs complete)."""
    rows = np.union1d(legs[0].rows, legs[1].rows)
    scores = []
    for leg in legs:
        order = np.argsort(leg.rows)
        pos = np.searchsorted(leg.rows[order], rows)
        scores.append(leg.scores[order][pos])
    return rows, scores[0], scores[1]


def z(x: np.ndarray) -> np.ndarray:
    std = x.std()
    return np.zeros_like(x) if std == 0 else (x - x.mean()) / std


# -- variants ---------------------------------------------------------------------------------

def fixed(wd: float, tb: Callable[[np.ndarray], np.ndarray] = lambda x: x) -> Variant:
    return lambda b, d: (1 - wd) * z(tb(b)) + wd * z(d)


def tm2c2(wd: float) -> Variant:
    """Theoretical min-max: BM25 over [0, max], cosine over [-1, max]."""
    return lambda b, d: (1 - wd) * (b / b.max() if b.max() > 0 else 0 * b) + wd * (d + 1) / (d.max() + 1)


def softmin(a: float, wd: float) -> Variant:
    return lambda b, d: -np.logaddexp(np.log(1 - wd) - a * z(b), np.log(wd) - a * z(d)) / a


def _weighted(gb: float, gd: float, zb: np.ndarray, zd: np.ndarray, prior: tuple[float, float]) -> np.ndarray:
    wb, wd = prior[0] * max(gb, 1e-9), prior[1] * max(gd, 1e-9)
    return (wb * zb + wd * zd) / (wb + wd)


def qpp(stat: Callable[[np.ndarray, np.ndarray], float], prior: tuple[float, float] = (0.5, 0.5)) -> Variant:
    """Per-query weights proportional to a predictor of each leg's quality."""
    def f(b: np.ndarray, d: np.ndarray) -> np.ndarray:
        zb, zd = z(b), z(d)
        return _weighted(stat(b, zb), stat(d, zd), zb, zd, prior)
    return f


def gap10(s: np.ndarray, zs: np.ndarray) -> float:
    top = np.sort(zs)[::-1]
    return float(top[0] - top[min(9, top.size - 1)])


def top10z(s: np.ndarray, zs: np.ndarray) -> float:
    return float(np.sort(zs)[::-1][:10].mean())


def nqc(s: np.ndarray, zs: np.ndarray) -> float:
    return float(np.sort(s)[::-1][:100].std() / (abs(s.mean()) + 1e-9))


def cross_support(prior: tuple[float, float] = (0.5, 0.5)) -> Variant:
    """Per-query weight of a leg = the other leg's mean z-score over this leg's top 10."""
    def f(b: np.ndarray, d: np.ndarray) -> np.ndarray:
        zb, zd = z(b), z(d)
        tb, td = np.argsort(-zb, kind="stable")[:10], np.argsort(-zd, kind="stable")[:10]
        return _weighted(float(zd[tb].mean()), float(zb[td].mean()), zb, zd, prior)
    return f


def latent_mixture(iters: int = 10, init: float = 0.05) -> Variant:
    """Two-class mixture over the candidates (per-leg class means, shared per-leg variance); weights = LLR slopes."""
    def f(b: np.ndarray, d: np.ndarray) -> np.ndarray:
        x = np.stack([z(np.log1p(np.maximum(b, 0))), z(d)], 1)
        r = np.zeros(x.shape[0])
        r[np.argsort(-x.sum(1), kind="stable")[:max(2, round(init * x.shape[0]))]] = 1.0
        for _ in range(iters):
            pi = np.clip(r.mean(), 1e-3, 1 - 1e-3)
            mu1, mu0 = (r @ x) / max(r.sum(), 1e-9), ((1 - r) @ x) / max((1 - r).sum(), 1e-9)
            var = (r[:, None] * (x - mu1) ** 2 + (1 - r)[:, None] * (x - mu0) ** 2).mean(0) + 1e-6
            slope = (mu1 - mu0) / var
            llr = x @ slope - ((mu1 ** 2 - mu0 ** 2) / (2 * var)).sum() + np.log(pi / (1 - pi))
            r = 1 / (1 + np.exp(-np.clip(llr, -50, 50)))
        w = np.maximum(slope, 0)
        return x @ (w / w.sum() if w.sum() > 0 else np.array([0.5, 0.5]))
    return f


def variants() -> dict[str, Variant]:
    out: dict[str, Variant] = {f"z-score {1 - w:.1f}/{w:.1f}": fixed(w) for w in (0.5, 0.6, 0.7, 0.8, 0.9)}
    out |= {f"log1p(BM25) z-score {1 - w:.1f}/{w:.1f}": fixed(w, np.log1p) for w in (0.5, 0.6, 0.7)}
    out |= {f"sqrt(BM25) z-score {1 - w:.1f}/{w:.1f}": fixed(w, np.sqrt) for w in (0.6, 0.7)}
    out |= {f"theoretical min-max {1 - w:.1f}/{w:.1f}": tm2c2(w) for w in (0.8, 0.9)}
    out |= {"soft minimum a=0.25 0.4/0.6": softmin(0.25, 0.6)}
    out |= {"QPP top-10 z-gap": qpp(gap10), "QPP top-10 z-gap, prior 0.4/0.6": qpp(gap10, (0.4, 0.6)),
            "QPP mean top-10 z": qpp(top10z), "QPP NQC": qpp(nqc),
            "agreement: other leg's z of top 10": cross_support(),
            "agreement, prior 0.4/0.6": cross_support((0.4, 0.6)),
            "latent two-class mixture (EM)": latent_mixture()}
    return out


# -- evaluation -------------------------------------------------------------------------------

class RecordedSet:
    """One set's completed legs per test query, with what nDCG@10 needs."""

    def __init__(self, path: Path) -> None:
        test = load_beir(path, split="test")
        self.documents = test.documents
        self.collection = build_collection(test.documents, embedder=CachedEmbedder(SentenceTransformerEmbedder(show_progress=False)))
        self.doc_ids = np.asarray(self.collection.chunks.column("doc_id").to_numpy(zero_copy_only=False)).astype(str)
        self.qids = list(test.queries)
        recorder = Recorder()
        hybrid = ragkit.HybridRetriever(self.collection, fusion=recorder)
        self.reference = evaluate(retrieve_run(hybrid, test.queries, depth=DEPTH), test.qrels, ["ndcg@10"]).means["ndcg@10"]
        self.queries: list[dict[str, Any]] = []
        for qid, legs in zip(self.qids, recorder.seen, strict=True):
            rows, b, d = aligned(legs)
            judged = test.qrels[qid]
            ideal = np.sort([g for g in judged.values() if g > 0])[::-1][:10].astype(np.float64)
            docs = self.doc_ids[rows]
            self.queries.append({"rows": rows, "b": b, "d": d, "code": np.unique(docs, return_inverse=True)[1],
                                 "gains": np.array([max(judged.get(x, 0), 0) for x in docs], dtype=np.float64),
                                 "idcg": float((ideal * DISCOUNT[:ideal.size]).sum())})

    def ndcg(self, variant: Variant) -> np.ndarray:
        out = np.zeros(len(self.queries))
        for i, q in enumerate(self.queries):
            order = np.lexsort((q["rows"], -variant(q["b"], q["d"])))
            _, first = np.unique(q["code"][order], return_index=True)
            gains = q["gains"][order[np.sort(first)][:10]]
            out[i] = (gains * DISCOUNT[:gains.size]).sum() / q["idcg"] if q["idcg"] > 0 else 0.0
        return out

    def pseudo_queries(self, kind: str, n: int = 200, seed: int = 0) -> dict[str, Any]:
        """MRR@10 of z-score fusion at each dense share, on pseudo-queries cut from the corpus (label-free)."""
        rng = np.random.default_rng(seed)
        texts, positives = [], []
        for i in rng.choice(len(self.documents), size=min(n, len(self.documents)), replace=False):
            doc = self.documents[int(i)]
            words = doc.text.split()
            if kind == "title":
                text = str(doc.metadata.get("title", ""))
            else:
                start = int(rng.integers(0, max(1, len(words) - 8)))
                text = " ".join(words[start:start + 8])
            if text.strip():
                texts.append(text)
                positives.append(doc.id)
        recorder = Recorder()
        ragkit.HybridRetriever(self.collection, fusion=recorder).retrieve(texts, 100)
        shares = np.linspace(0.0, 1.0, 11)
        mrr = np.zeros(shares.size)
        for legs, positive in zip(recorder.seen, positives, strict=True):
            rows, b, d = aligned(legs)
            for j, w in enumerate(shares):
                order = np.lexsort((rows, -fixed(w)(b, d)))
                docs = self.doc_ids[rows[order]]
                _, first = np.unique(docs, return_index=True)
                hit = np.flatnonzero(docs[np.sort(first)][:10] == positive)
                mrr[j] += 1.0 / (hit[0] + 1) if hit.size else 0.0
        mrr /= max(len(positives), 1)
        return {"queries": len(positives), "mrr@10_bm25": round(float(mrr[0]), 4), "mrr@10_dense": round(float(mrr[-1]), 4),
                "best_dense_share": round(float(shares[mrr.argmax()]), 1)}


def features(b: np.ndarray, d: np.ndarray) -> list[float]:
    """Label-free per-query predictors: each leg's score shape, how the legs agree, the dense top score."""
    zb, zd = z(b), z(d)
    tb, td = np.argsort(-zb, kind="stable")[:10], np.argsort(-zd, kind="stable")[:10]
    rb, rd = np.argsort(np.argsort(-zb, kind="stable")), np.argsort(np.argsort(-zd, kind="stable"))
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant leg has no correlation: 0 below
        rank_corr, score_corr = np.corrcoef(rb, rd)[0, 1], np.corrcoef(b, d)[0, 1]
    out = [zb.max(), zd.max(), gap10(b, zb), gap10(d, zd), top10z(b, zb), top10z(d, zd), zd[tb].mean(), zb[td].mean(),
           np.intersect1d(tb, td).size / 10, rank_corr, score_corr, d.max(), (b <= 0).mean()]
    return [float(v) if np.isfinite(v) else 0.0 for v in out]


SHARES = np.linspace(0.0, 1.0, 11)


def leave_one_set_out(tables: dict[str, tuple[np.ndarray, np.ndarray]], ridge: float = 1.0) -> dict[str, dict[str, float]]:
    """Per held-out set: nDCG@10 of per-query shares predicted from the features by a fit on the other sets' labels."""
    out = {}
    for held in tables:
        x = np.vstack([tables[n][0] for n in tables if n != held])
        grid = np.vstack([tables[n][1] for n in tables if n != held])
        best = (grid >= grid.max(1, keepdims=True) - 1e-9).astype(np.float64)
        target, keep = (best * SHARES).sum(1) / best.sum(1), grid.max(1) > grid.min(1)
        mu, sd = x.mean(0), x.std(0) + 1e-9
        a = np.hstack([(x - mu) / sd, np.ones((x.shape[0], 1))])[keep]
        beta = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ target[keep])
        xh, gh = tables[held]
        share = np.clip(np.hstack([(xh - mu) / sd, np.ones((xh.shape[0], 1))]) @ beta, 0.0, 1.0)
        out[held] = {"ndcg@10": round(float(gh[np.arange(gh.shape[0]), np.rint(share * 10).astype(int)].mean()), 4),
                     "mean_dense_share": round(float(share.mean()), 2)}
    return out


def run_set(path: Path, tables: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    s = RecordedSet(path)
    bm25, dense = s.ndcg(lambda b, d: b), s.ndcg(lambda b, d: d)
    default = s.ndcg(fixed(0.6))
    if abs(default.mean() - s.reference) > 2e-3:
        raise SystemExit(f"{path.name}: recorded default {default.mean():.4f} != evaluated {s.reference:.4f}")
    best = bm25 if bm25.mean() >= dense.mean() else dense
    per: dict[str, Any] = {}
    for name, variant in variants().items():
        scores = s.ndcg(variant)
        per[name] = {"ndcg@10": round(float(scores.mean()), 4), "vs_best_leg": paired_test(dict(enumerate(scores)), dict(enumerate(best))),
                     "vs_default": paired_test(dict(enumerate(scores)), dict(enumerate(default)))}
    shares = SHARES
    grid = np.array([s.ndcg(fixed(w)) for w in shares])
    tables[path.name] = (np.array([features(q["b"], q["d"]) for q in s.queries]), grid.T)
    result = {"queries": len(s.qids), "bm25": round(float(bm25.mean()), 4), "dense": round(float(dense.mean()), 4),
              "variants": per, "labels_best_fixed_share": {"dense_share": round(float(shares[grid.mean(1).argmax()]), 1),
                                                          "ndcg@10": round(float(grid.mean(1).max()), 4)},
              "labels_per_query_oracle": round(float(grid.max(0).mean()), 4),
              "pseudo_queries": {kind: s.pseudo_queries(kind) for kind in ("title", "span8")}}
    print(path.name, json.dumps({k: v for k, v in result.items() if k != "variants"}), flush=True)
    return result


def write(results: dict[str, Any]) -> None:
    sets = results["sets"]
    names = list(sets)
    lines = ["# Label-free fusion variants (nDCG@10, test split, document level)", "", *markdown(results["run"]), "",
             "Every variant sees only the two legs' completed candidate scores of one query (no labels). "
             "Worst margin = min over sets of (variant - better leg). `*` = p < 0.05 against the default "
             "(paired randomisation test).", "",
             "| variant | " + " | ".join(names) + " | worst margin |", "|---|" + "---|" * (len(names) + 1),
             "| BM25 / dense | " + " | ".join(f"{sets[n]['bm25']:.4f} / {sets[n]['dense']:.4f}" for n in names) + " | |"]
    for variant in next(iter(sets.values()))["variants"]:
        cells, margins = [], []
        for n in names:
            v = sets[n]["variants"][variant]
            margins.append(v["vs_best_leg"]["mean_diff"])
            cells.append(f"{v['ndcg@10']:.4f}{'*' if v['vs_default']['p_value'] < 0.05 and v['vs_default']['mean_diff'] else ''}")
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {min(margins):+.4f} |")
    lines += ["", "With labels, for reference: best fixed dense share (z-score) and the per-query oracle over shares 0..1.", "",
              "Predictors fitted on the other sets: nDCG@10 of per-query dense shares that a ridge regression from the "
              "per-query predictors, fitted with the other sets' labels, gives the held-out set.", "",
              "| set | best fixed share (labels) | nDCG@10 | per-query oracle | predictors fitted on other sets (mean share) "
              "| pseudo-queries: title MRR@10 BM25 / dense, best share "
              "| 8-word spans: MRR@10 BM25 / dense, best share |", "|---|---|---|---|---|---|---|"]
    for n in names:
        r, p = sets[n], sets[n]["pseudo_queries"]
        lines.append(f"| {n} | {r['labels_best_fixed_share']['dense_share']} | {r['labels_best_fixed_share']['ndcg@10']:.4f} | "
                     f"{r['labels_per_query_oracle']:.4f} | {_loso(r)} | "
                     f"{p['title']['mrr@10_bm25']:.3f} / {p['title']['mrr@10_dense']:.3f}, "
                     f"{p['title']['best_dense_share']} | {p['span8']['mrr@10_bm25']:.3f} / {p['span8']['mrr@10_dense']:.3f}, "
                     f"{p['span8']['best_dense_share']} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fusion_research.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "fusion_research.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _loso(res: dict[str, Any]) -> str:
    loso = res.get("labels_other_sets_predictors")
    return f"{loso['ndcg@10']:.4f} ({loso['mean_dense_share']})" if loso else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", default=None, help="default: every folder of --data with qrels/test.tsv")
    args = parser.parse_args()
    if args.data is None:
        parser.error("no BEIR data folder: pass --data or set RAGKIT_DATA_DIR")
    names = args.sets or sorted(p.parent.parent.name for p in args.data.glob("*/qrels/test.tsv"))
    info = run_info(["numpy", "sentence-transformers", "torch"])
    tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    results = {"run": info, "sets": {name: run_set(args.data / name, tables) for name in names}}
    if len(tables) > 1:
        for name, res in leave_one_set_out(tables).items():
            results["sets"][name]["labels_other_sets_predictors"] = res
    finish(info)
    write(results)


if __name__ == "__main__":
    main()
