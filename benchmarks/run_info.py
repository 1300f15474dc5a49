"""What every benchmark records with its results: commit, command, date, machine load, threads, versions.

    from run_info import run_info          # benchmarks run as scripts, so this folder is on sys.path
    info = run_info(["numpy", "bm25s"])    # call at the start; info["load_average_end"] is set by finish()
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["finish", "markdown", "run_info"]

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                     "TOKENIZERS_PARALLELISM")


def _commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        # results files other benchmarks of the same run wrote are not changes to what is measured
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)benchmarks/results"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def run_info(packages: list[str]) -> dict[str, Any]:
    """The run's metadata; ``packages`` are the distributions whose versions matter (ragkit is always listed)."""
    return {
        "commit": _commit(),
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_start": round(os.getloadavg()[0], 2),
        "threads": {name: os.environ.get(name) for name in _THREAD_VARIABLES},
        "versions": {name: _version(name) for name in ["ragkit", *packages]},
    }


def finish(info: dict[str, Any]) -> dict[str, Any]:
    """Record the load average at the end of the run (returns ``info``)."""
    info["load_average_end"] = round(os.getloadavg()[0], 2)
    return info


def markdown(info: dict[str, Any]) -> list[str]:
    """Lines describing the run, for the top of a results ``.md``."""
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    threads = ", ".join(f"{k}={v}" for k, v in info["threads"].items() if v is not None) or "library defaults"
    return [f"Run {info['date_utc']} on {info['machine']}; load average {info['load_average_start']} at the start, "
            f"{info.get('load_average_end', '?')} at the end; threads: {threads}.",
            f"Commit {info['commit']}; command `{info['command']}`.", f"Versions: {versions}."]
