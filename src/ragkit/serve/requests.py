"""Per-request bookkeeping as plain ASGI middleware: a request id, the HTTP metrics, one structured log line.

The log line (logger ``ragkit.serve.requests``, level INFO) is JSON: request id, method,
path, status, seconds, the API key's name and its principal's id (never the key), and how
many queries the request searched. Queries themselves go to the query log.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from ragkit.serve.limits import ASGIApp, Message, Receive, Scope, Send
from ragkit.serve.metrics import ServeMetrics

__all__ = ["RequestObserver"]

request_log = logging.getLogger("ragkit.serve.requests")


class RequestObserver:
    """Counts and times every HTTP request by route, tags it ``x-request-id``, and logs it."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = dict(scope.get("headers", ()))
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or uuid.uuid4().hex
        status = 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            self._report(scope, request_id, status, time.perf_counter() - start)

    def _report(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        endpoint = getattr(scope.get("route"), "path", "other")  # the route template: bounded label values
        label = self.metrics.collection
        self.metrics.requests.labels(label, endpoint, str(status)).inc()
        self.metrics.latency.labels(label, endpoint).observe(seconds)
        if not request_log.isEnabledFor(logging.INFO):
            return
        state: Any = scope.get("state") or {}
        key = state.get("key") if isinstance(state, dict) else None
        request_log.info(json.dumps({
            "request_id": request_id, "method": scope.get("method"), "path": scope.get("path"), "status": status,
            "seconds": round(seconds, 6), "key": key.name if key is not None else None,
            "principal": key.principal.id if key is not None else None, "queries": state.get("queries", 0),
        }))
