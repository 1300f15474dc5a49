"""`ragkit serve` under load against in-process search: requests/s and p50/p99 latency at 1, 4, 16 clients.

Builds a synthetic collection of ``--docs`` documents (HashEmbedder vectors, Flat FAISS and
BM25, access field ``acl``), saves it, then for each mode (bm25, dense, hybrid):

1. starts ``ragkit serve COLLECTION --mode MODE`` as its own process (loopback, one API key
   whose principal is used by every request; ``--concurrency`` search threads);
2. for 1, 4 and 16 concurrent clients (threads, each with its own keep-alive ``httpx``
   client), sends ``--requests`` single-query ``POST /v1/search`` requests in all and times each;
3. runs the same queries in-process on the same number of threads
   (``retriever.search`` on the collection opened in this process, bound to the same principal);
4. checks the server's hits equal the in-process ones (ids and scores) and counts errors.

Clients and server share this machine's cores, so the HTTP figures include the clients' own
cost (JSON, HTTP parsing); in-process figures are the ceiling the service approaches.

    python benchmarks/serve_load.py                         # the recorded run
    python benchmarks/serve_load.py --docs 2000 --requests 200   # a quick smoke run
Writes benchmarks/results/serve_load.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import httpx
import numpy as np
from run_info import finish, markdown, run_info

import ragkit
from ragkit import Principal
from ragkit.search.modes import retriever_for
from ragkit.serve import hash_key
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries

RESULTS = Path(__file__).parent / "results"
KEY = "bench-key-0123456789abcdef"
PRINCIPAL = Principal("bench", groups=["g0", "g1", "g2"])
CLIENTS = (1, 4, 16)
MODES = ("bm25", "dense", "hybrid")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(collection: Path, keys: Path, mode: str, concurrency: int) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ragkit.cli", "serve", str(collection), "--keys", str(keys), "--mode", mode,
                             "--port", str(port), "--concurrency", str(concurrency), "--reload-interval", "0",
                             "--max-k", "100"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(1200):
            if proc.poll() is not None:
                raise RuntimeError(f"ragkit serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                if client.get("/readyz").status_code == 200:
                    return proc, url, time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("ragkit serve did not become ready")


def drive(clients: int, queries: list[str], call: Any) -> dict[str, Any]:
    """``clients`` threads share ``queries`` (query i goes to thread i % clients); per-call latencies and the wall time."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    results: list[Any] = [None] * len(queries)
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def worker(n: int) -> None:
        state = call("open")
        barrier.wait()
        for i in range(n, len(queries), clients):
            t0 = time.perf_counter()
            try:
                results[i] = call(queries[i], state)
            except Exception as exc:  # counted, reported
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            latencies[n].append(time.perf_counter() - t0)
        call("close", state)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    flat = np.asarray([x for per in latencies for x in per])
    return {"clients": clients, "requests": len(queries), "seconds": round(wall, 3),
            "requests_per_s": round(len(queries) / wall, 1), "p50_ms": round(float(np.percentile(flat, 50)) * 1e3, 2),
            "p99_ms": round(float(np.percentile(flat, 99)) * 1e3, 2), "errors": len(errors), "error_samples": errors[:3],
            "_results": results}


def http_call(url: str, k: int) -> Any:
    def call(query: Any, state: Any = None) -> Any:
        if query == "open":
            return httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {KEY}"})
        if query == "close":
            state.close()
            return None
        r = state.post("/v1/search", json={"query": query, "k": k})
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:100]}")
        return [(h["id"], h["score"]) for h in r.json()["hits"]]
    return call


