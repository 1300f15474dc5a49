"""Request limits: a body-size guard in front of the app, and the checks of a search request's values."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from starlette.exceptions import HTTPException

from ragkit.serve.config import ServeLimits

__all__ = ["BodyLimit", "BodyTooLarge", "LimitExceeded", "check_search"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LimitExceeded(Exception):
    """A request over one of the :class:`ServeLimits`: the HTTP status, a code and a message naming the limit."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def check_search(limits: ServeLimits, queries: Sequence[str], k: int, *, batch: bool) -> None:
    """Raise :class:`LimitExceeded` (400) for a ``k``, a query length or a batch size over the limits."""
    if k > limits.max_k:
        raise LimitExceeded(400, "k_too_large", f"k must be at most {limits.max_k}; got {k}.")
    if batch and len(queries) > limits.max_batch:
        raise LimitExceeded(400, "batch_too_large", f"A batch holds at most {limits.max_batch} queries; got {len(queries)}.")
    longest = max((len(q) for q in queries), default=0)
    if longest > limits.max_query_chars:
        raise LimitExceeded(400, "query_too_long",
                            f"A query holds at most {limits.max_query_chars} characters; got one of {longest}.")


class BodyTooLarge(HTTPException):
    """Raised while reading a streamed body past the limit (an HTTP error, so the framework answers 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"A request body holds at most {max_bytes} bytes.")


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413, whether it declares its length or streams."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": "body_too_large",
                           "detail": f"A request body holds at most {self.max_bytes} bytes."}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
