"""What a search trace costs: BM25 searches over SciFact with tracing off and on, in one run.

BM25 is the cheapest leg (no model), so a fixed per-search cost shows most there. The 300
SciFact test claims are searched ``--rounds`` times; each claim is searched untraced and
traced back to back (alternating which goes first), one thread.

    python benchmarks/trace_overhead.py --collection indexes/scifact
Writes benchmarks/results/trace_overhead.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from run_info import finish, markdown, run_info

import ragkit
from ragkit.eval import default_data_dir, load_beir
from ragkit.observe import Metrics, Trace

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", type=Path, default=Path("indexes/scifact"), help="a saved SciFact collection")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    info = run_info(["numpy", "pyarrow"])
    data = args.data or ((default_data_dir() or Path("../shared/data")) / "scifact")
    claims = list(load_beir(data, split="test").queries.values())
    col = ragkit.Collection.open(args.collection)
    retriever = ragkit.BM25Retriever(col)
    metrics = Metrics()
    modes = {"off": lambda q: retriever.search(q, k=10),
             "trace": lambda q: retriever.search(q, k=10, trace=Trace()),
             "trace+metrics hook": lambda q: retriever.search(q, k=10, trace=Trace(hook=metrics.stage_hook("scifact")))}
    times: dict[str, list[float]] = {m: [] for m in modes}
    for fn in modes.values():
        fn("warm up")
    for r in range(args.rounds):
        for i, claim in enumerate(claims):
            order = list(modes) if (i + r) % 2 == 0 else list(reversed(modes))
            for mode in order:
                start = time.perf_counter()
                modes[mode](claim)
                times[mode].append(time.perf_counter() - start)
    base = np.median(times["off"])
    rows = [{"mode": m, "searches": len(t), "median_us": float(np.median(t) * 1e6), "mean_us": float(np.mean(t) * 1e6),
             "median_overhead_us": float((np.median(t) - base) * 1e6)} for m, t in times.items()]
    result = {"run": finish(info), "setup": {"collection_chunks": col.num_chunks, "claims": len(claims), "rounds": args.rounds},
              "rows": rows}
    lines = ["# Trace overhead (BM25Retriever.search, SciFact, k=10)", "", *markdown(info), "",
             f"{len(claims)} claims x {args.rounds} rounds over {col.num_chunks} chunks; modes interleaved per query.", "",
             "| mode | searches | median us | mean us | median overhead us |", "|---|---|---|---|---|"]
    lines += [f"| {r['mode']} | {r['searches']} | {r['median_us']:.1f} | {r['mean_us']:.1f} | {r['median_overhead_us']:+.1f} |"
              for r in rows]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "trace_overhead.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "trace_overhead.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
