"""`ragkit serve` as a process: the CLI, loopback by default, and a bounded load test against in-process search."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import ragkit
from ragkit import HybridRetriever, Principal
from ragkit.cli.main import main
from ragkit.serve import hash_key
from ragkit.testing import synthetic_queries

from .conftest import KEYS, auth

CLIENTS, REQUESTS = 8, 200


def test_hash_key_and_missing_collection(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("my-key\n"))
    assert main(["serve", "--hash-key"]) == 0
    assert capsys.readouterr().out.strip() == hash_key("my-key")
    assert main(["serve"]) == 2
    assert "COLLECTION" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(collection: Path, keys: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, "-m", "ragkit.cli", "serve", str(collection), "--keys", str(keys),
                             "--port", str(port), "--reload-interval", "0", "--concurrency", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"ragkit serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("ragkit serve never became ready")


@pytest.mark.slow
def test_load_eight_clients_no_errors_and_the_in_process_results(collection_path: Path, keys_file: Path) -> None:
    port = _free_port()
    proc = _start(collection_path, keys_file, port)
    queries = synthetic_queries(REQUESTS, seed=11)
    with ragkit.open_collection(collection_path) as col:
        expected = {who: [[(f"{h.doc_id}#{h.position}", h.score) for h in hits]
                          for hits in HybridRetriever(col).bind(Principal(who, groups=KEYS[who][1])).search_batch(queries, 5)]
                    for who in KEYS}
    # one query at a time, as the server answers them: batch-of-one vectors may differ in the last ulp from a batch
    with ragkit.open_collection(collection_path) as col:
        single = {who: [[(f"{h.doc_id}#{h.position}", h.score) for h in HybridRetriever(col).bind(
            Principal(who, groups=KEYS[who][1])).search(q, 5)] for q in queries] for who in KEYS}
    errors: list[str] = []
    mismatches: list[tuple[str, int]] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as probe:
            _wait_ready(probe, proc)

        def client(n: int) -> None:
            who = list(KEYS)[n % len(KEYS)]
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                for i, q in enumerate(queries):
                    r = http.post("/v1/search", json={"query": q, "k": 5}, headers=auth(who))
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text[:200]}")
                        continue
                    if [(h["id"], h["score"]) for h in r.json()["hits"]] != single[who][i]:
                        mismatches.append((who, i))

        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        seconds = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(30)
    assert not errors, errors[:5]
    assert not mismatches, mismatches[:5]
    assert [[i for i, _ in hits] for hits in single["alice"]] == [[i for i, _ in hits] for hits in expected["alice"]]
    print(f"{CLIENTS * REQUESTS} requests in {seconds:.1f} s ({CLIENTS * REQUESTS / seconds:.0f}/s)")


def test_the_server_binds_loopback_by_default(collection_path: Path, keys_file: Path) -> None:
    port = _free_port()
    proc = _start(collection_path, keys_file, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            _wait_ready(client, proc)
            assert client.post("/v1/search", json={"query": "kalo"}, headers=auth("alice")).status_code == 200
        listening = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        ours = [cols[1] for cols in listening if cols[3] == "0A" and int(cols[1].split(":")[1], 16) == port]
        assert ours == ["0100007F:" + f"{port:04X}"]  # 127.0.0.1 only
    finally:
        proc.terminate()
        proc.wait(30)