def local_call(retriever: Any, k: int) -> Any:
    def call(query: Any, state: Any = None) -> Any:
        if query in ("open", "close"):
            return None
        return [(f"{h.doc_id}#{h.position}", h.score) for h in retriever.search(query, k)]
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=800, help="requests per (mode, client count)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--dimension", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4, help="the server's search threads (--concurrency)")
    args = parser.parse_args()
    info = run_info(["numpy", "faiss-cpu", "fastapi", "uvicorn", "starlette", "httpx", "prometheus-client"])

    docs = synthetic_documents(args.docs, seed=0)
    built = ragkit.build_collection(docs, chunker=ragkit.RecursiveChunker(tokenizer="regex"),
                                    embedder=HashEmbedder(dimension=args.dimension),
                                    indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
    built.set_access_field("acl")
    queries = synthetic_queries(args.requests, seed=21)
    rows: list[dict[str, Any]] = []
    mismatches: dict[str, int] = {}
    startup: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "col"
        built.save(path)
        chunks = built.num_chunks
        del built
        keys = Path(tmp) / "keys.json"
        keys.write_text(json.dumps({"keys": [{"name": "bench", "sha256": hash_key(KEY), "principal": PRINCIPAL.id,
                                              "groups": sorted(PRINCIPAL.groups)}]}))
        collection = ragkit.open_collection(path)
        for mode in MODES:
            retriever = retriever_for(collection, mode).bind(PRINCIPAL)
            local = local_call(retriever, args.k)
            drive(1, queries[:50], local)  # warm
            proc, url, startup[mode] = start_server(path, keys, mode, args.concurrency)
            try:
                drive(1, queries[:50], http_call(url, args.k))  # warm
                for clients in CLIENTS:
                    served = drive(clients, queries, http_call(url, args.k))
                    inproc = drive(clients, queries, local)
                    bad = sum(1 for a, b in zip(served.pop("_results"), inproc.pop("_results"), strict=True) if a != b)
                    mismatches[f"{mode}/{clients}"] = bad
                    rows.append({"mode": mode, "clients": clients, "serve": served, "in_process": inproc,
                                 "throughput_ratio": round(served["requests_per_s"] / inproc["requests_per_s"], 3),
                                 "mismatches": bad})
                    print(f"{mode:7s} c={clients:2d}  serve {served['requests_per_s']:8.1f}/s p50 {served['p50_ms']:7.2f} "
                          f"p99 {served['p99_ms']:7.2f} ms | in-process {inproc['requests_per_s']:8.1f}/s "
                          f"p50 {inproc['p50_ms']:7.2f} p99 {inproc['p99_ms']:7.2f} ms | errors {served['errors']} "
                          f"mismatches {bad}", flush=True)
            finally:
                proc.terminate()
                proc.wait(30)
        collection.close()
    finish(info)
    out = {"run": info, "settings": {**vars(args), "chunks": chunks, "clients": CLIENTS, "modes": MODES,
                                      "embedder": f"HashEmbedder(dimension={args.dimension})", "indexes": "Flat + BM25",
                                      "principal": {"id": PRINCIPAL.id, "groups": sorted(PRINCIPAL.groups)}},
           "server_startup_s": {m: round(s, 2) for m, s in startup.items()}, "rows": rows, "mismatches": mismatches}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serve_load.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = ["# ragkit serve under load vs in-process search", "", *markdown(info), "",
             f"{args.docs} synthetic documents ({chunks} chunks), HashEmbedder({args.dimension}), Flat FAISS + BM25, "
             f"access field `acl` (every request bound to one principal); k={args.k}; {args.requests} single-query "
             f"requests per cell; server: `ragkit serve --concurrency {args.concurrency}` (uvicorn, one process); clients: "
             "threads with keep-alive httpx clients on the same machine. In-process: `retriever.search` on the same "
             "number of threads.", "",
             "| mode | clients | serve req/s | serve p50 ms | serve p99 ms | in-process req/s | in-process p50 ms | "
             "in-process p99 ms | serve / in-process | errors | mismatches |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        s, p = r["serve"], r["in_process"]
        lines.append(f"| {r['mode']} | {r['clients']} | {s['requests_per_s']} | {s['p50_ms']} | {s['p99_ms']} | "
                     f"{p['requests_per_s']} | {p['p50_ms']} | {p['p99_ms']} | {r['throughput_ratio']} | {s['errors']} | "
                     f"{r['mismatches']} |")
    lines += ["", "Server start to ready (process start, imports, open, warm-up): "
              + ", ".join(f"{m} {s:.2f} s" for m, s in startup.items()) + "."]
    (RESULTS / "serve_load.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
