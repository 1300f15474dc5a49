"""Library error messages reworded for the command line: options by their flag, Python calls by their command.

The library names what a Python caller passes (``The 'shard_docs' parameter of BatchConfig``,
``build_collection(...).save(path)``); at the shell the same advice names the flag
(``--shard-docs``) or the command (``ragkit index SOURCE FOLDER``).
"""

from __future__ import annotations

import argparse
import re

__all__ = ["for_cli", "option_flags"]

_PARAMETER = re.compile(r"The '(\w+)' parameter of (\w+)")
#: Python advice -> shell advice (``{collection}`` is the command's COLLECTION argument when it has one).
_PHRASES = (
    (re.compile(r"Rebuild it with build_collection\(\.\.\.\)\.save\(path\)\."), "Build one with: ragkit index SOURCE {collection}"),
    (re.compile(r"keep_shards=True \(--keep-shards\)"), "--keep-shards"),
    (re.compile(r"\(or pass keep_shards=True / --keep-shards\)"), "(or pass --keep-shards)"),
    (re.compile(r",? ?or pass kind= one of [\w, ]+\."), "; give a folder, a BEIR folder, or a file with a known suffix."),
    (re.compile(r"\bresume=True\b"), "--resume"),
)


def for_cli(message: str, args: argparse.Namespace, flags: dict[str, str] | None = None) -> str:
    """``message`` with parameters named by the flag that sets them (``flags``: dest -> option) and CLI advice."""
    flags = flags or {}

    def flag(match: re.Match[str]) -> str:
        name, owner = match.group(1), match.group(2)
        prefix = re.sub(r"(Index|Config|Tokenizer)$", "", owner).lower()  # BM25Index's 'b' is --bm25-b
        option = flags.get(f"{prefix}_{name}") or flags.get(name)
        return f"{option} (the {match.group(1)!r} parameter of {match.group(2)})" if option else match.group(0)

    out = _PARAMETER.sub(flag, message)
    collection = str(getattr(args, "collection", None) or getattr(args, "out", None) or "FOLDER")
    for pattern, replacement in _PHRASES:
        out = pattern.sub(replacement.replace("{collection}", collection), out)
    return out


def option_flags(parser: argparse.ArgumentParser, command: str) -> dict[str, str]:
    """dest -> the long option of each optional argument of ``command`` (``shard_docs`` -> ``--shard-docs``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            sub = action.choices[command]
            return {a.dest: max(a.option_strings, key=len) for a in sub._actions if a.option_strings}
    return {}
