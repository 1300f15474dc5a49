"""`ragkit serve`: serve one collection over HTTP (search, batch search, info, health, metrics)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve a collection over HTTP",
                           description="Serve a collection as an HTTP JSON service (OpenAPI schema at /openapi.json). "
                                       "Needs the 'serve' extra: pip install 'ragkit[serve]'.")
    serve.add_argument("collection", type=Path, nargs="?", help="collection folder (or sharded collection folder)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--keys", type=Path, default=None, help="API keys file (JSON; each key names its principal)")
    serve.add_argument("--allow-anonymous", action="store_true", help="serve without API keys (not for access-controlled collections)")
    serve.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid", help="retriever (default hybrid)")
    serve.add_argument("--fusion", choices=("default", "rrf", "score", "zscore"), default=None,
                       help="hybrid fusion (default: the hybrid retriever's)")
    serve.add_argument("--max-k", type=int, default=100, help="most hits per query (default 100)")
    serve.add_argument("--max-query-chars", type=int, default=2048, help="longest query (default 2048)")
    serve.add_argument("--max-batch", type=int, default=64, help="most queries per batch request (default 64)")
    serve.add_argument("--max-body-bytes", type=int, default=1 << 20, help="largest request body (default 1 MiB)")
    serve.add_argument("--timeout", type=float, default=10.0, help="seconds per search request (default 10)")
    serve.add_argument("--concurrency", type=int, default=4, help="searches running at once (default 4)")
    serve.add_argument("--query-log", type=Path, default=None, help="folder for the query log (Arrow segments)")
    serve.add_argument("--reload-interval", type=float, default=2.0,
                       help="seconds between looks for a newly saved version (0: never; default 2)")
    serve.add_argument("--ray", default=None, metavar="ADDRESS",
                       help="serve a sharded collection from Ray actors, one per shard: 'local' starts Ray here, "
                            "'auto' or ray://HOST:PORT joins a cluster (needs the 'ray' extra)")
    serve.add_argument("--no-verify", action="store_true", help="skip the file checksums when opening versions")
    serve.add_argument("--hash-key", action="store_true", help="print the sha256 of a key read from stdin, for the keys file")


def run(args: argparse.Namespace) -> int:
    from ragkit.core.deps import require
    from ragkit.core.errors import InputError

    if args.hash_key:
        from ragkit.serve.auth import hash_key

        print(hash_key(sys.stdin.readline().rstrip("\r\n")))
        return 0
    if args.collection is None:
        raise InputError("ragkit serve needs a COLLECTION folder (or --hash-key).")
    if args.query_log is not None:
        from ragkit.cli.checks import output_folder

        output_folder("--query-log", args.query_log)
    uvicorn = require("uvicorn", extra="serve")
    require("fastapi", extra="serve")
    require("prometheus_client", extra="serve")
    from ragkit.serve.app import create_app
    from ragkit.serve.config import ServeConfig, ServeLimits

    limits = ServeLimits(max_k=args.max_k, max_query_chars=args.max_query_chars, max_batch=args.max_batch,
                         max_body_bytes=args.max_body_bytes, timeout_s=args.timeout, max_concurrent=args.concurrency)
    config = ServeConfig(collection=args.collection, host=args.host, port=args.port, mode=args.mode, fusion=args.fusion,
                         keys_file=args.keys, allow_anonymous=args.allow_anonymous, limits=limits,
                         query_log=args.query_log, reload_interval_s=args.reload_interval, verify=not args.no_verify,
                         ray_address=args.ray)
    if not config.loopback:
        print(f"note: listening on {config.host}, reachable from other machines", file=sys.stderr)
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info" if args.verbose else "warning",
                timeout_graceful_shutdown=int(max(1.0, limits.timeout_s)))
    return 0
