"""A sharded collection served from a Ray cluster: each shard's indexes live in a Ray actor.

:class:`RayShardedCollection` is a :class:`~ragkit.store.ShardedCollection` whose indexes
are :class:`~ragkit.store.ShardedIndex` objects over :class:`RemoteIndex` parts. So the one
search planner, every retriever and stage, filters, access control and the corpus-wide BM25
statistics work unchanged, and the per-shard top-k lists are merged by the same kernel as
local shards (:func:`ragkit.core.topk.merge_top_k`): the results are those of the local
sharded collection.

What lives where:

- **each actor** (one per shard, placed by Ray, spread over the nodes by default) opens its
  shard's collection from the shared path (a network file system, or the same folder on each
  node) and holds its vector and BM25 indexes: the memory that grows with the corpus;
- **this process** holds only the shards' chunk tables (memory-mapped) and row states, for
  hits, filters and access masks, and the query model: queries are embedded once here and
  the vectors sent to every actor.

A shard whose actor dies, fails or does not answer within ``timeout_s`` is reported: the
search raises :class:`~ragkit.core.errors.ShardUnavailableError` naming it, or, opened with
``partial=True``, returns the other shards' results and records the failure
(:meth:`RayShardedCollection.failures`, and a ``shards`` note on a trace).

    >>> import ray, ragkit                                                # doctest: +SKIP
    >>> from ragkit.serve import RayShardedCollection
    >>> ray.init(address="auto")                                          # an existing cluster
    >>> with RayShardedCollection.open("/mnt/shared/indexes/big") as col:
    ...     ragkit.HybridRetriever(col).search("global bm25 statistics", k=5)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.core.errors import IndexFormatError, InputError, MissingDependencyError, ShardUnavailableError
from ragkit.core.results import Candidates
from ragkit.core.rowsets import as_row_ids
from ragkit.index.bm25 import CorpusStats, warm_kernels
from ragkit.store import Collection
from ragkit.store.layout import combine_stats
from ragkit.store.sharded import ShardedCollection
from ragkit.store.sharded_index import ShardedIndex

__all__ = ["RayShardedCollection", "RemoteIndex", "ShardServer", "ray_opener"]

#: Ray options of each shard actor unless given: half a CPU reserved each (an actor waits for queries most of the
#: time; FAISS and numpy use the node's cores while it searches), spread over the cluster's nodes.
DEFAULT_ACTOR_OPTIONS: dict[str, Any] = {"num_cpus": 0.5, "scheduling_strategy": "SPREAD"}


class ShardServer:
    """What one shard's Ray actor runs: the shard's collection, opened from ``path``, and its indexes.

    Index names are the collection's; document-level BM25 views made by :meth:`grouped` get
    names of their own. Corpus-wide BM25 statistics are sent once per statistics object
    (:meth:`set_stats`) and used by every later BM25 search of that index.
    """

    def __init__(self, path: str, verify: bool = True) -> None:
        self.collection = Collection.open(path, verify=verify)
        self.views: dict[str, Any] = {}
        self.stats: dict[str, CorpusStats] = {}
        if any(index.kind == "bm25" for index in self.collection.indexes.values()):
            warm_kernels()  # a long-lived process: the compiled BM25 path from the first query

    def _index(self, name: str) -> Any:
        return self.views[name] if name in self.views else self.collection.index(name)

    def describe(self) -> dict[str, Any]:
        """Each index's kind, generation and (vector indexes) dimension; the shard's row count."""
        out: dict[str, Any] = {"rows": self.collection.num_rows, "indexes": {}}
        for name, index in self.collection.indexes.items():
            out["indexes"][name] = {"kind": index.kind, "generation": int(index.generation),
                                    "dimension": int(getattr(index, "dimension", 0) or 0)}
        return out

    def statistics(self, name: str) -> tuple[Any, int, int]:
        """The BM25 statistics of index ``name`` as ``(Arrow table, documents, total length)``."""
        stats: CorpusStats = self._index(name).statistics()
        return stats.to_table(), stats.n_docs, stats.total_len

    def set_stats(self, name: str, table: Any, n_docs: int, total_len: int) -> None:
        self.stats[name] = CorpusStats.from_table(table, n_docs, total_len)

    def search_rows(self, name: str, queries: Any, k: int, allowed: np.ndarray | None,
                    use_stats: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        index = self._index(name)
        if use_stats:
            found = index.search_rows(queries, k, allowed, stats=self.stats[name])
        else:
            found = index.search_rows(queries, k, allowed)
        return [(c.rows, c.scores) for c in found]

    def score_rows(self, name: str, queries: Any, rows: list[np.ndarray], use_stats: bool) -> list[np.ndarray]:
        index = self._index(name)
        return list(index.score_rows(queries, rows, stats=self.stats[name]) if use_stats else index.score_rows(queries, rows))

    def grouped(self, name: str, groups: np.ndarray, n_groups: int) -> str:
        """Make the document-level view of BM25 index ``name``; returns the view's name."""
        view = f"{name}/documents/{len(self.views)}"
        self.views[view] = self._index(name).grouped(groups, n_groups)
        return view

    def alive(self, name: str) -> np.ndarray:
        return np.asarray(self._index(name).alive)

    def row_vectors(self, name: str, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self._index(name).row_vectors(rows))

    def get_config(self, name: str) -> dict[str, Any]:
        return dict(self._index(name).get_config())

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self.collection.close()


