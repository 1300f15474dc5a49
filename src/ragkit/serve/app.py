"""The HTTP JSON service over one collection (FastAPI): search, batch search, collection info, health, metrics.

Endpoints (the OpenAPI schema is at ``/openapi.json``, interactive docs at ``/docs``):

- ``POST /v1/search``, ``POST /v1/search/batch``, ``GET /v1/collection`` — need an API key;
- ``GET /healthz`` (the process answers), ``GET /readyz`` (a version is loaded and warm),
  ``GET /metrics`` (Prometheus) — no key.

Every search runs off the event loop through :func:`ragkit.search.aio.run_off_loop`, at
most ``limits.max_concurrent`` at once, and takes its lease on the served version when it
starts, so a version swapped out by a reload stays open until its last search is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from starlette.requests import Request

from ragkit.core.errors import AccessError, InputError, RagkitError, ShardUnavailableError
from ragkit.observe.querylog import QueryLog
from ragkit.observe.trace import Trace
from ragkit.search.aio import AsyncLimit, run_off_loop
from ragkit.serve.auth import ApiKey, ApiKeys
from ragkit.serve.config import ServeConfig
from ragkit.serve.limits import BodyLimit, LimitExceeded, check_search
from ragkit.serve.metrics import ServeMetrics
from ragkit.serve.ray_shards import ray_opener
from ragkit.serve.requests import RequestObserver
from ragkit.serve.retrievers import default_retriever
from ragkit.serve.schemas import (
    BatchSearchRequest,
    BatchSearchResponse,
    CollectionInfo,
    SearchRequest,
    SearchResponse,
    hit_out,
)
from ragkit.serve.state import CollectionHolder, Served

__all__ = ["ServeState", "create_app"]

logger = logging.getLogger(__name__)


class ServeState:
    """What the app's handlers share: config, keys, the served collection, the search pool, metrics, the query log."""

    def __init__(self, config: ServeConfig, build_retriever: Callable[[Any], Any] | None = None) -> None:
        self.config = config
        self.keys = ApiKeys.load(config.keys_file) if config.keys_file is not None else None
        self.query_log = QueryLog(config.query_log) if config.query_log is not None else None
        self.metrics = ServeMetrics(config.label)
        build = build_retriever or (lambda c: default_retriever(c, config.mode, config.fusion))
        label, log = config.label, self.query_log

        def observed(collection: Any) -> Any:
            from ragkit.observe.observed import ObservedRetriever

            return ObservedRetriever(build(collection), collection=label, query_log=log)

        self.holder = CollectionHolder(config.collection, observed, verify=config.verify, opener=ray_opener(config))
        self.limit: AsyncLimit | None = None
        self.ready = False

    def start(self) -> None:
        """Open and warm the collection; refuse a collection with an access field when anonymous."""
        served = self.holder.load()
        if self.keys is None and served.collection.access_field is not None:
            self.holder.close()
            raise AccessError(f"{self.config.collection} restricts access (field {served.collection.access_field!r}); "
                              f"serve it with API keys (--keys), not anonymously.")
        self.limit = AsyncLimit(self.config.limits.max_concurrent)
        self._serving(served)
        self.ready = True

    def _serving(self, served: Served) -> None:
        self.metrics.serving(str(served.collection.version), int(served.collection.num_chunks))

    def refresh(self) -> bool:
        """Pick up a newly saved version (see :meth:`CollectionHolder.refresh`); whether it changed."""
        try:
            changed = self.holder.refresh()
        except RagkitError as exc:
            self.metrics.reloads.labels(self.config.label, "failed").inc()
            logger.error("%s: cannot open the new version, still serving the old one: %s", self.config.collection, exc)
            return False
        if changed and self.holder.current is not None:
            self.metrics.reloads.labels(self.config.label, "ok").inc()
            self._serving(self.holder.current)
        return changed

    def stop(self) -> None:
        self.ready = False
        if self.limit is not None:
            self.limit.close()
        self.holder.close()
        if self.query_log is not None:
            self.query_log.close()

    async def search(self, key: ApiKey | None, queries: Sequence[str], k: int, filters: Any, *,
                     batch: bool) -> tuple[list[list[Any]], str]:
        """Hits per query and the version that answered. Raises :class:`LimitExceeded` (400, 504)."""
        limits = self.config.limits
        check_search(limits, queries, k, batch=batch)
        principal = key.principal if key is not None else None
        trace = Trace()

        def work() -> tuple[list[list[Any]], str]:
            with self.holder.lease() as served:  # held until this search is done, not just until the request gives up
                retriever = served.retriever_for(principal)
                found = retriever.search_batch(list(queries), k, filters, trace=trace)
                return [[hit_out(h) for h in hits] for hits in found], str(served.collection.version)

        gauge = self.metrics.in_flight.labels(self.config.label)
        gauge.inc()
        try:
            results, version = await asyncio.wait_for(run_off_loop(self.limit, work), limits.timeout_s)
        except asyncio.TimeoutError:
            self.metrics.timeouts.labels(self.config.label).inc()
            raise LimitExceeded(504, "timeout", f"The search took longer than {limits.timeout_s:g} s.") from None
        finally:
            gauge.dec()
        self.metrics.record_search(trace, results)
        return results, version


