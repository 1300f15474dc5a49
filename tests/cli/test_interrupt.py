"""Ctrl-C during ``ragkit index``: a clean stop, one line (what was saved, how to resume), exit 130, a working resume."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ragkit.pipeline.batch import STAGING
from ragkit.pipeline.shards import LEDGER


def cli_env() -> dict[str, str]:
    import os

    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def _corpus(path: Path, n: int) -> Path:
    words = ["cats", "dogs", "fish", "birds", "bees", "ants", "owls", "frogs", "whales", "sharks", "rivers", "oceans", "nests", "hives"]
    lines = [json.dumps({"id": f"d{i}", "text": " ".join(words[(i + j) % len(words)] for j in range(40)) + f" number {i}."})
             for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _saved(ledger: Path) -> int:
    """Shards the build ledger lists as saved."""
    try:
        return len(json.loads((ledger / LEDGER).read_text(encoding="utf-8"))["shards"])
    except (OSError, ValueError, KeyError):
        return 0


def test_sigint_stops_cleanly_says_how_to_resume_and_the_resume_finishes(tmp_path: Path, cli: Any) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 2000)
    out = tmp_path / "col"
    cmd = [sys.executable, "-m", "ragkit.cli", "index", str(corpus), str(out), "--no-vectors", "--shard-docs", "100"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    err_lines: list[str] = []

    def read_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_lines.append(line)

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    ledger = out / STAGING
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and _saved(ledger) < 2:
        time.sleep(0.05)  # interrupt once two shards are saved
    assert proc.poll() is None and _saved(ledger) >= 2, "no shard saved within 120 s: " + "".join(err_lines)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    proc.wait(timeout=60)
    stopped_after = time.monotonic() - sent
    reader.join(timeout=10)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    assert proc.returncode == 130
    assert stopped_after < 10, f"took {stopped_after:.1f}s to stop"
    err = "".join(err_lines)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    interrupted = [line for line in err_lines if "interrupted" in line]
    assert len(interrupted) == 1
    line = interrupted[0].strip()
    assert line.startswith("ragkit index: interrupted; ") and " shards (" in line and f"saved in {ledger}." in line
    assert "saved" not in stdout  # no build summary
    resume = shlex.split(line.split("Resume with: ", 1)[1])
    assert resume[0] == "ragkit" and resume[-1] == "--resume"
    assert resume[1:-1] == cmd[3:]  # the very command that was interrupted, plus --resume
    done = cli(*resume[1:])
    assert done.code == 0, done.err
    assert "resumed from an earlier run" in done.out and "saved 2,000 chunks of 2,000 documents" in done.out
    first = next(line for line in done.err.splitlines() if line.startswith("indexing (local):"))
    shards_saved = int(line.split("; ", 1)[1].split(" ", 1)[0].replace(",", ""))
    assert int(first.split(": ", 1)[1].split("/", 1)[0].replace(",", "")) >= 100 * shards_saved  # counts from what was saved
    assert cli("search", out, "whales", "-k", "1").code == 0