class RemoteIndex:
    """One shard's index held by a :class:`ShardServer` actor, with the search interface of a local index.

    Every call waits at most ``timeout_s``; an actor that died, failed or did not answer in
    time raises :class:`ShardUnavailableError` naming the shard (``shard``).
    """

    remote = True  # ShardedIndex searches remote parts concurrently

    def __init__(self, actor: Any, name: str, kind: str, shard: str, timeout_s: float, info: Mapping[str, Any],
                 num_rows: int, alive: np.ndarray | None = None) -> None:
        self.actor, self.name, self.kind, self.shard, self.timeout_s = actor, name, kind, shard, timeout_s
        self.generation = int(info.get("generation", 0))
        self.dimension = int(info.get("dimension", 0))
        self.num_rows = num_rows
        self._alive = alive  # the served version never changes: its row states are read once
        self._sent: CorpusStats | None = None
        self._lock = threading.Lock()

    def _call(self, method: str, *args: Any) -> Any:
        import ray

        try:
            return ray.get(getattr(self.actor, method).remote(*args), timeout=self.timeout_s)
        except ray.exceptions.GetTimeoutError as exc:
            raise ShardUnavailableError(f"{self.shard} did not answer within {self.timeout_s:g} s",
                                        {self.shard: "timeout"}) from exc
        except ray.exceptions.RayActorError as exc:
            raise ShardUnavailableError(f"{self.shard}'s actor is gone ({type(exc).__name__})",
                                        {self.shard: "actor died"}) from exc
        except ray.exceptions.RayTaskError as exc:
            raise ShardUnavailableError(f"{self.shard} failed: {exc.cause!r}", {self.shard: "failed"}) from exc

    def search_rows(self, queries: Any, k: int, allowed: np.ndarray | None = None, *, stats: CorpusStats | None = None,
                    trace: Any = None) -> list[Candidates]:
        self._send_stats(stats)
        found = self._call("search_rows", self.name, queries, k, allowed, stats is not None)
        return [Candidates(np.asarray(rows, dtype=np.int64), np.asarray(scores, dtype=np.float64)) for rows, scores in found]

    def score_rows(self, queries: Any, rows: Sequence[np.ndarray], *, stats: CorpusStats | None = None) -> list[np.ndarray]:
        self._send_stats(stats)
        return self._call("score_rows", self.name, queries, [np.asarray(r) for r in rows], stats is not None)  # type: ignore[no-any-return]

    def _send_stats(self, stats: CorpusStats | None) -> None:
        if stats is not None:
            with self._lock:
                if stats is not self._sent:  # the statistics travel once, then only their use is flagged
                    self._call("set_stats", self.name, stats.to_table(), stats.n_docs, stats.total_len)
                    self._sent = stats

    def statistics(self) -> CorpusStats:
        table, n_docs, total_len = self._call("statistics", self.name)
        return CorpusStats.from_table(table, n_docs, total_len)

    def grouped(self, groups: np.ndarray, n_groups: int) -> RemoteIndex:
        view = self._call("grouped", self.name, np.asarray(groups), int(n_groups))
        return RemoteIndex(self.actor, view, self.kind, self.shard, self.timeout_s,
                           {"generation": self.generation}, int(n_groups))

    @property
    def alive(self) -> np.ndarray:
        if self._alive is None:
            self._alive = np.asarray(self._call("alive", self.name), dtype=bool)
        return self._alive

    def row_vectors(self, rows: np.ndarray) -> np.ndarray:
        return self._call("row_vectors", self.name, as_row_ids(rows, "read the vectors of"))  # type: ignore[no-any-return]

    def get_config(self) -> dict[str, Any]:
        return self._call("get_config", self.name)  # type: ignore[no-any-return]


