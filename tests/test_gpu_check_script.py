"""scripts/gpu_check.sh and benchmarks/gpu_bench.py on a machine without a GPU: one line, a record, exit 0.

On a GPU machine these would run the real checks (minutes), so they check only the CPU-only behaviour.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="checks the CPU-only behaviour")


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path), **env})


def test_script_without_nvidia_smi_says_so_and_writes_the_record(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run(["bash", "scripts/gpu_check.sh", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"gpu_check: no GPU (nvidia-smi not found); nothing run, record in {out}/gpu_check.json"]
    assert json.loads((out / "gpu_check.json").read_text()) == {"gpu": False, "reason": "nvidia-smi not found"}
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.json"]  # nothing installed, nothing else run


def test_script_with_a_gpu_no_library_sees_installs_nothing(tmp_path: Path) -> None:
    bin_dir, empty = tmp_path / "bin", tmp_path / "wheels"
    bin_dir.mkdir()
    empty.mkdir()
    fake = bin_dir / "nvidia-smi"  # lists a GPU that neither FAISS nor torch can use here
    fake.write_text('#!/bin/sh\necho "GPU 0: Stand-in GPU (UUID: GPU-0)"\n')
    fake.chmod(0o755)
    out = tmp_path / "out"
    done = run(["bash", "scripts/gpu_check.sh", str(out)], tmp_path, PATH=f"{bin_dir}:{os.environ['PATH']}",
               GPU_WHEELS=str(empty))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("gpu_check: no GPU (nvidia-smi lists a GPU but neither FAISS")
    record = json.loads((out / "gpu_check.json").read_text())
    assert record["gpu"] is False and "faiss.get_num_gpus() == 0" in record["reason"]
    assert not (tmp_path / "ragkit-gpu-site").exists() and not (out / "gpu_tests.log").exists()


def test_script_defaults_to_a_temporary_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OUT"}
    done = subprocess.run(["bash", "scripts/gpu_check.sh"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**env, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    (folder,) = tmp_path.glob("ragkit-gpu-check.*")
    assert json.loads((folder / "gpu_check.json").read_text())["gpu"] is False


def test_benchmark_without_gpu_writes_only_the_no_gpu_record(tmp_path: Path) -> None:
    results = ROOT / "benchmarks" / "results"
    before = {p: p.stat().st_mtime_ns for p in results.glob("gpu.*")}
    done = run([sys.executable, "benchmarks/gpu_bench.py", "--out", str(tmp_path / "b"), "--n", "1000"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no GPU" in done.stdout
    assert json.loads((tmp_path / "b" / "gpu_bench.json").read_text()) == {"gpu": False, "reason": "nvidia-smi not found"}
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["gpu_bench.json"]
    assert {p: p.stat().st_mtime_ns for p in results.glob("gpu.*")} == before  # benchmarks/results untouched
