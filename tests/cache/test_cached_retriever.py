from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import ragkit
from ragkit import BM25Retriever, DenseRetriever, HybridRetriever
from ragkit.cache import CachedRetriever, SemanticCache
from ragkit.observe import Metrics, ObservedRetriever, QueryLog, read_log
from ragkit.testing import HashEmbedder

HYBRID_STAGES = ["filter", "bm25.tokenize", "bm25.search", "dense.embed", "dense.search", "complete", "fusion", "hits"]


def add_document(collection: ragkit.Collection, doc_id: str, text: str) -> int:
    """Append one chunk to the chunk table and both indexes (what a collection update does); returns its row."""
    row = collection.chunks.slice(0, 1).to_pylist()[0]
    row.update(doc_id=doc_id, text=text, start=0, end=len(text), position=0)
    collection.chunks = pa.concat_tables([collection.chunks, pa.Table.from_pylist([row], schema=collection.chunks.schema)])
    collection.index("bm25").add([text])
    assert collection.embedder is not None
    new = collection.index(collection.index_of_kind("vector")).add(collection.embedder.embed_documents([text]))
    return int(new[0])


def test_repeats_are_served_from_the_cache_unchanged(animal_collection: ragkit.Collection) -> None:
    cached = CachedRetriever(HybridRetriever(animal_collection))
    first = cached.search("cats purr content", k=3)
    assert cached.last_sources == ["miss"]
    again = cached.search("cats purr content", k=3)
    assert cached.last_sources == ["exact"] and again == first
    fewer = cached.search("cats purr content", k=2)
    assert cached.last_sources == ["exact"] and fewer == first[:2]
    cached.search("cats purr content", k=4)
    assert cached.last_sources == ["miss"]  # more results than stored


def test_near_duplicates_are_served_when_similar_enough(animal_collection: ragkit.Collection) -> None:
    cached = CachedRetriever(HybridRetriever(animal_collection), SemanticCache(threshold=0.99))
    first = cached.search("Cats purr content", k=3)
    same_words = cached.search("cats, purr content?", k=3)  # the fake embedder ignores case and punctuation
    assert cached.last_sources == ["semantic"] and same_words == first
    cached.search("dogs bark at strangers", k=3)
    assert cached.last_sources == ["miss"]