class RayShardedCollection(ShardedCollection):
    """A sharded collection whose shard indexes are held by Ray actors (see the module docs).

    Read-only, like every sharded collection; :meth:`close` releases the shards and stops the actors.
    """

    def __init__(self, *args: Any, actors: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actors = list(actors)

    @classmethod
    def open(cls, path: str | Path, *, timeout_s: float = 30.0, partial: bool = False,  # type: ignore[override]
             actor_options: Mapping[str, Any] | None = None, startup_timeout_s: float = 120.0, verify: bool = True,
             **options: Any) -> RayShardedCollection:
        """Start one actor per shard of the sharded collection at ``path`` and serve it.

        Ray must be initialised (``ray.init(...)``, e.g. ``address="auto"`` on a cluster); ``path``
        must be readable at the same place by every node. ``timeout_s``: the longest a shard
        may take to answer one call. ``partial``: return the other shards' results when some
        fail (reported) instead of raising. ``actor_options``: Ray options of each actor
        (default :data:`DEFAULT_ACTOR_OPTIONS`). ``options`` go to :meth:`Collection.open` of
        the local chunk tables (``embedder``).

        Raises:
            MissingDependencyError: Ray is not installed, or not initialised.
            ShardUnavailableError: an actor could not be placed or failed to open its shard.
            IndexFormatError: the shards disagree on their indexes.
        """
        try:
            import ray
        except ImportError as exc:
            raise MissingDependencyError("Serving shards on Ray needs the 'ray' extra: pip install 'ragkit[ray]'.") from exc
        if not ray.is_initialized():
            raise MissingDependencyError("RayShardedCollection.open needs a running Ray: call ray.init(...) first.")
        if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
            raise InputError(f"RayShardedCollection.open: 'timeout_s' must be a positive number of seconds, got {timeout_s!r}.")
        opened = cls.open_shards(path, verify=verify, load_indexes=False, **options)
        actors: list[Any] = []
        try:
            server = ray.remote(ShardServer)
            opts = dict(DEFAULT_ACTOR_OPTIONS if actor_options is None else actor_options)
            actors = [server.options(**opts).remote(str(opened.root / name), verify) for name in opened.names]
            described = _describe_all(ray, actors, opened.names, startup_timeout_s)
            indexes = _sharded_indexes(actors, opened.names, described, [s.alive for s in opened.shards],
                                       opened.stats, opened.bm25_index,
                                       ShardedCollection.row_offsets(opened.shards), float(timeout_s), partial)
            return cls(opened.root, opened.shards, opened.stats, opened.bm25_index, indexes, actors=actors)
        except BaseException:
            for actor in actors:
                ray.kill(actor)
            for shard in opened.shards:
                shard.close()
            raise

    def failures(self) -> dict[str, dict[str, str]]:
        """The shards each index's last search went without (partial results), per index."""
        return {name: dict(index.last_failures) for name, index in self.indexes.items() if index.last_failures}

    def close(self) -> None:
        """Release the shards' chunk tables and stop the actors."""
        super().close()
        if self.actors:
            import ray

            for actor in self.actors:
                ray.kill(actor)
            self.actors = []

    def __repr__(self) -> str:
        return (f"RayShardedCollection(shards={len(self.shards)}, chunks={self.num_chunks}, "
                f"indexes={sorted(self.indexes)})")


def _describe_all(ray: Any, actors: list[Any], names: list[str], timeout_s: float) -> list[dict[str, Any]]:
    refs = [actor.describe.remote() for actor in actors]
    _ready, waiting = ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
    if waiting:
        late = [names[refs.index(r)] for r in waiting]
        raise ShardUnavailableError(
            f"{len(late)} shard actor(s) did not start within {timeout_s:g} s ({', '.join(late[:5])}); the cluster has "
            f"{ray.cluster_resources().get('CPU', 0):g} CPUs for {len(actors)} actors: pass actor_options "
            "(e.g. {'num_cpus': 0.5}) or add nodes.", dict.fromkeys(late, "not started"))
    described = []
    for name, ref in zip(names, refs, strict=True):
        try:
            described.append(ray.get(ref))
        except ray.exceptions.RayError as exc:
            raise ShardUnavailableError(f"{name}: its actor could not open the shard ({exc})", {name: "failed"}) from exc
    return described


def _sharded_indexes(actors: list[Any], names: list[str], described: list[dict[str, Any]], alive: list[np.ndarray],
                     stats: CorpusStats | None, bm25_index: str | None, offsets: np.ndarray, timeout_s: float,
                     partial: bool) -> dict[str, ShardedIndex]:
    first = described[0]["indexes"]
    for name, info in zip(names, described, strict=True):
        if {n: i["kind"] for n, i in info["indexes"].items()} != {n: i["kind"] for n, i in first.items()}:
            raise IndexFormatError(f"{name} has indexes {sorted(info['indexes'])}, {names[0]} has {sorted(first)}.")
    out = {}
    for index_name, info in first.items():
        parts = [RemoteIndex(actor, index_name, info["kind"], shard, timeout_s, d["indexes"][index_name], int(d["rows"]),
                             alive=shard_alive)
                 for actor, shard, d, shard_alive in zip(actors, names, described, alive, strict=True)]
        use_stats = stats if info["kind"] == "bm25" and index_name == bm25_index else None
        if info["kind"] == "bm25" and use_stats is None:
            use_stats = combine_stats([p.statistics() for p in parts])
        out[index_name] = ShardedIndex(info["kind"], parts, offsets, use_stats, names=names, partial=partial)  # type: ignore[arg-type]
    return out


def ray_opener(config: Any) -> Any:
    """The collection opener of ``ragkit serve`` for ``config.ray_address`` (``None`` when Ray is not asked for).

    Joins (or, for ``"local"``, starts) Ray once, then opens each version as a
    :class:`RayShardedCollection` whose calls wait at most the request timeout.
    """
    address = getattr(config, "ray_address", None)
    if address is None:
        return None

    def open_on_ray(path: Path, **options: Any) -> RayShardedCollection:
        try:
            import ray
        except ImportError as exc:
            raise MissingDependencyError("Serving shards on Ray needs the 'ray' extra: pip install 'ragkit[ray]'.") from exc
        if not ray.is_initialized():
            ray.init(**({} if address == "local" else {"address": address}), include_dashboard=False, log_to_driver=False)
        return RayShardedCollection.open(path, timeout_s=float(config.limits.timeout_s), **options)

    return open_on_ray
