"""Rerank latency per query: a MiniLM-L6-sized cross-encoder over BM25 candidates of SciFact queries.

The cross-encoder is the default model's own BERT backbone (all-MiniLM-L6-v2, 6 layers,
384 wide, offline) with a fresh one-logit classification head, saved to a temporary
folder and loaded through ragkit's CrossEncoderReranker (sentence-transformers
CrossEncoder): the same architecture and cost as cross-encoder/ms-marco-MiniLM-L6-v2
(the weights do not change the cost). Candidates come from BM25 over the SciFact chunks
(RecursiveChunker, 254 tokens, overlap 32), so no corpus is encoded. Each configuration
reranks the top 10 / 20 / 50 / 100 candidates of the same queries, one query per search,
through ``BM25Retriever(col).then(Rerank(...))``; the stage's own time comes from the
trace (stage ``rerank``). Medians over queries, after one warm-up search per setting.

Peers, same inputs, same thread settings, same run: the torch backend at batch sizes 16 /
32 / 64 (depth 20); max_length 256 instead of 512; ONNX Runtime on the same model exported with
``torch.onnx.export`` (sentence-transformers' own ONNX backend needs optimum-onnx, whose
0.1 release requires transformers < 4.58, so it cannot be installed beside transformers 5).

    python benchmarks/rerank_latency.py                 # 3 queries, about 3-5 minutes on 2 idle cores
    python benchmarks/rerank_latency.py --queries 20 --device cuda
Writes benchmarks/results/rerank_latency.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from run_info import finish, markdown, run_info

import ragkit
from ragkit import BM25Index, BM25Retriever, RecursiveChunker
from ragkit.embedding.cross_encoder import CrossEncoderReranker
from ragkit.embedding.default_model import default_model_path
from ragkit.eval import default_data_dir, load_beir
from ragkit.observe import Trace
from ragkit.search import Rerank

RESULTS = Path(__file__).parent / "results"
DEPTHS = (10, 20, 50, 100)
K = 10


def minilm_cross_encoder(folder: Path) -> Path:
    """all-MiniLM-L6-v2's backbone with a fresh 1-logit head, saved as a cross-encoder folder."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    source = default_model_path()
    torch.manual_seed(0)
    BertForSequenceClassification.from_pretrained(str(source), num_labels=1).save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(folder)
    return folder


