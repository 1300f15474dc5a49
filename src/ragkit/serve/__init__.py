"""``ragkit serve``: one collection over HTTP (FastAPI + uvicorn; the ``serve`` extra); a sharded collection
served from a Ray cluster (:class:`RayShardedCollection`, the ``ray`` extra)."""

from ragkit.serve.auth import ApiKey, ApiKeys, hash_key
from ragkit.serve.config import ServeConfig, ServeLimits
from ragkit.serve.ray_shards import RayShardedCollection

__all__ = ["ApiKey", "ApiKeys", "RayShardedCollection", "ServeConfig", "ServeLimits", "hash_key"]
