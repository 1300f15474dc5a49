"""``index_corpus``: stream a corpus of any size into a collection, shard by shard, resumably.

Each shard of ``shard_docs`` documents is read, chunked, embedded and written as one
Arrow file (atomically) before the next; a JSON ledger records completed shards. Memory
holds one shard (plus the one being prepared in the background) however large the
corpus. With ``resume=True`` a re-run skips the shards the ledger lists and produces the
same collection as an uninterrupted run. Completed shards then become the output: one
collection (``keep_shards=False``) or a sharded collection searched as one. What is on disk
at every moment, and how a resumed build tells what was finished (down to "already
complete"), is described in :mod:`ragkit.pipeline.commit`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.errors import ConfigError, EmptyCorpusError
from ragkit.core.protocols import Chunker, Embedder
from ragkit.core.validation import check_choice, check_int
from ragkit.index.building import name_indexes
from ragkit.pipeline.checks import warn_if_truncating
from ragkit.pipeline.commit import MERGED, STAGING, build_summary, drop_record, finish, finished_build, owned_output_names, plan_output
from ragkit.pipeline.encoding import ShardEncoder
from ragkit.pipeline.finalize import merge_shards, write_sharded
from ragkit.pipeline.progress import Progress
from ragkit.pipeline.shard_work import chunk_shard
from ragkit.pipeline.shards import Ledger, fingerprint, write_shard
from ragkit.pipeline.sources import Source, open_source
from ragkit.store.registry import component_config

__all__ = ["BatchConfig", "BuildReport", "index_corpus", "STAGING"]

logger = logging.getLogger(__name__)

ENGINES = ("local", "ray")


@dataclass(frozen=True, kw_only=True)
class BatchConfig:
    """How :func:`index_corpus` runs.

    Args:
        engine: ``"local"`` (this process; one process per GPU when several) or ``"ray"`` (Ray Data,
            locally or on a cluster; ``pip install 'ragkit[ray]'``).
        shard_docs: documents per shard: the unit of memory, of progress saved and of resumption.
        resume: continue the build found in the output folder instead of starting over.
        keep_shards: write a sharded collection (each shard its own collection, searched as one)
            instead of merging into one collection. Memory then stays flat at any corpus size.
        slice_size: texts per embedder call (sorted by length, so batches pad little).
        fp16: half-precision encoding on GPU.
        progress: show a tqdm progress bar.
        keep_staging: keep the shard files after a successful build (they are deleted by default).
        ray_address: Ray cluster address (``None``: the running Ray instance, or a new local one).
        ray_num_cpus: CPUs for a new local Ray instance (``None``: all).
        ray_actors: embedding actors in the Ray pool (``None``: one per GPU, or one per CPU without GPUs).
    """

    engine: str = "local"
    shard_docs: int = 1000
    resume: bool = False
    keep_shards: bool = False
    slice_size: int = 1024
    fp16: bool = True
    progress: bool = True
    keep_staging: bool = False
    ray_address: str | None = None
    ray_num_cpus: int | None = None
    ray_actors: int | None = None

    def __post_init__(self) -> None:
        owner = "BatchConfig"
        check_choice(owner, "engine", self.engine, ENGINES)
        check_int(owner, "shard_docs", self.shard_docs, low=1)
        check_int(owner, "slice_size", self.slice_size, low=1)
        for name in ("resume", "keep_shards", "fp16", "progress", "keep_staging"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"The {name!r} parameter of {owner} must be True or False. Got {getattr(self, name)!r} instead.")
        if self.ray_num_cpus is not None:
            check_int(owner, "ray_num_cpus", self.ray_num_cpus, low=1)
        if self.ray_actors is not None:
            check_int(owner, "ray_actors", self.ray_actors, low=1)


@dataclass
class BuildReport:
    """What a build did; ``seconds`` split into the streaming phase and the final index build."""

    out: Path
    engine: str
    documents: int = 0
    chunks: int = 0
    shards: int = 0
    shards_resumed: int = 0
    stream_seconds: float = 0.0
    finalize_seconds: float = 0.0
    embed_seconds: float = 0.0
    sharded: bool = False
    indexes: list[str] = field(default_factory=list)
    #: ``resume`` found the output already complete (built with these settings): nothing was rebuilt.
    already_complete: bool = False

    @property
    def seconds(self) -> float:
        return self.stream_seconds + self.finalize_seconds

    def summary(self) -> str:
        rate = self.documents / self.seconds if self.seconds else 0.0
        kind = "sharded collection" if self.sharded else "collection"
        if self.already_complete:
            return (f"already complete: {self.out} holds the finished {kind} of this build ({self.chunks} chunks of "
                    f"{self.documents} documents, {self.shards} shards; indexes: {', '.join(self.indexes)}); nothing rebuilt")
        resumed = f" ({self.shards_resumed} resumed from an earlier run)" if self.shards_resumed else ""
        return (f"saved {self.chunks} chunks of {self.documents} documents to {self.out} as a {kind} "
                f"({self.shards} shards{resumed}; indexes: {', '.join(self.indexes)})\n"
                f"  {self.seconds:.1f}s with the {self.engine} engine, {rate:.1f} docs/s: streaming {self.stream_seconds:.1f}s "
                f"(embedding {self.embed_seconds:.1f}s), final indexes and save {self.finalize_seconds:.1f}s")


def index_corpus(source: str | Path | Source, out: str | Path, *, chunker: Chunker | None = None,
                 embedder: Embedder | None = None, indexes: Sequence[Any] | Mapping[str, Any] | None = None,
                 config: BatchConfig | None = None, **options: Any) -> BuildReport:
    """Index a corpus into ``out`` with bounded memory, progress and resumption.

    Args:
        source: a :class:`~ragkit.pipeline.sources.Source`, or a path for :func:`open_source`
            (folder of text/Markdown/HTML, ``.jsonl``, Parquet, BEIR folder).
        out: the output folder (a collection, or a sharded collection with ``keep_shards``).
        chunker / embedder / indexes: as for :func:`~ragkit.build_collection`.
        config: a :class:`BatchConfig`; or give its fields as keyword ``options``.

    Example:
        >>> report = index_corpus("data/scifact", "indexes/scifact", shard_docs=2000, resume=True)  # doctest: +SKIP
        >>> print(report.summary())                                                                # doctest: +SKIP

    With ``resume``, an output this build (same settings) already completed is not rebuilt:
    the report says ``already_complete``.

    Raises:
        ConfigError: invalid options, or ``resume`` over a build made with other settings.
        InputError: an unreadable source or duplicate document ids.
        EmptyCorpusError: the source has no document with text.
        MissingDependencyError: ``engine="ray"`` without Ray installed.
    """
    from ragkit.chunking import RecursiveChunker
    from ragkit.index import BM25Index, FaissIndex

    if config is None:
        config = BatchConfig(**options)
    elif options:
        raise ConfigError(f"index_corpus got both config= and options {sorted(options)}; give one or the other.")
    if config.engine == "ray":
        from ragkit.core.deps import require

        require("ray", extra="ray")
    src = open_source(source) if isinstance(source, (str, Path)) else source
    out = Path(out)
    chunker = chunker if chunker is not None else RecursiveChunker()
    named = name_indexes(indexes if indexes is not None else [FaissIndex("Flat"), BM25Index()])
    needs_vectors = any(idx.kind == "vector" for idx in named.values())
    if needs_vectors and embedder is None:
        from ragkit.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
    if not needs_vectors:
        embedder = None
    settings = {"source": src.describe(), "shard_docs": config.shard_docs, "chunker": component_config(chunker),
                "embedder": component_config(embedder) if embedder is not None else None,
                "indexes": {n: component_config(i) for n, i in named.items()}}
    _check_output(out, config.keep_shards)
    key = fingerprint(settings)
    if config.resume:
        finished = finished_build(out, key, config.keep_shards)
        if finished is not None:
            return _already_complete(out, finished, config, sorted(named))
    ledger = Ledger.start(out / STAGING, key, resume=config.resume)
    drop_record(out)  # from here the output is being rebuilt
    plan = src.plan(config.shard_docs)
    if not plan:
        raise EmptyCorpusError(f"The source {src.describe().get('path', src)} holds no documents.")
    report = BuildReport(out=out, engine=config.engine, shards=len(plan), sharded=config.keep_shards,
                         indexes=sorted(named))
    report.shards_resumed = sum(ledger.done(s["index"]) for s in plan)
    if embedder is not None:
        warn_if_truncating(chunker, embedder)
    progress = Progress(sum(s["docs"] for s in plan), config.progress, f"indexing ({config.engine})")
    for spec in plan:
        if ledger.done(spec["index"]):
            progress.docs(spec["docs"])
            progress.note(chunks=ledger.shards[spec["index"]]["chunks"])
    start = time.perf_counter()
    todo = [s for s in plan if not ledger.done(s["index"])]
    try:
        if config.engine == "ray":
            from ragkit.pipeline.ray_engine import run_shards_on_ray

            run_shards_on_ray(src, todo, ledger, chunker, embedder, config, progress)
        else:
            _run_shards_locally(src, todo, ledger, chunker, embedder, config, progress)
    finally:
        progress.close()
    report.stream_seconds = time.perf_counter() - start
    report.embed_seconds = progress.embed_seconds
    report.documents = sum(int(ledger.shards[s["index"]]["docs"]) for s in plan)
    report.chunks = sum(int(ledger.shards[s["index"]]["chunks"]) for s in plan)
    start = time.perf_counter()
    indices = [s["index"] for s in plan]
    chunker_config = component_config(chunker)
    planned = plan_output(config.keep_shards, indices)
    if ledger.output is None or ledger.output["sharded"] != planned["sharded"] or \
            set(ledger.output["versions"]) != set(planned["versions"]):
        ledger.output = planned  # named before anything is written into the output
        ledger.save()
    versions = ledger.output["versions"]
    if config.keep_shards:
        write_sharded(out, ledger, indices, named, embedder=embedder, chunker_config=chunker_config, versions=versions)
    else:
        merge_shards(ledger, indices, named, embedder=embedder, chunker_config=chunker_config,
                     version=versions[MERGED]).save(out)
    finish(out, ledger, keep_staging=config.keep_staging)
    report.finalize_seconds = time.perf_counter() - start
    logger.info("%s", report.summary())
    return report


def _already_complete(out: Path, ledger: Ledger, config: BatchConfig, indexes: list[str]) -> BuildReport:
    """The report of a resume that found the output complete; finishes what a kill after the commit left undone."""
    finish(out, ledger, keep_staging=config.keep_staging)
    counts = build_summary(ledger)
    report = BuildReport(out=out, engine=config.engine, documents=counts["documents"], chunks=counts["chunks"],
                         shards=counts["shards"], shards_resumed=counts["shards"], sharded=config.keep_shards,
                         indexes=indexes, already_complete=True)
    logger.info("%s", report.summary())
    return report


def _check_output(out: Path, sharded: bool) -> None:
    """Refuse, before any work, an output folder the final save would refuse or mix up."""
    from ragkit.store.folder import check_target
    from ragkit.store.layout import LAYOUT
    from ragkit.store.manifest import MANIFEST

    if out.exists() and not out.is_dir():
        raise ConfigError(f"The output {out} is a file; give a folder path.")
    if sharded:
        if (out / MANIFEST).exists():
            raise ConfigError(f"{out} holds a (merged) collection; write the sharded collection to another folder.")
        if out.is_dir() and not (out / LAYOUT).exists():
            own = owned_output_names(out)  # shard folders of this folder's own unfinished build
            foreign = [p.name for p in out.iterdir() if not p.name.startswith(".") and p.name not in own]
            if foreign:
                raise ConfigError(f"Cannot write a sharded collection to {out}: it holds other files "
                                  f"({', '.join(sorted(foreign)[:5])}). Choose an empty or new folder.")
    else:
        if (out / LAYOUT).exists():
            raise ConfigError(f"{out} holds a sharded collection; write the merged collection to another folder "
                              "(or pass keep_shards=True / --keep-shards).")
        leftovers = sorted(owned_output_names(out)) if out.is_dir() and not (out / MANIFEST).exists() else []
        if leftovers:
            raise ConfigError(f"{out} holds the shard folders of an unfinished sharded build ({', '.join(leftovers[:5])}); "
                              "resume it with keep_shards=True (--keep-shards), or write the merged collection to another folder.")
        check_target(out)


def _run_shards_locally(src: Source, todo: list[dict[str, Any]], ledger: Ledger, chunker: Chunker,
                        embedder: Embedder | None, config: BatchConfig, progress: Progress) -> None:
    """Read and chunk shard ``i + 1`` in a background thread while shard ``i`` is embedded."""

    def prepare(spec: dict[str, Any]) -> tuple[int, pa.Table]:
        documents = src.read(spec)
        return documents.num_rows, chunk_shard(documents, chunker)

    encoder = ShardEncoder(embedder, slice_size=config.slice_size, fp16=config.fp16) if embedder is not None else None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragkit-prepare") as pool:
        pending: Future[tuple[int, pa.Table]] | None = pool.submit(prepare, todo[0]) if todo else None
        for n, spec in enumerate(todo):
            assert pending is not None
            docs, chunks = pending.result()
            pending = pool.submit(prepare, todo[n + 1]) if n + 1 < len(todo) else None
            vectors = _embed(encoder, chunks, progress)
            entry = write_shard(ledger.directory, spec["index"], chunks, vectors)
            ledger.record(spec["index"], {**entry, "docs": docs})
            progress.note(chunks=chunks.num_rows)
            progress.docs(spec["docs"])
    if encoder is not None:
        encoder.close()


def _embed(encoder: ShardEncoder | None, chunks: pa.Table, progress: Progress) -> np.ndarray | None:
    if encoder is None:
        return None
    texts = chunks.column("text").to_pylist()
    last = [time.perf_counter()]

    def tick(n: int) -> None:
        now = time.perf_counter()
        progress.note(embedded=n, seconds=now - last[0])
        last[0] = now

    return encoder.encode(texts, progress=tick)
