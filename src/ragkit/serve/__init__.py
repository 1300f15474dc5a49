"""``ragkit serve``: one collection over HTTP (FastAPI + uvicorn; the ``serve`` extra)."""

from ragkit.serve.auth import ApiKey, ApiKeys, hash_key
from ragkit.serve.config import ServeConfig, ServeLimits

__all__ = ["ApiKey", "ApiKeys", "ServeConfig", "ServeLimits", "hash_key"]
