"""`ragkit serve` over real HTTP: every endpoint, auth, principal isolation, limits, timeouts, reloads, logs."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

import ragkit
from ragkit import HybridRetriever, Principal
from ragkit.core.results import Candidates
from ragkit.observe import read_log
from ragkit.search.context import SearchContext
from ragkit.serve import ServeConfig, ServeLimits
from ragkit.serve.app import ServeState
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries

from .conftest import KEYS, auth, build, running

QUERIES = synthetic_queries(6, seed=3)


def _expected(path: Path, who: str, queries: list[str], k: int, filters: Any = None) -> list[list[tuple[str, float]]]:
    with ragkit.open_collection(path) as col:
        retriever = HybridRetriever(col).bind(Principal(who, groups=KEYS[who][1]))
        return [[(f"{h.doc_id}#{h.position}", h.score) for h in hits] for hits in retriever.search_batch(queries, k, filters)]


def _got(hits: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(h["id"], h["score"]) for h in hits]


class Gate:
    name = "gate"

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Semaphore(0)

    def depth(self, k: int) -> int:
        return k

    def apply(self, context: SearchContext, candidates: list[Candidates], k: int) -> list[Candidates]:
        self.entered.release()
        assert self.open.wait(20)
        return candidates


def test_search_and_batch_equal_in_process_search(config: ServeConfig, collection_path: Path) -> None:
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        for q in QUERIES[:3]:
            r = client.post("/v1/search", json={"query": q, "k": 5}, headers=auth("alice"))
            assert r.status_code == 200, r.text
            body = r.json()
            assert _got(body["hits"]) == _expected(collection_path, "alice", [q], 5)[0]
            assert body["version"] and body["took_ms"] >= 0 and r.headers["x-request-id"]
        hit = body["hits"][0]
        assert set(hit) == {"id", "doc_id", "position", "row", "score", "start", "end", "text", "metadata", "legs"}
        assert set(hit["legs"]) <= {"bm25", "dense"} and hit["legs"]
        doc = {d.id: d for d in synthetic_documents(120)}[hit["doc_id"]]
        assert doc.text[hit["start"]:hit["end"]] == hit["text"]  # offsets point into the document
        r = client.post("/v1/search/batch", json={"queries": QUERIES, "k": 4, "filters": {"lang": "en"}}, headers=auth("ops"))
        assert r.status_code == 200, r.text
        assert [_got(h) for h in r.json()["results"]] == _expected(collection_path, "ops", QUERIES, 4, {"lang": "en"})
        assert all(h["metadata"]["lang"] == "en" for hits in r.json()["results"] for h in hits)


def test_service_endpoints(config: ServeConfig) -> None:
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        info = client.get("/v1/collection", headers=auth("bob")).json()
        assert info["num_documents"] == 120 and info["access_field"] == "acl" and not info["sharded"]
        assert info["indexes"] == {"vector": "vector", "bm25": "bm25"} and info["mode"] == "hybrid"
        assert info["limits"]["max_k"] == 20 and info["version"] == ready.json()["version"]
        schema = client.get("/openapi.json").json()
        assert {"/v1/search", "/v1/search/batch", "/v1/collection", "/healthz", "/readyz", "/metrics"} <= set(schema["paths"])
        assert "principal" not in schema["components"]["schemas"]["SearchRequest"]["properties"]
        client.post("/v1/search", json={"query": QUERIES[0]}, headers=auth("bob"))
        client.post("/v1/search", json={"query": QUERIES[0]})
        metrics = client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        assert 'ragkit_http_requests_total{collection="col",endpoint="/v1/search",status="200"} 1.0' in text
        assert 'ragkit_http_requests_total{collection="col",endpoint="/v1/search",status="401"} 1.0' in text
        assert 'ragkit_queries_total{collection="col"} 1.0' in text
        assert 'ragkit_stage_seconds_count{collection="col",stage="bm25.search"}' in text
        assert 'ragkit_collection_chunks{collection="col"}' in text


def test_api_keys_are_required_and_checked(config: ServeConfig) -> None:
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        body = {"query": QUERIES[0], "k": 3}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": KEYS["alice"][0] + "x"},
                        {"Authorization": KEYS["alice"][0]}, {"Authorization": "Bearer"}):
            r = client.post("/v1/search", json=body, headers=headers)
            assert r.status_code == 401, (headers, r.text)
            assert r.json()["error"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
        assert client.get("/v1/collection").status_code == 401
        assert client.post("/v1/search/batch", json={"queries": ["a"]}).status_code == 401
        assert client.post("/v1/search", json=body, headers={"X-API-Key": KEYS["alice"][0]}).status_code == 200


def test_a_key_searches_only_as_its_principal(config: ServeConfig) -> None:
    docs = {d.id: d for d in synthetic_documents(120)}
    queries = synthetic_queries(8, seed=5)
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        seen: dict[str, set[str]] = {}
        for who in ("alice", "bob"):
            r = client.post("/v1/search/batch", json={"queries": queries, "k": 20}, headers=auth(who))
            hits = [h for hits in r.json()["results"] for h in hits]
            group = KEYS[who][1][0]
            assert hits and all(group in docs[h["doc_id"]].metadata["acl"] for h in hits)
            seen[who] = {h["doc_id"] for h in hits}
        assert seen["alice"] != seen["bob"]
        # no way to name another principal: unknown fields are refused
        r = client.post("/v1/search", json={"query": "x", "principal": {"id": "bob", "groups": ["g1"]}}, headers=auth("alice"))
        assert r.status_code == 422 and r.json()["error"] == "invalid_request"
        # a filter only narrows: alice filtering on bob's group still sees only rows she may see
        r = client.post("/v1/search/batch", json={"queries": queries, "k": 20, "filters": {"acl": "g1"}}, headers=auth("alice"))
        narrowed = [h for hits in r.json()["results"] for h in hits]
        assert all({"g0", "g1"} <= set(docs[h["doc_id"]].metadata["acl"]) for h in narrowed)


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"query": "x", "k": 21}, 400, "k_too_large"),
    ({"query": "x" * 201}, 400, "query_too_long"),
    ({"queries": ["x"] * 9}, 400, "batch_too_large"),
    ({"queries": ["x", "y" * 201]}, 400, "query_too_long"),
    ({"query": "x", "k": 0}, 422, "invalid_request"),
    ({"query": ""}, 422, "invalid_request"),
    ({"queries": []}, 422, "invalid_request"),
    ({"query": "x", "k": "many"}, 422, "invalid_request"),
    ({"query": "x", "filters": {"no_such_field": 1}}, 400, "bad_request"),
    ({"query": "x", "filters": {"lang": {"$regex": "e"}}}, 400, "bad_request"),
    ({"query": "   "}, 400, "bad_request"),
])
def test_limits_and_bad_requests_get_clear_4xx(config: ServeConfig, body: dict[str, Any], status: int, code: str) -> None:
    path = "/v1/search/batch" if "queries" in body else "/v1/search"
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        r = client.post(path, json=body, headers=auth("alice"))
        assert r.status_code == status, r.text
        assert r.json()["error"] == code and r.json()["detail"]


def test_request_bodies_over_the_limit_get_413(config: ServeConfig) -> None:
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        big = json.dumps({"query": "x", "filters": {"lang": "e" * 5000}}).encode()
        r = client.post("/v1/search", content=big, headers={**auth("alice"), "content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"

        def stream() -> Any:  # no content-length: counted as it arrives
            for _ in range(10):
                yield b" " * 1000
        r = client.post("/v1/search", content=stream(), headers={**auth("alice"), "content-type": "application/json"})
        assert r.status_code == 413 and "4096 bytes" in r.json()["detail"]
        assert client.post("/v1/search", json={"query": "x"}, headers=auth("alice")).status_code == 200


def test_a_search_past_the_timeout_gets_504_and_the_service_goes_on(config: ServeConfig) -> None:
    gate = Gate()
    config = dataclasses.replace(config, limits=ServeLimits(timeout_s=0.3, max_concurrent=2))
    with running(config, build_retriever=lambda c: HybridRetriever(c).then(gate)) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as client:
        r = client.post("/v1/search", json={"query": QUERIES[0]}, headers=auth("alice"))
        assert r.status_code == 504 and r.json()["error"] == "timeout"
        gate.open.set()
        assert client.post("/v1/search", json={"query": QUERIES[0]}, headers=auth("alice")).status_code == 200
        assert 'ragkit_search_timeouts_total{collection="col"} 1.0' in client.get("/metrics").text


def test_a_new_version_is_picked_up_without_dropping_requests_in_flight(config: ServeConfig, collection_path: Path) -> None:
    gate = Gate()
    config = dataclasses.replace(config, reload_interval_s=0.05)
    new_doc = ragkit.Document(id="fresh", text="zebras graze quietly", metadata={"tenant": "t0", "acl": ["g0"], "year": 2020,
                                                                                   "lang": "en"})
    with running(config, build_retriever=lambda c: HybridRetriever(c).then(gate)) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as client:
        first = srv.state.holder.current
        result: dict[str, Any] = {}

        def in_flight() -> None:
            result["r"] = client.post("/v1/search", json={"query": "zebras graze", "k": 3}, headers=auth("alice"))

        thread = threading.Thread(target=in_flight)
        thread.start()
        assert gate.entered.acquire(timeout=10)  # the request is inside its search now
        with ragkit.Collection.open(collection_path) as writer:
            writer.add([new_doc])
            writer.save(collection_path)
        for _ in range(400):
            if srv.state.holder.current is not first:
                break
            threading.Event().wait(0.025)
        second = srv.state.holder.current
        assert second is not first and first.retired and not first.closed  # still leased by the request in flight
        gate.open.set()
        thread.join(20)
        old = result["r"]
        assert old.status_code == 200 and old.json()["version"] == str(first.collection.version)
        assert "fresh" not in {h["doc_id"] for h in old.json()["hits"]}
        assert first.closed  # closed once its last request was done
        new = client.post("/v1/search", json={"query": "zebras graze", "k": 3}, headers=auth("alice")).json()
        assert new["version"] == str(second.collection.version) and new["hits"][0]["doc_id"] == "fresh"
        assert second.collection.embedder is first.collection.embedder  # the model is loaded once
        assert 'ragkit_collection_reloads_total{collection="col",outcome="ok"} 1.0' in client.get("/metrics").text


def test_a_broken_new_version_keeps_the_old_one_served(config: ServeConfig, collection_path: Path) -> None:
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        manifest = collection_path / "manifest.json"
        saved = manifest.read_bytes()
        manifest.write_text("{not json")
        assert srv.state.refresh() is False
        manifest.write_bytes(saved)
        assert client.post("/v1/search", json={"query": QUERIES[0]}, headers=auth("alice")).status_code == 200
        assert 'outcome="failed"} 1.0' in client.get("/metrics").text


def test_requests_are_logged_and_queries_go_to_the_query_log(config: ServeConfig, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    config = dataclasses.replace(config, query_log=tmp_path / "qlog")
    caplog.set_level(logging.INFO, logger="ragkit.serve.requests")
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        client.post("/v1/search/batch", json={"queries": QUERIES[:3], "k": 2}, headers={**auth("bob"), "x-request-id": "req-1"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ragkit.serve.requests"]
    line = next(x for x in lines if x["request_id"] == "req-1")
    assert line["principal"] == "bob" and line["key"] == "bob-laptop" and line["status"] == 200 and line["queries"] == 3
    assert KEYS["bob"][0] not in json.dumps(lines)  # never the key itself
    log = read_log(tmp_path / "qlog")
    assert log.column("query").to_pylist() == QUERIES[:3] and set(log.column("collection").to_pylist()) == {"col"}


def test_anonymous_serving(tmp_path: Path, collection_path: Path) -> None:
    config = ServeConfig(collection=collection_path, allow_anonymous=True, reload_interval_s=0)
    with pytest.raises(ragkit.AccessError, match="API keys"):
        ServeState(config).start()
    with pytest.raises(ragkit.ConfigError, match="fusion"):  # an unknown fusion name fails at start, not per request
        ServeState(dataclasses.replace(config, fusion="max")).start()
    open_path = build(tmp_path / "open", 40, access=False)
    config = ServeConfig(collection=open_path, allow_anonymous=True, reload_interval_s=0, mode="bm25")
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        r = client.post("/v1/search", json={"query": synthetic_queries(1)[0], "k": 3})
        assert r.status_code == 200 and all(set(h["legs"]) == {"bm25"} for h in r.json()["hits"])


def test_serving_a_sharded_collection(tmp_path: Path, keys_file: Path) -> None:
    docs = synthetic_documents(90)
    out = tmp_path / "sharded"
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": d.id, "text": d.text, **d.metadata}) + "\n" for d in docs))
    source = ragkit.pipeline.JsonlSource(corpus, metadata_fields=["tenant", "year", "lang"])
    ragkit.index_corpus(source, out, embedder=HashEmbedder(dimension=32), indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()],
                        shard_docs=30, keep_shards=True, progress=False)
    config = ServeConfig(collection=out, allow_anonymous=True, reload_interval_s=0)
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        info = client.get("/v1/collection").json()
        assert info["sharded"] and info["shards"] == 3 and info["num_documents"] == 90
        r = client.post("/v1/search/batch", json={"queries": QUERIES, "k": 5})
        with ragkit.open_collection(out) as col:
            expected = [[(f"{h.doc_id}#{h.position}", h.score) for h in hits] for hits in HybridRetriever(col).search_batch(QUERIES, 5)]
        assert [_got(h) for h in r.json()["results"]] == expected
