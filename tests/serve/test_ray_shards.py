"""A sharded collection served from Ray actors (a local Ray instance, one worker process per shard) answers
as the local sharded collection does, and reports a shard whose actor is gone or too slow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit import BM25Index, FaissIndex, ShardedCollection
from ragkit.core.errors import ShardUnavailableError
from ragkit.observe import Trace
from ragkit.testing import HashEmbedder

ray = pytest.importorskip("ray", reason="serving shards on Ray needs the 'ray' extra: pip install 'ragkit[ray]'")

from ragkit.serve import RayShardedCollection  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

QUERIES = ["cats and dogs", "animals that fly or swim", "legs", "purr sleep day", "unknownword"]
ACTORS = {"num_cpus": 0.25}  # four shard actors on a 2-CPU test instance


@pytest.fixture(scope="module")
def sharded_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ray-shards")
    rng = np.random.default_rng(3)
    words = np.array(["cat", "dog", "bird", "fish", "snake", "horse", "fly", "swim", "legs", "purr", "sleep", "day",
                      "bark", "sing", "nest", "gills", "river", "ocean"])
    corpus = root / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": " ".join(rng.choice(words, size=int(rng.integers(3, 40)))),
                                          "group": "even" if i % 2 == 0 else "odd"}) + "\n" for i in range(64)))
    ragkit.index_corpus(ragkit.pipeline.JsonlSource(corpus, metadata_fields=["group"]), root / "sharded",
                        chunker=ragkit.RecursiveChunker(max_tokens=12, overlap=0, tokenizer="regex"),
                        embedder=HashEmbedder(dimension=16), indexes=[FaissIndex(), BM25Index()], shard_docs=16,
                        keep_shards=True, progress=False)
    return root / "sharded"


def ranked(hits: list[list[ragkit.Hit]]) -> list[list[tuple[int, str, dict[str, int | None]]]]:
    return [[(h.chunk_row, h.text, {n: s.rank for n, s in h.legs.items()}) for h in q] for q in hits]


def test_ray_served_shards_answer_as_the_local_sharded_collection(sharded_path: Path, local_ray: None) -> None:
    local = ShardedCollection.open(sharded_path)
    with RayShardedCollection.open(sharded_path, actor_options=ACTORS) as served:
        assert len(served.actors) == len(local.shards) == 4 and served.num_chunks == local.num_chunks
        assert not served.shards[0].indexes  # this process holds no index: the actors do
        for retriever in (ragkit.DenseRetriever, ragkit.BM25Retriever, ragkit.HybridRetriever):
            for options in ({}, {"filters": {"group": "odd"}}):
                a = retriever(local).search_batch(QUERIES, k=9, **options)  # type: ignore[arg-type]
                b = retriever(served).search_batch(QUERIES, k=9, **options)  # type: ignore[arg-type]
                assert ranked(a) == ranked(b), (retriever.__name__, options)
                np.testing.assert_allclose([h.score for q in a for h in q], [h.score for q in b for h in q], rtol=1e-12)
        for scope in ("chunk", "document"):  # document-level BM25 from the chunk postings, corpus-wide statistics
            a = ragkit.BM25Retriever(local, scope=scope).search_batch(QUERIES, k=6)  # type: ignore[arg-type]
            b = ragkit.BM25Retriever(served, scope=scope).search_batch(QUERIES, k=6)  # type: ignore[arg-type]
            assert ranked(a) == ranked(b), scope
        rows = np.array([0, 5, served.num_rows - 1])
        np.testing.assert_array_equal(served.index("vector").row_vectors(rows), local.index("vector").row_vectors(rows))
        assert served.failures() == {}
    local.close()


def test_a_killed_actor_is_reported_never_silently_missing(sharded_path: Path, local_ray: None) -> None:
    local = ShardedCollection.open(sharded_path)
    with RayShardedCollection.open(sharded_path, actor_options=ACTORS, timeout_s=20) as served:
        ray.kill(served.actors[1])
        with pytest.raises(ShardUnavailableError, match="1 of 4 shards") as caught:
            ragkit.BM25Retriever(served, scope="chunk").search("cats and dogs", k=5)
        assert list(caught.value.failures) == [served.index("bm25").names[1]]
        assert "actor" in caught.value.failures[served.index("bm25").names[1]]
    with RayShardedCollection.open(sharded_path, actor_options=ACTORS, timeout_s=20, partial=True) as served:
        ray.kill(served.actors[1])
        trace = Trace()
        hits = ragkit.BM25Retriever(served, scope="chunk").search("cats and dogs", k=40, trace=trace)
        lost = range(int(served.offsets[1]), int(served.offsets[2]))
        expected = [h for h in ragkit.BM25Retriever(local, scope="chunk").search("cats and dogs", k=200)
                    if h.chunk_row not in lost][:40]
        assert [h.chunk_row for h in hits] == [h.chunk_row for h in expected]  # the other shards' results, exact
        assert served.failures() == {"bm25": {served.index("bm25").names[1]: "actor died"}}
        assert "partial bm25 results" in json.dumps(trace.to_dict())
    local.close()


def test_a_shard_that_does_not_answer_in_time_is_reported(sharded_path: Path, local_ray: None) -> None:
    with RayShardedCollection.open(sharded_path, actor_options=ACTORS, timeout_s=1e-6) as served, \
            pytest.raises(ShardUnavailableError, match="did not answer within"):
        ragkit.DenseRetriever(served).search("cats", k=3)


def test_bad_arguments_get_clear_errors(sharded_path: Path, local_ray: None) -> None:
    with pytest.raises(ragkit.InputError, match="timeout_s"):
        RayShardedCollection.open(sharded_path, timeout_s=0)
    with pytest.raises(ShardUnavailableError, match="did not start within"):  # cannot be placed: asks for 64 CPUs
        RayShardedCollection.open(sharded_path, actor_options={"num_cpus": 64}, startup_timeout_s=3)


def test_ragkit_serve_answers_from_ray_actors_and_names_a_lost_shard(sharded_path: Path, local_ray: None) -> None:
    import httpx

    from ragkit.serve import ServeConfig, ServeLimits

    from .conftest import running

    local = ShardedCollection.open(sharded_path)
    config = ServeConfig(collection=sharded_path, allow_anonymous=True, reload_interval_s=0, ray_address="local",
                         limits=ServeLimits(timeout_s=20.0))
    with running(config) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        served = srv.state.holder.current.collection
        assert isinstance(served, RayShardedCollection) and len(served.actors) == 4
        r = client.post("/v1/search/batch", json={"queries": QUERIES, "k": 5})
        assert r.status_code == 200, r.text
        expected = ragkit.HybridRetriever(local).search_batch(QUERIES, k=5)
        assert [[h["row"] for h in q] for q in r.json()["results"]] == [[h.chunk_row for h in q] for q in expected]
        ray.kill(served.actors[2])
        r = client.post("/v1/search", json={"query": QUERIES[0], "k": 5})
        assert r.status_code == 503 and r.json()["error"] == "shard_unavailable", r.text
        assert served.index("bm25").names[2] in r.json()["detail"]
    local.close()
