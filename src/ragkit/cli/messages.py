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
_PARAMETERS = re.compile(r"The '(\w+)' and '(\w+)' parameters of (\w+)")
#: ``owner-prefix_parameter`` -> the dest of the flag that sets it, where the two differ (Expand's window is --expand).
_DESTS = {"expand_window": "expand"}
#: Python advice -> shell advice (``{collection}`` is the command's COLLECTION argument when it has one).
_PHRASES = (
    (re.compile(r"Rebuild it with build_collection\(\.\.\.\)\.save\(path\)\."), "Build one with: ragkit index SOURCE {collection}"),
    (re.compile(r"keep_shards=True \(--keep-shards\)"), "--keep-shards"),
    (re.compile(r"\(or pass keep_shards=True / --keep-shards\)"), "(or pass --keep-shards)"),
    (re.compile(r",? ?or pass kind= one of [\w, ]+\."), "; give a folder, a BEIR folder, or a file with a known suffix."),
    (re.compile(r"\bresume=True\b"), "--resume"),
    (re.compile(r"Got window=(\d+) with section=True; leave window out \(or 0\) with section=True, or pass section=False\."),
     r"Got --expand \1 with --expand-section; give one of them."),
    (re.compile(r"Sections need a field such as MarkdownChunker's 'headings'\."),
     "--expand-section needs the 'headings' field that `ragkit index --chunker markdown` records (the default for folders)."),
)


def for_cli(message: str, args: argparse.Namespace, flags: dict[str, str] | None = None) -> str:
    """``message`` with parameters named by the flag that sets them (``flags``: dest -> option) and CLI advice."""
    flags = flags or {}

    def option(name: str, owner: str) -> str | None:
        prefix = re.sub(r"(Index|Config|Tokenizer)$", "", owner).lower()  # BM25Index's 'b' is --bm25-b
        key = f"{prefix}_{name}"
        return flags.get(_DESTS.get(key, key)) or flags.get(name)

    def flag(match: re.Match[str]) -> str:
        found = option(match.group(1), match.group(2))
        return f"{found} (the {match.group(1)!r} parameter of {match.group(2)})" if found else match.group(0)

    def pair(match: re.Match[str]) -> str:
        (a, b, owner), found = match.groups(), [option(match.group(1), match.group(3)), option(match.group(2), match.group(3))]
        return f"{found[0]} and {found[1]} (the {a!r} and {b!r} parameters of {owner})" if all(found) else match.group(0)

    out = _PARAMETER.sub(flag, _PARAMETERS.sub(pair, message))
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
