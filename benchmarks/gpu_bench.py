"""GPU benchmark: FAISS Flat and IVF on the GPU, and embedding throughput of the default model on the GPU.

FAISS: N synthetic 384-d clustered unit vectors (``vector_speed.clustered``) and 1,000 held-out queries.
For ``Flat`` and ``IVF{4*sqrt(N)},Flat`` placed on the GPU by ``FaissIndex(device="gpu")``: build
seconds (training runs on the CPU, as ragkit builds; then the copy to the GPU), and queries/s of the
whole query batch at recall@10 >= 0.95 against exact search, read off ``tune()``'s nprobe sweep.

Embedding: synthetic texts of varied length (words of the model's vocabulary), all-MiniLM-L6-v2 on
the GPU. ragkit: ``ShardEncoder`` over ``SentenceTransformerEmbedder(device="cuda")`` (length-sorted
slices, fp16, batch 64). Peer: ``SentenceTransformer.encode`` at its defaults (fp32, batch 32), same
texts, same GPU, same run; the ratio and the cosine agreement of the two outputs are reported.

    python benchmarks/gpu_bench.py                      # 1,000,000 x 384, 20,000 texts
    python benchmarks/gpu_bench.py --n 20000 --texts 500 --out /tmp/gpu
Writes benchmarks/results/gpu.{json,md} (and copies under --out) only when a GPU was used; without
one it writes only <out>/gpu_bench.json = {"gpu": false, "reason": ...}.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results"
TARGET = 0.95


def gpu_reason() -> str | None:
    """Why there is no GPU to measure on (None: torch sees one). Checks nvidia-smi before importing anything heavy."""
    if shutil.which("nvidia-smi") is None:
        return "nvidia-smi not found"
    import torch

    return None if torch.cuda.is_available() else "torch.cuda.is_available() is False"


def faiss_part(n: int, n_queries: int) -> dict[str, Any]:
    from vector_speed import batch_qps, clustered  # benchmarks run as scripts: this folder is on sys.path

    from ragkit import FaissIndex
    from ragkit.core.deps import faiss_gpu_count

    if faiss_gpu_count() == 0:
        return {"skipped": "FAISS sees no GPU (a faiss-cpu build, or faiss-gpu not installed)"}
    x = clustered(n, 384, seed=0)
    queries = clustered(n_queries, 384, seed=1)
    nlist = max(16, 2 ** round(np.log2(4 * np.sqrt(n))))  # 4*sqrt(N) as a power of two: 4096 at 1M
    rows = []
    for factory in ("Flat", f"IVF{nlist},Flat"):
        start = time.perf_counter()
        index = FaissIndex(factory, device="gpu").build(x)
        build_s = time.perf_counter() - start
        row: dict[str, Any] = {"factory": factory, "build_s": build_s, "on_gpu": index.on_gpu}
        if factory == "Flat":
            row.update(parameter="none", chosen=None, recall=1.0, qps=batch_qps(index, queries, repeats=3), curve=[])
        else:
            tuned = index.tune(target_recall=TARGET, k=10, queries=queries)
            chosen = next(p for p in tuned.curve if p.value == tuned.chosen)
            row.update(parameter=tuned.parameter, chosen=tuned.chosen, met=tuned.met, recall=chosen.recall,
                       qps=batch_qps(index, queries, repeats=3), curve=tuned.rows())
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "curve"}, default=lambda v: round(v, 4)), flush=True)
        del index
        gc.collect()
    return {"vectors": n, "dimension": 384, "queries": n_queries, "indexes": rows}


def synthetic_texts(vocab_file: Path, n: int, seed: int = 0) -> list[str]:
    words = np.array([w for w in vocab_file.read_text().split() if w.isalpha() and len(w) >= 3])
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(40), 0.8, n).astype(int), 3, 300)
    picks = rng.integers(0, words.shape[0], int(lengths.sum()))
    return [" ".join(text) for text in np.split(words[picks], np.cumsum(lengths)[:-1])]


def timed(fn: Any, texts: list[str]) -> tuple[np.ndarray, float]:
    import torch

    fn(texts[:512])  # warm-up: kernels, cuBLAS handles
    torch.cuda.synchronize()
    start = time.perf_counter()
    vectors = np.asarray(fn(texts), dtype=np.float32)
    torch.cuda.synchronize()
    return vectors, time.perf_counter() - start


def embedding_part(n_texts: int) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    from ragkit import MissingDependencyError, SentenceTransformerEmbedder
    from ragkit.embedding import default_model
    from ragkit.pipeline.encoding import ShardEncoder

    try:
        path = default_model.default_model_path(verify=True)
    except MissingDependencyError as exc:
        return {"skipped": str(exc)}
    texts = synthetic_texts(path / "vocab.txt", n_texts)
    encoder = ShardEncoder(SentenceTransformerEmbedder(device="cuda"), fp16=True, multi_gpu=False)
    ours, ours_s = timed(encoder.encode, texts)
    raw = SentenceTransformer(str(path), device="cuda")
    peer, peer_s = timed(lambda t: raw.encode(t, normalize_embeddings=True, convert_to_numpy=True), texts)
    cosine = np.sum(ours * peer, axis=1)
    out = {"texts": n_texts, "mean_words": float(np.mean([t.count(" ") + 1 for t in texts])),
           "ragkit": {"setting": "ShardEncoder + SentenceTransformerEmbedder(device='cuda'): length-sorted, fp16, batch 64",
                      "seconds": ours_s, "texts_per_s": n_texts / ours_s},
           "sentence_transformers": {"setting": "SentenceTransformer.encode defaults: fp32, batch 32",
                                     "seconds": peer_s, "texts_per_s": n_texts / peer_s},
           "ratio": peer_s / ours_s, "cosine_min": float(cosine.min()), "cosine_mean": float(cosine.mean())}
    print(json.dumps(out, default=lambda v: round(v, 4)), flush=True)
    return out


def markdown_lines(results: dict[str, Any], info_lines: list[str]) -> list[str]:
    lines = [f"# GPU: FAISS and embedding on {results['device']}", "", *info_lines, ""]
    f = results["faiss"]
    if "skipped" in f:
        lines += [f"FAISS: skipped ({f['skipped']}).", ""]
    else:
        lines += [f"## FAISS on the GPU: {f['vectors']:,} x {f['dimension']}-d, {f['queries']} queries, recall@10 >= {TARGET}", "",
                  "| index | build s | setting | recall@10 | q/s (whole batch) |", "|---|---|---|---|---|"]
        for r in f["indexes"]:
            setting = "exact" if r["chosen"] is None else f"{r['parameter']}={r['chosen']}" + ("" if r.get("met", True) else " (not met)")
            lines.append(f"| `{r['factory']}` | {r['build_s']:.1f} | {setting} | {r['recall']:.3f} | {r['qps']:,.0f} |")
        lines += ["", "Build: CPU training (IVF k-means on a sample), then the copy to the GPU.", ""]
    e = results["embedding"]
    if "skipped" in e:
        lines += [f"Embedding: skipped ({e['skipped']})."]
    else:
        lines += [f"## Embedding all-MiniLM-L6-v2: {e['texts']:,} texts, {e['mean_words']:.0f} words on average", "",
                  "| encoder | setting | seconds | texts/s |", "|---|---|---|---|"]
        for name in ("ragkit", "sentence_transformers"):
            lines.append(f"| {name} | {e[name]['setting']} | {e[name]['seconds']:.2f} | {e[name]['texts_per_s']:,.0f} |")
        lines += ["", f"ragkit is {e['ratio']:.2f}x the peer's speed; cosine between the two outputs: "
                      f"min {e['cosine_min']:.4f}, mean {e['cosine_mean']:.5f}."]
    return lines


def write(out: Path | None, name: str, record: dict[str, Any], lines: list[str] | None) -> None:
    folders = [RESULTS] if lines is not None else []
    folders += [out] if out is not None else []
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        stem = "gpu" if folder == RESULTS else name
        (folder / f"{stem}.json").write_text(json.dumps(record, indent=2, default=lambda v: round(v, 4)) + "\n")
        if lines is not None:
            (folder / f"{stem}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="FAISS vectors (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--texts", type=int, default=20_000, help="texts to embed (0 to skip)")
    parser.add_argument("--out", type=Path, default=None, help="also write gpu_bench.{json,md} here")
    args = parser.parse_args()
    reason = gpu_reason()
    if reason is not None:
        print(f"gpu_bench: no GPU ({reason}); nothing measured")
        write(args.out, "gpu_bench", {"gpu": False, "reason": reason}, None)
        return
    import torch
    from run_info import finish, markdown, run_info

    info = run_info(["numpy", "faiss-gpu", "faiss-cpu", "torch", "sentence-transformers", "transformers"])
    results: dict[str, Any] = {"gpu": True, "device": torch.cuda.get_device_name(0), "run": info}
    results["faiss"] = faiss_part(args.n, args.queries)
    results["embedding"] = embedding_part(args.texts) if args.texts else {"skipped": "--texts 0"}
    finish(info)
    lines = markdown_lines(results, markdown(info))
    write(args.out, "gpu_bench", results, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
