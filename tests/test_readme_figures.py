"""The README's measured figures are the results files' (benchmarks/readme_figures.py renders them)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _figures():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("readme_figures", ROOT / "benchmarks" / "readme_figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_block_is_what_the_results_files_give() -> None:
    figures = _figures()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(figures.START, 1)[1].split(figures.END, 1)[0]
    assert figures.START + block + figures.END == figures.render(), \
        "README.md's measured block is stale: run python benchmarks/readme_figures.py --write"


def test_no_figure_outside_the_block_claims_a_speed_ratio() -> None:
    """Ratios like '1.5x' outside the generated block would be typed by hand."""
    figures = _figures()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    outside = readme.split(figures.START, 1)[0] + readme.split(figures.END, 1)[1]
    assert re.findall(r"\b\d+(?:\.\d+)?x\b", outside) == []


def test_every_results_file_records_its_run() -> None:
    """Each results JSON carries the commit, command, date, load average, threads and versions it was made with."""
    import json

    missing = {}
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        run = data.get("run") if isinstance(data, dict) else None
        keys = {"commit", "command", "date_utc", "load_average_start", "threads", "versions"}
        if not isinstance(run, dict) or not keys <= set(run):
            missing[path.name] = sorted(keys - set(run or {}))
    assert missing == {}
