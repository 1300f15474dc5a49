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
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.errors import ConfigError, EmptyCorpusError, InputError
from ragkit.core.protocols import Chunker, Embedder
from ragkit.core.validation import as_path, check_choice, check_int
from ragkit.core.wording import count, rate
from ragkit.index.building import name_indexes
from ragkit.pipeline.arguments import check_pieces, check_source
from ragkit.pipeline.checks import warn_if_truncating
from ragkit.pipeline.commit import MERGED, STAGING, build_summary, drop_record, finish, finished_build, owned_output_names, plan_output
from ragkit.pipeline.encoding import ShardEncoder
from ragkit.pipeline.finalize import merge_shards, write_sharded
from ragkit.pipeline.interrupt import BuildInterrupted, prefetch
from ragkit.pipeline.progress import Progress
from ragkit.pipeline.shard_work import chunk_shard
from ragkit.pipeline.shards import Ledger, fingerprint, write_shard
from ragkit.pipeline.sources import Source, open_source, table_skipped
from ragkit.pipeline.vectors import GivenVectors
from ragkit.store.registry import component_config

__all__ = ["BatchConfig", "BuildInterrupted", "BuildReport", "index_corpus", "STAGING"]

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
        strict: any input the source skips (an unsupported or unreadable file, a record without
            text) is an error instead of a line of the report.
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
    strict: bool = False

    def __post_init__(self) -> None:
        owner = "BatchConfig"
        check_choice(owner, "engine", self.engine, ENGINES)
        check_int(owner, "shard_docs", self.shard_docs, low=1)
        check_int(owner, "slice_size", self.slice_size, low=1)
        for name in ("resume", "keep_shards", "fp16", "progress", "keep_staging", "strict"):
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
    #: documents of the shards an earlier run had finished (``resume``); not counted in the rate
    documents_resumed: int = 0
    #: the build embedded chunks (it has a vector index)
    embedded: bool = False
    #: Inputs the source skipped, each ``{"path", "reason", "detail"}`` (see ``ragkit.pipeline.sources.table_skipped``).
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.stream_seconds + self.finalize_seconds

    def summary(self) -> str:
        kind = "sharded collection" if self.sharded else "collection"
        counts = f"{count(self.chunks, 'chunk')} of {count(self.documents, 'document')}"
        if self.already_complete:
            return (f"already complete: {self.out} holds the finished {kind} of this build ({counts}, "
                    f"{count(self.shards, 'shard')}; indexes: {', '.join(self.indexes)}); nothing rebuilt")
        resumed = f" ({self.shards_resumed:,} resumed from an earlier run)" if self.shards_resumed else ""
        built = self.documents - self.documents_resumed
        speed = f", {rate(built / self.seconds)} documents/s" if self.seconds > 0 and built > 0 else ""
        embedding = f" (embedding {self.embed_seconds:.1f}s)" if self.embedded else ""
        return (f"saved {counts} to {self.out} as a {kind} ({count(self.shards, 'shard')}{resumed}; "
                f"indexes: {', '.join(self.indexes)})\n"
                f"  {self.seconds:.1f}s with the {self.engine} engine{speed}: streaming {self.stream_seconds:.1f}s"
                f"{embedding}, final indexes and save {self.finalize_seconds:.1f}s"
                + skipped_summary(self.skipped))

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (``ragkit index --report FILE`` writes it)."""
        from dataclasses import asdict

        return {**asdict(self), "out": str(self.out), "seconds": self.seconds}


def skipped_summary(skipped: list[dict[str, str]], show: int = 20) -> str:
    """Lines telling how many inputs were skipped, why, and which (the first ``show``); "" when none."""
    if not skipped:
        return ""
    reasons: dict[str, int] = {}
    for s in skipped:
        reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
    lines = [f"\n  skipped {len(skipped)} input(s): " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))]
    lines += [f"\n    {s['path']}: {s['reason']}: {s['detail']}" for s in skipped[:show]]
    if len(skipped) > show:
        lines.append(f"\n    ... and {len(skipped) - show} more (the full list: --report FILE / BuildReport.skipped)")
    return "".join(lines)


def index_corpus(source: str | Path | Source, out: str | Path, *, chunker: Chunker | None = None,
                 embedder: Embedder | None = None, indexes: Sequence[Any] | Mapping[str, Any] | None = None,
                 config: BatchConfig | None = None, vectors: Any = None, **options: Any) -> BuildReport:
    """Index a corpus into ``out`` with bounded memory, progress and resumption.

    Args:
        source: a :class:`~ragkit.pipeline.sources.Source`, or a path for :func:`open_source`
            (folder of text/Markdown/HTML, ``.jsonl``, Parquet, BEIR folder).
        out: the output folder (a collection, or a sharded collection with ``keep_shards``).
        chunker / embedder / indexes: as for :func:`~ragkit.build_collection`.
        config: a :class:`BatchConfig`; or give its fields as keyword ``options``.
        vectors: document vectors computed elsewhere instead of embedding (local engine): a mapping
            ``chunk_id -> vector`` or a callable ``f(chunk_ids) -> array``, asked once per shard
            (see :mod:`ragkit.pipeline.vectors`); ``embedder`` then only embeds queries.

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
    elif not isinstance(config, BatchConfig):
        raise ConfigError(f"index_corpus: 'config' must be a BatchConfig or None. Got {type(config).__name__}.")
    elif options:
        raise ConfigError(f"index_corpus got both config= and options {sorted(options)}; give one or the other.")
    if config.engine == "ray":
        from ragkit.core.deps import require

        require("ray", extra="ray")
    check_source("index_corpus", source)
    check_pieces("index_corpus", chunker, embedder)
    src = open_source(source) if isinstance(source, (str, Path)) else source
    out = as_path("index_corpus", out)
    chunker = chunker if chunker is not None else RecursiveChunker()
    named = name_indexes(indexes if indexes is not None else [FaissIndex("Flat"), BM25Index()])
    needs_vectors = any(idx.kind == "vector" for idx in named.values())
    options_embedder = embedder is not None  # given by the caller: its dimension is checked against vectors=
    if needs_vectors and embedder is None:
        from ragkit.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
    if not needs_vectors:
        embedder = None
    given = None
    if vectors is not None:
        if not needs_vectors or config.engine != "local":
            raise ConfigError("index_corpus: vectors= needs a vector index and the local engine.")
        given = GivenVectors(vectors, dimension=embedder.dimension if options_embedder and embedder is not None else None)
    settings = {**({"vectors": "given"} if given is not None else {}),  # builds that embed keep their fingerprint
                "source": src.describe(), "shard_docs": config.shard_docs, "chunker": component_config(chunker),
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
                         indexes=sorted(named), embedded=embedder is not None)
    report.shards_resumed = sum(ledger.done(s["index"]) for s in plan)
    report.documents_resumed = sum(int(s["docs"]) for s in plan if ledger.done(s["index"]))
    if embedder is not None:
        warn_if_truncating(chunker, embedder)
    progress = Progress(sum(s["docs"] for s in plan), config.progress, f"indexing ({config.engine})",
                        initial=report.documents_resumed, vectors=embedder is not None)
    progress.chunks = sum(int(ledger.shards[s["index"]]["chunks"]) for s in plan if ledger.done(s["index"]))
    start = time.perf_counter()
    todo = [s for s in plan if not ledger.done(s["index"])]
    try:
        if config.engine == "ray":
            from ragkit.pipeline.ray_engine import run_shards_on_ray

            run_shards_on_ray(src, todo, ledger, chunker, embedder, config, progress)
        else:
            _run_shards_locally(src, todo, ledger, chunker, given or embedder, config, progress)
    except KeyboardInterrupt:
        progress.close(summary=False)
        done = [s for s in plan if ledger.done(s["index"])]
        raise BuildInterrupted(out, ledger.directory, len(done), len(plan), sum(int(s["docs"]) for s in done),
                               sum(int(s["docs"]) for s in plan)) from None
    finally:
        progress.close()
    report.stream_seconds = time.perf_counter() - start
    report.embed_seconds = progress.embed_seconds
    report.documents = sum(int(ledger.shards[s["index"]]["docs"]) for s in plan)
    report.chunks = sum(int(ledger.shards[s["index"]]["chunks"]) for s in plan)
    report.skipped = [skip for s in plan for skip in ledger.shards[s["index"]].get("skipped", [])]
    if not report.documents:
        raise EmptyCorpusError(f"The source {src.describe().get('path', src)} holds no document with text."
                               + skipped_summary(report.skipped))
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
    logger.debug("%s", report.summary())
    return report


