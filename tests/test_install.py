"""The runtime install from scratch (scripts/check_install.sh): minutes and a network connection to PyPI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_runtime_install_imports_ragkit_and_answers_a_bm25_query_without_test_packages(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("needs git to copy the checkout")
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "check_install.sh"), str(tmp_path)], capture_output=True, text=True,
                          timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["packages"] < 80 and report["venv_mb"] < 2500
    assert report["second_setup_ms"] < 30000