def create_app(config: ServeConfig, *, build_retriever: Callable[[Any], Any] | None = None) -> Any:
    """The ASGI app serving ``config.collection`` (a FastAPI app; run it with uvicorn).

    ``build_retriever(collection)``: the retriever to serve (default: ``config.mode`` /
    ``config.fusion``); use it to add stages after fusion (a reranker) or a cache.

    Raises:
        ConfigError: a malformed keys file.
    """
    import fastapi
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.responses import Response as PlainResponse
    from starlette.exceptions import HTTPException

    state = ServeState(config, build_retriever)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await asyncio.to_thread(state.start)
        watcher = asyncio.create_task(_watch(state)) if config.reload_interval_s > 0 else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await asyncio.to_thread(state.stop)

    app = fastapi.FastAPI(title="ragkit", summary=f"Search the ragkit collection {config.label!r}.", lifespan=lifespan)
    app.state.ragkit = state
    app.add_middleware(BodyLimit, max_bytes=config.limits.max_body_bytes)
    app.add_middleware(RequestObserver, metrics=state.metrics)  # outermost: it sees the 413s too

    def error(status: int, code: str, detail: Any, headers: dict[str, str] | None = None) -> Any:
        return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(LimitExceeded)
    async def _limit(_: Any, exc: LimitExceeded) -> Any:
        return error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Any, exc: RequestValidationError) -> Any:
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return error(422, "invalid_request", details)

    @app.exception_handler(HTTPException)
    async def _http(_: Any, exc: HTTPException) -> Any:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status_code, "error")
        return error(exc.status_code, code, exc.detail, getattr(exc, "headers", None))

    @app.exception_handler(RagkitError)
    async def _ragkit(_: Any, exc: RagkitError) -> Any:
        if isinstance(exc, AccessError):
            return error(403, "forbidden", str(exc))
        if isinstance(exc, InputError):
            return error(400, "bad_request", str(exc))
        if isinstance(exc, ShardUnavailableError):  # named in the answer: never results silently missing a shard
            logger.warning("search failed: %s", exc)
            return error(503, "shard_unavailable", str(exc))
        logger.exception("search failed")
        return error(500, "internal", type(exc).__name__)

    def authenticate(request: Request) -> ApiKey | None:
        if state.keys is None:
            return None
        presented = request.headers.get("x-api-key")
        header = request.headers.get("authorization", "")
        if presented is None and header[:7].lower() == "bearer ":
            presented = header[7:].strip()
        key = state.keys.authenticate(presented)
        if key is None:
            raise HTTPException(401, "A valid API key is required (Authorization: Bearer <key> or X-API-Key).",
                                headers={"WWW-Authenticate": "Bearer"})
        request.state.key = key
        return key

    Key = fastapi.Depends(authenticate)

    @app.post("/v1/search", response_model=SearchResponse, tags=["search"])
    async def search(body: SearchRequest, request: Request, key: Any = Key) -> Any:
        started = time.perf_counter()
        request.state.queries = 1
        results, version = await state.search(key, [body.query], body.k, body.filters, batch=False)
        return JSONResponse({"hits": results[0], "version": version, "took_ms": (time.perf_counter() - started) * 1e3})

    @app.post("/v1/search/batch", response_model=BatchSearchResponse, tags=["search"])
    async def search_batch(body: BatchSearchRequest, request: Request, key: Any = Key) -> Any:
        started = time.perf_counter()
        request.state.queries = len(body.queries)
        results, version = await state.search(key, body.queries, body.k, body.filters, batch=True)
        return JSONResponse({"results": results, "version": version, "took_ms": (time.perf_counter() - started) * 1e3})

    @app.get("/v1/collection", response_model=CollectionInfo, tags=["collection"])
    async def collection_info(_: Any = Key) -> Any:
        with state.holder.lease() as served:
            return JSONResponse(_info(state, served))

    @app.get("/healthz", tags=["service"])
    async def health() -> Any:
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"])
    async def ready() -> Any:
        current = state.holder.current
        if not state.ready or current is None:
            return error(503, "not_ready", "The collection is not loaded yet.")
        return {"status": "ready", "version": str(current.collection.version)}

    @app.get("/metrics", tags=["service"])
    async def metrics() -> Any:
        body, content_type = state.metrics.exposition()
        return PlainResponse(body, media_type=content_type)

    return app


async def _watch(state: ServeState) -> None:
    """Look for a newly saved version every ``reload_interval_s`` (in a thread: opening reads files)."""
    while True:
        await asyncio.sleep(state.config.reload_interval_s)
        await asyncio.to_thread(state.refresh)


def _info(state: ServeState, served: Served) -> dict[str, Any]:
    col = served.collection
    shards = getattr(col, "shards", None)
    return {
        "name": state.config.label, "version": str(col.version), "sharded": shards is not None,
        "shards": len(shards) if shards is not None else 1, "num_chunks": int(col.num_chunks),
        "num_documents": int(col.num_documents), "num_rows": int(col.num_rows),
        "indexes": {name: index.kind for name, index in col.indexes.items()}, "access_field": col.access_field,
        "embedder": col.embedder_info, "mode": state.config.mode, "limits": vars(state.config.limits).copy(),
    }
