"""What a batch build has on disk at every moment, and how a resumed build tells what was finished.

The output folder ``out`` of :func:`ragkit.index_corpus` goes through these states; each
step is taken by one atomic rename (or, in the last one, by unlinking the ledger), so a
kill at any moment leaves one state or the next, plus hidden temporaries that are swept:

1. **streaming**: ``out/.ragkit-build/progress.json`` (the ledger: settings fingerprint,
   completed shards) and the shard files it lists. Nothing else of the build is in ``out``.
2. **finalizing**: the ledger also names the output it is about to commit: one version
   token per collection it will save (``{"sharded": ..., "versions": {name: token}}``).
   Only then is anything written into ``out``: a merged collection's data folder, or the
   shard folders ``shard-NNNNN/`` and ``bm25_stats.arrow`` of a sharded one. A staging
   ledger marks those pieces as this build's own, so a resumed build replaces them.
3. **committed**: the commit point holds the tokens: ``manifest.json`` (merged) names the
   version token, or ``shards.json`` (sharded, written last) lists every shard with its token.
4. **recorded**: ``out/.ragkit-build.json``, a copy of the ledger, says the output is
   complete and which build made it.
5. **done**: the staging folder is deleted, the ledger first.

``resume=True`` in states 3-5 reports the build already complete (writing the record and
removing the staging folder when a kill left them undone); in states 1-2 it continues
streaming and finalizes again, replacing partial pieces. A new build (not resumed)
removes the record once its own ledger is in place.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Any

from ragkit.core.errors import CorruptIndexError, IndexFormatError
from ragkit.pipeline.shards import LEDGER, Ledger, remove_path
from ragkit.store.folder import collect_garbage
from ragkit.store.layout import LAYOUT, STATS_FILE, read_layout
from ragkit.store.manifest import MANIFEST, read_manifest

__all__ = ["MERGED", "RECORD", "STAGING", "build_summary", "drop_record", "finish", "finished_build", "is_committed",
           "owned_output_names", "plan_output", "shard_folder", "write_record"]

logger = logging.getLogger(__name__)

#: Folder inside the output where a build keeps its shard files and ledger until it completes.
STAGING = ".ragkit-build"
#: The record of the completed build that made the output (a copy of its ledger).
RECORD = ".ragkit-build.json"
#: What a sharded build writes into the output besides shard folders (ragkit.store.layout's statistics file).
_STATS_FILE = STATS_FILE
_SHARD_FOLDER = re.compile(r"shard-\d{5,}")
#: Temporaries of the atomic writes into the output (ragkit.core.atomic names them ``.<name>.<hex>.tmp``).
_TEMPORARY = re.compile(r"\.(shards\.json|bm25_stats\.arrow|\.ragkit-build\.json)\.[0-9a-f]{32}\.tmp")
#: The name of a merged output in a ledger's planned versions: the output folder itself.
MERGED = "."


def shard_folder(index: int) -> str:
    """The folder of shard ``index`` in a sharded output."""
    return f"shard-{index:05d}"


def plan_output(sharded: bool, indices: list[int]) -> dict[str, Any]:
    """The output a build is about to commit: a fresh version token per collection it will save."""
    names = [shard_folder(i) for i in indices] if sharded else [MERGED]
    return {"sharded": sharded, "versions": {name: uuid.uuid4().hex[:16] for name in names}}


def _manifest_version(root: Path) -> str | None:
    if not (root / MANIFEST).is_file():
        return None
    try:
        version = read_manifest(root).get("version")
    except (IndexFormatError, CorruptIndexError):
        return None
    return version if isinstance(version, str) else None


def is_committed(out: Path, output: dict[str, Any] | None) -> bool:
    """True when the commit point of ``out`` holds the versions ``output`` planned (this build committed it)."""
    if not output:
        return False
    versions = output["versions"]
    if not output["sharded"]:
        return versions.get(MERGED) is not None and _manifest_version(out) == versions[MERGED]
    if not (out / LAYOUT).is_file():
        return False
    try:
        shards = read_layout(out).shards
    except (IndexFormatError, CorruptIndexError):
        return False
    return all(versions.get(entry["name"]) is not None and entry.get("version") == versions[entry["name"]]
               for entry in shards)


def owned_output_names(out: Path) -> set[str]:
    """Names in ``out`` that a batch build wrote there, when a build's ledger or record is present; else none.

    Only the build's own kinds of entries count: shard folders, the BM25 statistics file.
    """
    if not ((out / STAGING / LEDGER).is_file() or (out / RECORD).is_file()):
        return set()
    return {p.name for p in out.iterdir()
            if (p.is_dir() and _SHARD_FOLDER.fullmatch(p.name)) or (p.is_file() and p.name == _STATS_FILE)}


def _matching(ledger: Ledger | None, fingerprint: str, sharded: bool, out: Path) -> bool:
    return (ledger is not None and ledger.fingerprint == fingerprint and ledger.output is not None
            and ledger.output["sharded"] == sharded and is_committed(out, ledger.output))


def finished_build(out: Path, fingerprint: str, sharded: bool) -> Ledger | None:
    """The ledger of the build of these settings that committed ``out``, or ``None`` when there is none.

    Looks at the record first, then at the staging ledger (a kill after the commit, before the record).
    """
    staging = out / STAGING
    try:
        record = Ledger.load(out / RECORD, staging)
    except CorruptIndexError as exc:
        logger.warning("ignoring %s: %s", out / RECORD, exc)
        record = None
    if _matching(record, fingerprint, sharded, out):
        return record
    ledger = Ledger.load(staging / LEDGER, staging)
    return ledger if _matching(ledger, fingerprint, sharded, out) else None


def write_record(out: Path, ledger: Ledger) -> None:
    """Record the completed build (after the commit, before the staging folder goes)."""
    ledger.save(out / RECORD)


def drop_record(out: Path) -> None:
    """Remove the record: the output is about to be rebuilt."""
    if (out / RECORD).exists():
        remove_path(out / RECORD)


def finish(out: Path, ledger: Ledger, *, keep_staging: bool) -> None:
    """After the commit: write the record, delete the staging folder (unless kept) and what kills left behind."""
    if not (out / RECORD).is_file():
        write_record(out, ledger)
    staging = out / STAGING
    if not keep_staging and staging.exists():
        try:
            other = Ledger.load(staging / LEDGER, staging)
        except CorruptIndexError:
            other = None
        if other is None or other.fingerprint == ledger.fingerprint:  # never another build's progress
            Ledger(staging, ledger.fingerprint).discard()
    for path in sorted(out.iterdir()):
        if _TEMPORARY.fullmatch(path.name):
            remove_path(path)
    roots = [out / name for name in ledger.output["versions"]] if ledger.output else []
    for root in roots:
        if (root / MANIFEST).is_file():
            collect_garbage(root)  # data folders of saves a kill interrupted


def build_summary(ledger: Ledger) -> dict[str, int]:
    """Documents, chunks and shards of the build ``ledger`` describes."""
    entries = ledger.shards.values()
    return {"documents": sum(int(e["docs"]) for e in entries), "chunks": sum(int(e["chunks"]) for e in entries),
            "shards": len(ledger.shards)}
