"""A real server on loopback: uvicorn in a thread, on a socket bound to a free port."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ragkit
from ragkit.serve import ServeConfig, ServeLimits, hash_key
from ragkit.testing import HashEmbedder, synthetic_documents

_CONNECT = socket.create_connection  # the real one (tests/conftest.py blocks it during tests)

KEYS = {"alice": ("alice-key-0123456789", ["g0"]), "bob": ("bob-key-9876543210", ["g1"]),
        "ops": ("ops-key-5555555555", ["g0", "g1", "g2", "g3", "g4", "g5"])}


@pytest.fixture(autouse=True)
def _loopback_only(_no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections to this machine are allowed (the server under test); anything else still fails."""

    def connect(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if address[0] not in ("127.0.0.1", "localhost", "::1"):
            raise RuntimeError("network access attempted in a test")
        return _CONNECT(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)


def build(path: Path, n: int = 120, *, access: bool = True, seed: int = 0) -> Path:
    docs = synthetic_documents(n, seed=seed)
    col = ragkit.build_collection(docs, embedder=HashEmbedder(dimension=32),
                                  chunker=ragkit.RecursiveChunker(max_tokens=8, overlap=0, tokenizer="regex"),
                                  indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
    if access:
        col.set_access_field("acl")
    col.save(path)
    col.close()
    return path


@pytest.fixture
def collection_path(tmp_path: Path) -> Path:
    return build(tmp_path / "col")


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [{"name": f"{who}-laptop", "sha256": hash_key(key), "principal": who, "groups": groups}
                                         for who, (key, groups) in KEYS.items()]}))
    return path


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who][0]}"}


class Running:
    """A server running in a thread; ``url`` is its base address, ``state`` its ServeState."""

    def __init__(self, app: Any, server: Any, thread: threading.Thread, port: int) -> None:
        self.app, self.server, self.thread = app, server, thread
        self.url = f"http://127.0.0.1:{port}"
        self.state = app.state.ragkit


@contextlib.contextmanager
def running(config: ServeConfig, build_retriever: Callable[[Any], Any] | None = None) -> Iterator[Running]:
    import uvicorn

    from ragkit.serve.app import create_app

    app = create_app(config, build_retriever=build_retriever)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: asyncio sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started or errors or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        thread.join(5)
        sock.close()
        raise errors[0] if errors else RuntimeError("the server did not start")
    try:
        yield Running(app, server, thread, port)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def config(collection_path: Path, keys_file: Path) -> ServeConfig:
    return ServeConfig(collection=collection_path, keys_file=keys_file, reload_interval_s=0,
                       limits=ServeLimits(max_k=20, max_query_chars=200, max_batch=8, max_body_bytes=4096, timeout_s=5.0))
