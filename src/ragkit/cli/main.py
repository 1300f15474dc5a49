"""The ``ragkit`` command: one parser, one sub-command module per verb."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ragkit.cli import evaluate, index, info, search, serve

__all__ = ["main"]

_COMMANDS = {"index": index, "search": search, "eval": evaluate, "serve": serve, "info": info}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragkit",
        description="Build, search and evaluate ragkit collections (chunks + FAISS + BM25, saved as Arrow/FAISS files).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--version", action=_Version, help="print the versions of ragkit and its main libraries, and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _COMMANDS.values():
        module.add_parser(sub)
    return parser


class _Version(argparse.Action):
    """``--version``: ragkit's version and those of the libraries it runs on, read without importing them."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from ragkit.core.deps import versions

        found = versions()
        libraries = ", ".join(f"{name} {version}" for name, version in found.items() if name != "ragkit")
        print(f"ragkit {found['ragkit']} ({libraries})")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # what `ragkit index` repeats in its resume command
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from ragkit.core.errors import RagkitError

    try:
        return int(_COMMANDS[args.command].run(args))
    except RagkitError as exc:
        from ragkit.cli.messages import for_cli, option_flags

        print(f"ragkit {args.command}: error: {for_cli(str(exc), args, option_flags(parser, args.command))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # `ragkit index` says what was saved and how to resume; others just stop
        print(f"ragkit {args.command}: interrupted", file=sys.stderr)
        return 130