class OnnxReranker:
    """The peer: the same model exported to ONNX, run by ONNX Runtime with the same tokenizer and lengths."""

    def __init__(self, folder: Path, *, batch_size: int, max_length: int, threads: int) -> None:
        import onnxruntime as ort
        import torch
        from transformers import AutoTokenizer, BertForSequenceClassification

        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.batch_size, self.max_length = batch_size, max_length
        path = folder / "model.onnx"
        if not path.exists():
            model = BertForSequenceClassification.from_pretrained(str(folder)).eval()
            enc = self.tokenizer(["q"] * 2, ["passage text"] * 2, return_tensors="pt", padding=True)
            names = ["input_ids", "attention_mask", "token_type_ids"]
            axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}}
            with torch.no_grad():
                torch.onnx.export(model, tuple(enc[n] for n in names), str(path), input_names=names, output_names=["logits"],
                                  dynamic_axes=axes, opset_version=17, dynamo=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    model_id = "onnxruntime"

    def get_config(self) -> dict[str, Any]:
        return {"type": "OnnxReranker", "batch_size": self.batch_size, "max_length": self.max_length}

    def score(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        out = []
        for i in range(0, len(queries), self.batch_size):
            enc = self.tokenizer(list(queries[i:i + self.batch_size]), list(texts[i:i + self.batch_size]), padding=True,
                                 truncation=True, max_length=self.max_length, return_tensors="np")
            logits = self.session.run(None, {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")})
            out.append(logits[0].reshape(-1))
        return np.concatenate(out).astype(np.float64) if out else np.empty(0)


def measure(col: ragkit.Collection, reranker: Any, queries: list[str], depths: Sequence[int], threads: int) -> dict[str, Any]:
    """Per query and depth: the rerank stage's wall milliseconds (trace) and the process CPU milliseconds of the search.

    CPU time barely moves with the load other processes put on the machine, so ``idle_ms``
    (CPU ms / torch threads) estimates the wall time on idle cores; ``median_ms`` is what this run saw.
    """
    BM25Retriever(col).then(Rerank(reranker, candidates=2)).search(queries[0], k=2)  # first forward pass, allocator
    out = {}
    for depth in depths:
        retriever = BM25Retriever(col).then(Rerank(reranker, candidates=depth))
        times, cpu = [], []
        for q in queries:
            trace = Trace()
            c0 = time.process_time()
            retriever.search(q, k=K, trace=trace)
            cpu.append(time.process_time() - c0)
            times.append(trace.stage_seconds["rerank"])
        t, c = np.asarray(times) * 1e3, np.asarray(cpu) * 1e3
        out[str(depth)] = {"median_ms": float(np.median(t)), "p90_ms": float(np.percentile(t, 90)),
                           "cpu_median_ms": float(np.median(c)), "idle_ms": float(np.median(c) / threads),
                           "idle_per_pair_ms": float(np.median(c) / threads / depth)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=3, help="SciFact test queries timed (default 3)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--data", type=Path, default=None, help="BEIR folder (default: the shared scifact)")
    parser.add_argument("--out", default="rerank_latency", help="results name under benchmarks/results")
    args = parser.parse_args()
    info = run_info(["torch", "transformers", "sentence-transformers", "onnxruntime", "onnx", "numpy", "tokenizers"])
    data = args.data or (default_data_dir() or Path("/work/shared/data")) / "scifact"
    dataset = load_beir(data, split="test")
    queries = [dataset.queries[q] for q in sorted(dataset.queries)[: args.queries]]
    start = time.perf_counter()
    col = ragkit.build_collection(dataset.documents, chunker=RecursiveChunker(max_tokens=254, overlap=32), indexes=[BM25Index()])
    print(f"BM25 collection of {col.num_chunks} chunks in {time.perf_counter() - start:.1f} s", flush=True)
    import torch

    threads = torch.get_num_threads()
    configs: dict[str, Any] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = minilm_cross_encoder(Path(tmp) / "minilm-cross-encoder")
        def torch_reranker(**options: Any) -> Any:
            return lambda: CrossEncoderReranker(str(folder), device=args.device, **options)

        runs: list[tuple[str, Any, Sequence[int]]] = [
            ("torch bs32 len512", torch_reranker(batch_size=32, max_length=512), DEPTHS),
            ("torch bs16 len512", torch_reranker(batch_size=16, max_length=512), (20,)),
            ("torch bs64 len512", torch_reranker(batch_size=64, max_length=512), (20,)),
            ("torch bs32 len256", torch_reranker(batch_size=32, max_length=256), (20,)),
        ]
        if args.device == "cpu":
            runs.append(("onnxruntime bs32 len512", lambda: OnnxReranker(folder, batch_size=32, max_length=512, threads=threads),
                         (20,)))
        else:
            runs.append(("torch bs32 len512 fp32", torch_reranker(batch_size=32, max_length=512, fp16=False), DEPTHS))
        for name, make, depths in runs:
            t0 = time.perf_counter()
            try:
                reranker = make()
            except Exception as exc:
                notes.append(f"{name} skipped: {type(exc).__name__}: {exc}")
                continue
            configs[name] = measure(col, reranker, queries, depths, threads)
            print(f"{name}: " + ", ".join(f"@{d} {v['median_ms']:.0f} ms (idle {v['idle_ms']:.0f})" for d, v in configs[name].items())
                  + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    base = configs["torch bs32 len512"]
    # The cost is linear in the depth (per-pair cost about constant), so no depth is cheap on CPU: the default is the
    # shallowest that can promote rows from below the top k (depth >= 2k; depth k only reorders the top k).
    chosen = min(d for d in DEPTHS if d >= 2 * K)
    ratios = {name: {d: base[d]["cpu_median_ms"] / v["cpu_median_ms"] for d, v in res.items() if d in base}
              for name, res in configs.items() if name != "torch bs32 len512"}
    result = {"run": finish(info), "device": args.device, "torch_threads": threads,
              "env_threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM")},
              "queries": len(queries), "k": K, "chunks": col.num_chunks,
              "model": "all-MiniLM-L6-v2 backbone + fresh 1-logit head (MiniLM-L6 cross-encoder size)",
              "configs": configs, "speedup_vs_torch_bs32_len512": ratios, "default_depth": chosen,
              "notes": notes, "seconds": time.perf_counter() - start}
    write(result, args.out)


def write(result: dict[str, Any], name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# Rerank latency ({result['device']})", "", *markdown(result["run"]), "",
             f"Torch threads {result['torch_threads']}. "
             f"{result['model']}; BM25 candidates over {result['chunks']} SciFact chunks (<= 254 tokens); "
             f"{result['queries']} test queries, one per search, k={result['k']}. Per query: the `rerank` stage's wall milliseconds "
             "as measured (trace; inflated by the machine's load), and the estimate for idle cores, the search's process "
             "CPU milliseconds divided by the torch threads. Medians.", "",
             "| configuration | " + " | ".join(f"depth {d}: measured / idle" for d in DEPTHS) + " |",
             "|---|" + "---|" * len(DEPTHS)]
    for config, res in result["configs"].items():
        cells = [f"{res[str(d)]['median_ms']:.0f} / {res[str(d)]['idle_ms']:.0f}" if str(d) in res else "" for d in DEPTHS]
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    lines += ["", "CPU-time ratio, torch batch 32 max_length 512 over each peer (same depth; > 1: the peer is cheaper):", ""]
    for config, ratio in result["speedup_vs_torch_bs32_len512"].items():
        lines.append(f"- {config}: " + ", ".join(f"depth {d}: {r:.2f}x" for d, r in ratio.items()))
    per_pair = result["configs"]["torch bs32 len512"]
    lines += ["", "Idle-machine cost per pair (torch, batch 32, 512): "
              + ", ".join(f"{v['idle_per_pair_ms']:.1f} ms at depth {d}" for d, v in per_pair.items()) + ".", "",
              f"**Default depth: {result['default_depth']}.** The cost grows linearly with the depth (the per-pair cost "
              "above is about constant), so on CPU no depth is cheap and deeper only costs more: the default is the "
              f"shallowest depth that can promote rows from below the top k={result['k']} (depth >= 2k; depth k only "
              f"reorders the top k), at about {per_pair[str(result['default_depth'])]['idle_ms']:.0f} ms per query on these "
              "two cores. Bound the tail with `budget_ms`; on a GPU, deeper reranking is affordable (not measured here).", ""]
    lines += [f"Note: {n}" for n in result["notes"]]
    (RESULTS / f"{name}.md").write_text("\n".join(lines).rstrip() + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
