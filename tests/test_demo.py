"""pipelines/demo.py: builds once, reuses the index while the docs are unchanged, one line per hit (real model: slow)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_builds_once_and_reuses_the_index_until_the_docs_change(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n\n## Saving\n\nCall save(path) to write the collection atomically.\n",
                                   encoding="utf-8")
    out = tmp_path / "index"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

    def demo() -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, str(ROOT / "pipelines" / "demo.py"), "--docs", str(docs), "--out", str(out), "how to save?"]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=True)

    first = demo()
    assert re.search(r"saved \d+ chunks? of 1 document ", first.stdout)
    hits = [line for line in first.stdout.splitlines() if re.match(r"\s+\d+\. ", line)]
    assert hits and all("guide.md [" in line and re.search(r"\[(bm25|dense) #\d", line) for line in hits)
    assert any("Guide > Saving" in line for line in hits) and "LegScore" not in first.stdout
    assert ".venv/bin/ragkit search" in first.stdout and "source .venv/bin/activate" in first.stdout
    assert "Loading weights" not in first.stdout + first.stderr
    second = demo()
    assert "reusing it" in second.stdout and "saved" not in second.stdout
    (docs / "guide.md").write_text("# Guide\n\nChanged.\n", encoding="utf-8")
    assert re.search(r"saved \d+ chunks? of 1 document ", demo().stdout)
