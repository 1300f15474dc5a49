"""The ``ragkit`` command: one parser, one sub-command module per verb."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ragkit.cli import evaluate, index, search

__all__ = ["main"]

_COMMANDS = {"index": index, "search": search, "eval": evaluate}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragkit",
        description="Build, search and evaluate ragkit collections (chunks + FAISS + BM25, saved as Arrow/FAISS files).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from ragkit.core.errors import RagkitError

    try:
        return int(_COMMANDS[args.command].run(args))
    except RagkitError as exc:
        print(f"ragkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
