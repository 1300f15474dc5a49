"""What ``ragkit serve`` is told: the collection, the address, the retriever, the limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ragkit.core.errors import ConfigError
from ragkit.core.validation import as_path, check_choice, check_float, check_int, check_str

__all__ = ["MODES", "ServeConfig", "ServeLimits"]

MODES = ("hybrid", "dense", "bm25")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, kw_only=True)
class ServeLimits:
    """Bounds on one request; past them the request gets a 4xx naming the limit.

    Args:
        max_k: the most hits per query (400 past it).
        max_query_chars: the longest query, in characters (400).
        max_batch: the most queries in one batch request (400).
        max_body_bytes: the largest request body (413).
        timeout_s: seconds a search may take, waiting for a free search thread included (504).
        max_concurrent: searches running at once (each in a thread of its own pool); the rest wait.

    Raises:
        ConfigError: a bound that is not a positive number.
    """

    max_k: int = 100
    max_query_chars: int = 2048
    max_batch: int = 64
    max_body_bytes: int = 1 << 20
    timeout_s: float = 10.0
    max_concurrent: int = 4

    def __post_init__(self) -> None:
        for name in ("max_k", "max_query_chars", "max_batch", "max_body_bytes", "max_concurrent"):
            check_int("ServeLimits", name, getattr(self, name), low=1)
        check_float("ServeLimits", "timeout_s", self.timeout_s, low=0.001)


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    """One ``ragkit serve`` process: it serves one collection (single or sharded) over HTTP.

    Args:
        collection: the collection folder.
        host: the address to bind; loopback unless told otherwise.
        port: the TCP port.
        mode: the retriever (``"hybrid"``, ``"dense"`` or ``"bm25"``).
        fusion: hybrid fusion by name (``"rrf"``, ``"score"``, ...); ``None``: :class:`HybridRetriever`'s default.
        keys_file: the API keys (JSON, see :mod:`ragkit.serve.auth`); required unless ``allow_anonymous``.
        allow_anonymous: serve without keys (refused for a collection with an access field).
        limits: per-request bounds.
        query_log: a folder for the query log (one row per query, :mod:`ragkit.observe.querylog`).
        reload_interval_s: how often to look for a newly saved version (0: never).
        verify: check every file's checksum when opening a version.
        name: the collection's label in metrics and logs (default: the folder name).
        ray_address: serve a sharded collection from Ray actors, one per shard
            (:class:`ragkit.serve.RayShardedCollection`): ``"local"`` starts Ray on this machine,
            ``"auto"`` or ``"ray://host:port"`` joins a cluster; ``None`` (default): this process holds the shards.

    Raises:
        ConfigError: a bad value, or neither keys nor ``allow_anonymous``.
    """

    collection: Path
    host: str = "127.0.0.1"
    port: int = 8000
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    fusion: str | None = None
    keys_file: Path | None = None
    allow_anonymous: bool = False
    limits: ServeLimits = field(default_factory=ServeLimits)
    query_log: Path | None = None
    reload_interval_s: float = 2.0
    verify: bool = True
    name: str | None = None
    ray_address: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "collection", as_path("ServeConfig (collection)", self.collection))
        check_str("ServeConfig", "host", self.host)
        check_int("ServeConfig", "port", self.port, low=0, high=65535)
        check_choice("ServeConfig", "mode", self.mode, MODES)
        if self.fusion is not None:
            check_str("ServeConfig", "fusion", self.fusion)  # the name is checked by HybridRetriever on start
        check_float("ServeConfig", "reload_interval_s", self.reload_interval_s, low=0.0)
        if not isinstance(self.limits, ServeLimits):
            raise ConfigError(f"The 'limits' parameter of ServeConfig must be a ServeLimits. Got {self.limits!r} instead.")
        if self.keys_file is None and not self.allow_anonymous:
            raise ConfigError("ServeConfig needs 'keys_file' (API keys, each naming its principal) or allow_anonymous=True.")
        if self.keys_file is not None:
            object.__setattr__(self, "keys_file", as_path("ServeConfig (keys_file)", self.keys_file))
        if self.query_log is not None:
            object.__setattr__(self, "query_log", as_path("ServeConfig (query_log)", self.query_log))
        if self.name is not None:
            check_str("ServeConfig", "name", self.name)
        if self.ray_address is not None:
            check_str("ServeConfig", "ray_address", self.ray_address)

    @property
    def label(self) -> str:
        """The collection's name in metrics and logs."""
        return self.name or self.collection.resolve().name or "default"

    @property
    def loopback(self) -> bool:
        """Whether the address is reachable from this machine only."""
        return self.host in _LOOPBACK