def test_batch_mixes_hits_and_misses_in_order(animal_collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(animal_collection)
    cached = CachedRetriever(retriever)
    cached.search("fish gills", k=2)
    queries = ["birds sing", "fish gills", "horse sleeping"]
    results = cached.search_batch(queries, k=2)
    assert cached.last_sources == ["miss", "exact", "miss"]
    assert results == retriever.search_batch(queries, k=2)


def test_adding_a_document_invalidates(animal_collection: ragkit.Collection) -> None:
    retriever = BM25Retriever(animal_collection)
    cached = CachedRetriever(retriever)
    before = cached.search("zebra stripes", k=3)
    assert before == [] and cached.last_sources == ["miss"]
    assert cached.search("zebra stripes", k=3) == [] and cached.last_sources == ["exact"]
    generation = retriever.generation
    row = add_document(animal_collection, "zebras", "Zebra stripes confuse biting flies.")
    assert retriever.generation != generation
    after = cached.search("zebra stripes", k=3)
    assert cached.last_sources == ["miss"] and [h.chunk_row for h in after] == [row]
    assert cached.cache.stats()["invalidations"] == 1


def test_adding_vectors_invalidates_dense_and_hybrid(animal_collection: ragkit.Collection) -> None:
    for retriever in (DenseRetriever(animal_collection), HybridRetriever(animal_collection)):
        cached = CachedRetriever(retriever)
        cached.search("giraffe long neck", k=1)
        cached.search("giraffe long neck", k=1)
        assert cached.last_sources == ["exact"]
    dense, hybrid = CachedRetriever(DenseRetriever(animal_collection)), CachedRetriever(HybridRetriever(animal_collection))
    dense.search("giraffe long neck", k=1)
    hybrid.search("giraffe long neck", k=1)
    row = add_document(animal_collection, "giraffes", "giraffe long neck")
    assert [h.chunk_row for h in dense.search("giraffe long neck", k=1)] == [row] and dense.last_sources == ["miss"]
    assert [h.chunk_row for h in hybrid.search("giraffe long neck", k=1)] == [row] and hybrid.last_sources == ["miss"]


def test_deleting_rows_invalidates(animal_collection: ragkit.Collection) -> None:
    cached = CachedRetriever(HybridRetriever(animal_collection))
    top = cached.search("snakes venomous", k=3)[0]
    cached.search("snakes venomous", k=3)
    assert cached.last_sources == ["exact"]
    for name in animal_collection.indexes:
        animal_collection.index(name).delete([top.chunk_row])
    after = cached.search("snakes venomous", k=3)
    assert cached.last_sources == ["miss"] and top.chunk_row not in [h.chunk_row for h in after]


def test_a_shared_cache_never_crosses_principals(animal_collection: ragkit.Collection) -> None:
    shared = SemanticCache(threshold=0.5)
    retriever = HybridRetriever(animal_collection)
    alice = CachedRetriever(retriever, shared, principal="alice")
    bob = CachedRetriever(retriever, shared, principal="bob")
    anyone = CachedRetriever(retriever, shared)
    alice.search("cats purr", k=3, filters={"kind": "mammal"})
    alice.search("cats purr", k=3, filters={"kind": "mammal"})
    assert alice.last_sources == ["exact"]
    for other in (bob, anyone):
        other.search("cats purr", k=3, filters={"kind": "mammal"})
        assert other.last_sources == ["miss"]
        other.search("cats purr!", k=3, filters={"kind": "mammal"})  # a near duplicate of its own entry only
        assert other.last_sources == ["semantic"]
    assert shared.stats()["size"] == 5  # alice: 1 entry; bob and None: an entry and an alias each


def test_principal_is_always_the_bound_one(animal_collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(animal_collection)
    bound = retriever.bind(ragkit.Principal("carol", groups=["staff"]))
    assert CachedRetriever(bound).principal == ragkit.Principal("carol", groups=["staff"])
    assert CachedRetriever(bound, principal="dave").principal == ragkit.Principal("carol", groups=["staff"])
    assert CachedRetriever(bound, principal="dave").partition == "dave"


def test_without_an_embedder_only_exact_repeats_hit(animal_collection: ragkit.Collection) -> None:
    collection = ragkit.Collection(animal_collection.chunks, {"bm25": animal_collection.index("bm25")})
    cached = CachedRetriever(BM25Retriever(collection))
    cached.search("dogs bark", k=2)
    cached.search("Dogs bark", k=2)
    assert cached.last_sources == ["miss"]
    cached.search("dogs bark", k=2)
    assert cached.last_sources == ["exact"]
    assert cached.cache.stats()["misses"] == 2


def test_bad_input_is_refused(animal_collection: ragkit.Collection) -> None:
    cached = CachedRetriever(HybridRetriever(animal_collection))
    with pytest.raises(ragkit.InputError):
        cached.search("   ")
    with pytest.raises(ragkit.InputError):
        cached.search("cats", k=0)
    with pytest.raises(ragkit.InputError, match="JSON"):
        cached.search("cats", filters={"legs": {"$in": {1, 2}}})
    with pytest.raises(ragkit.InputError, match="hashable"):
        CachedRetriever(HybridRetriever(animal_collection), principal=["x"]).search("cats")

    class NoGeneration:
        def search_batch(self, queries: list[str], k: int = 10, filters: object = None) -> list[list[ragkit.Hit]]:
            return [[] for _ in queries]

    with pytest.raises(ragkit.ConfigError, match="'generation'"):
        CachedRetriever(NoGeneration())


def test_each_query_is_embedded_once(animal_collection: ragkit.Collection) -> None:
    embedder = animal_collection.embedder
    assert isinstance(embedder, HashEmbedder)
    cached = CachedRetriever(HybridRetriever(animal_collection), SemanticCache(threshold=0.99))
    before = embedder.calls
    cached.search_batch(["birds sing", "fish gills"], k=2)  # two misses: embedded by the cache, reused by the retriever
    assert embedder.calls - before == 2
    cached.search("birds sing", k=2)  # exact: no embedding
    assert embedder.calls - before == 2
    cached.search("Birds sing!", k=2)  # near duplicate: one embedding for the lookup
    assert cached.last_sources == ["semantic"] and embedder.calls - before == 3


def test_precomputed_query_vectors_give_the_same_results(animal_collection: ragkit.Collection) -> None:
    assert animal_collection.embedder is not None
    queries = ["horse sleeping", "snakes"]
    vectors = animal_collection.embedder.embed_queries(queries)
    for retriever in (HybridRetriever(animal_collection), DenseRetriever(animal_collection)):
        assert retriever.search_batch(queries, k=3, query_vectors=vectors) == retriever.search_batch(queries, k=3)
        with pytest.raises(ragkit.InputError, match=r"query_vectors has shape \(1, 32\) for 2 queries"):
            retriever.search_batch(queries, k=3, query_vectors=vectors[:1])


def test_observed_cached_retriever_traces_and_logs_hits_and_misses(animal_collection: ragkit.Collection, tmp_path: Path) -> None:
    metrics = Metrics()
    with QueryLog(tmp_path) as log:
        observed = ObservedRetriever(CachedRetriever(HybridRetriever(animal_collection)), metrics=metrics, query_log=log)
        first = observed.search("dogs bark", k=2)
        miss_trace = observed.last_trace
        second = observed.search("dogs bark", k=2)
        hit_trace = observed.last_trace
    assert first == second
    assert miss_trace is not None and hit_trace is not None and miss_trace is not hit_trace
    assert [s.name for s in miss_trace.stages] == ["cache.lookup", *HYBRID_STAGES, "cache.store"]
    assert [s.name for s in hit_trace.stages] == ["cache.lookup"] and not hit_trace.legs
    for trace in (miss_trace, hit_trace):
        assert trace.total is not None and sum(s.seconds for s in trace.stages) == pytest.approx(trace.total, rel=0.05, abs=2e-4)
    table = read_log(tmp_path)
    assert table.column("retriever").to_pylist() == ["cached-hybrid", "cached-hybrid"]
    assert [len(legs) for legs in table.column("legs").to_pylist()] == [2, 0]  # a hit searched no leg
    assert table.column("doc_ids")[0].as_py() == table.column("doc_ids")[1].as_py()
    assert metrics.counter("searches_total", collection="default") == 2


def test_a_batch_with_hits_logs_no_misaligned_legs(animal_collection: ragkit.Collection, tmp_path: Path) -> None:
    with QueryLog(tmp_path) as log:
        observed = ObservedRetriever(CachedRetriever(HybridRetriever(animal_collection, fusion="rrf")), query_log=log)
        observed.search("fish gills", k=2)
        observed.search_batch(["birds sing", "fish gills"], k=2)
    rows = read_log(tmp_path).to_pylist()
    assert [len(r["legs"]) for r in rows] == [2, 0, 0]
    assert rows[1]["doc_ids"][0] == "birds" and rows[2]["doc_ids"][0] == "fish"


def test_a_revoked_group_is_never_served_from_the_cache(animal_collection: ragkit.Collection) -> None:
    animal_collection.set_access_field("tags")
    shared = SemanticCache(threshold=0.5)
    before = CachedRetriever(HybridRetriever(animal_collection), shared, principal="alice")
    with_wild = before.bind(ragkit.Principal("alice", groups=["pet", "wild"]))
    wide = with_wild.search("snakes birds fish", k=10)
    assert {h.doc_id for h in wide} & {"snakes", "birds"}
    revoked = before.bind(ragkit.Principal("alice", groups=["pet"]))  # same id, same explicit principal, one group less
    narrow = revoked.search("snakes birds fish", k=10)
    assert revoked.last_sources == ["miss"]
    assert not {h.doc_id for h in narrow} & {"snakes", "birds"}
    revoked.search("snakes birds fish!", k=10)  # a near duplicate: still only its own binding's entries
    assert revoked.last_sources == ["semantic"]


def test_two_bindings_under_one_explicit_principal_never_share(animal_collection: ragkit.Collection) -> None:
    animal_collection.set_access_field("tags")
    shared = SemanticCache()
    hybrid = HybridRetriever(animal_collection)
    farm = CachedRetriever(hybrid.bind(ragkit.Principal("u1", groups=["farm"])), shared, principal="tenant-a")
    wild = CachedRetriever(hybrid.bind(ragkit.Principal("u2", groups=["wild"])), shared, principal="tenant-a")
    a, b = farm.search("horses snakes", k=5), wild.search("horses snakes", k=5)
    assert wild.last_sources == ["miss"] and {h.doc_id for h in a} == {"horses"} and "horses" not in {h.doc_id for h in b}


def test_the_default_cache_serves_exact_repeats_only(animal_collection: ragkit.Collection) -> None:
    cached = CachedRetriever(HybridRetriever(animal_collection))
    assert cached.cache.threshold is None
    cached.search("cats purr", k=3)
    cached.search("cats purr!", k=3)
    assert cached.last_sources == ["miss"]
    cached.search("cats purr", k=3)
    assert cached.last_sources == ["exact"]