def _already_complete(out: Path, ledger: Ledger, config: BatchConfig, indexes: list[str]) -> BuildReport:
    """The report of a resume that found the output complete; finishes what a kill after the commit left undone."""
    finish(out, ledger, keep_staging=config.keep_staging)
    counts = build_summary(ledger)
    report = BuildReport(out=out, engine=config.engine, documents=counts["documents"], chunks=counts["chunks"],
                         shards=counts["shards"], shards_resumed=counts["shards"], sharded=config.keep_shards,
                         indexes=indexes, already_complete=True,
                         skipped=[skip for _, entry in sorted(ledger.shards.items()) for skip in entry.get("skipped", [])])
    logger.debug("%s", report.summary())
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
                        embedder: Embedder | GivenVectors | None, config: BatchConfig, progress: Progress) -> None:
    """Read and chunk shard ``i + 1`` in a background thread while shard ``i`` is embedded."""

    def prepare(spec: dict[str, Any]) -> tuple[int, pa.Table, list[dict[str, str]]]:
        documents = src.read(spec)
        skipped = table_skipped(documents)
        if skipped and config.strict:
            raise InputError(f"{skipped[0]['path']} was not indexed ({skipped[0]['reason']}): {skipped[0]['detail']}. "
                             f"Without strict (--strict) it is skipped and reported." + skipped_summary(skipped))
        return documents.num_rows, chunk_shard(documents, chunker), skipped

    encoder: ShardEncoder | GivenVectors | None = None
    if isinstance(embedder, GivenVectors):
        encoder = embedder
    elif embedder is not None:
        encoder = ShardEncoder(embedder, slice_size=config.slice_size, fp16=config.fp16)
    try:  # the next shard is read and chunked in a daemon thread: Ctrl-C does not wait for it
        pending: Future[tuple[int, pa.Table, list[dict[str, str]]]] | None = prefetch(prepare, todo[0]) if todo else None
        for n, spec in enumerate(todo):
            assert pending is not None
            docs, chunks, skipped = pending.result()
            pending = prefetch(prepare, todo[n + 1]) if n + 1 < len(todo) else None
            progress.shard(spec["docs"], chunks.num_rows)
            vectors = _embed(encoder, chunks, progress)
            entry = write_shard(ledger.directory, spec["index"], chunks, vectors)
            ledger.record(spec["index"], {**entry, "docs": docs, "skipped": skipped})
            progress.note(chunks=chunks.num_rows)
            progress.docs(spec["docs"])
    finally:
        if isinstance(encoder, ShardEncoder):
            encoder.close()


def _embed(encoder: ShardEncoder | GivenVectors | None, chunks: pa.Table, progress: Progress) -> np.ndarray | None:
    if encoder is None:
        return None
    texts = chunks.column("text").to_pylist()
    last = [time.perf_counter()]

    def tick(n: int) -> None:
        now = time.perf_counter()
        progress.note(embedded=n, seconds=now - last[0])
        last[0] = now

    if isinstance(encoder, GivenVectors):
        return encoder.vectors_for(chunks, progress=tick)
    return encoder.encode(texts, progress=tick)
