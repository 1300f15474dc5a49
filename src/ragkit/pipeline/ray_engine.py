"""The Ray Data engine: the same per-shard work as the local engine, spread over a Ray cluster.

read + chunk (CPU tasks, one shard each) -> embed + write the shard file (an actor pool,
one GPU per actor when the cluster has GPUs) -> the driver records each finished shard
in the ledger as results stream back. The final step (global BM25 statistics, the
vector index, merging or keeping shards) is the same code as for the local engine.
Shard files are written under the output folder, so on a multi-machine cluster it must
be on storage every node sees (NFS, a mounted bucket).

Components travel as their JSON configs and are rebuilt in each worker; tables travel
as Arrow IPC bytes.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ragkit.core.deps import require
from ragkit.core.errors import InputError
from ragkit.core.protocols import Chunker, Embedder
from ragkit.pipeline.shard_work import bytes_to_table, chunk_shard, table_to_bytes
from ragkit.pipeline.shards import Ledger, write_shard
from ragkit.pipeline.sources import Source, table_skipped
from ragkit.store.registry import component_config, resolve_component

if TYPE_CHECKING:
    from ragkit.pipeline.batch import BatchConfig
    from ragkit.pipeline.progress import Progress

__all__ = ["run_shards_on_ray"]

logger = logging.getLogger(__name__)

_components: dict[str, Any] = {}


def _component(config: dict[str, Any]) -> Any:
    """A component rebuilt from its config, once per worker process."""
    key = json.dumps(config, sort_keys=True)
    if key not in _components:
        _components[key] = resolve_component(config["type"]).from_config(config)
    return _components[key]


def _read_and_chunk(batch: pa.Table, source: Source, chunker_config: dict[str, Any]) -> pa.Table:
    chunker = _component(chunker_config)
    rows = []
    for spec_json in batch.column("spec").to_pylist():
        spec = json.loads(spec_json)
        documents = source.read(spec)
        chunks = chunk_shard(documents, chunker)
        rows.append({"index": spec["index"], "planned": spec["docs"], "docs": documents.num_rows,
                     "chunks": table_to_bytes(chunks), "skipped": json.dumps(table_skipped(documents))})
    return pa.Table.from_pylist(rows)


class _EmbedAndWrite:
    """Actor: embeds each shard's chunk texts and writes the shard file."""

    def __init__(self, embedder_config: dict[str, Any] | None, staging: str, slice_size: int, fp16: bool) -> None:
        from ragkit.pipeline.encoding import ShardEncoder

        self.staging = Path(staging)
        self.encoder = None
        if embedder_config is not None:
            self.encoder = ShardEncoder(_component(embedder_config), slice_size=slice_size, fp16=fp16)

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = []
        for row in batch.to_pylist():
            chunks = bytes_to_table(row["chunks"])
            start = time.perf_counter()
            vectors = self.encoder.encode(chunks.column("text").to_pylist()) if self.encoder is not None else None
            seconds = time.perf_counter() - start if self.encoder is not None else 0.0
            entry = write_shard(self.staging, row["index"], chunks, vectors)
            rows.append({"index": row["index"], "planned": row["planned"], "docs": row["docs"], "chunks": entry["chunks"],
                         "bytes": entry["bytes"], "embed_seconds": seconds, "skipped": row["skipped"]})
        return pa.Table.from_pylist(rows)


def run_shards_on_ray(src: Source, todo: list[dict[str, Any]], ledger: Ledger, chunker: Chunker, embedder: Embedder | None,
                      config: BatchConfig, progress: Progress) -> None:
    """Build the shards in ``todo`` with Ray Data, recording each in ``ledger`` as it completes."""
    ray = require("ray", extra="ray")
    require("ray.data", extra="ray")
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if config.ray_address is not None:
            options["address"] = config.ray_address
        elif config.ray_num_cpus is not None:
            options["num_cpus"] = config.ray_num_cpus
        ray.init(**options)
    if not todo:
        return
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    # with GPUs: one embedding actor per GPU, chunking in CPU tasks beside them; without, Ray fuses
    # read+chunk into the actors (same resources), so one actor per CPU keeps every core busy
    actors = config.ray_actors or (gpus if gpus else max(1, int(resources.get("CPU", 1))))
    ds = ray.data.from_items([{"spec": json.dumps(s)} for s in todo], override_num_blocks=len(todo))
    ds = ds.map_batches(_read_and_chunk, batch_size=1, batch_format="pyarrow",
                        fn_kwargs={"source": src, "chunker_config": component_config(chunker)})
    ds = ds.map_batches(
        _EmbedAndWrite, batch_size=1, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=actors),
        num_gpus=1 if gpus else 0,
        fn_constructor_kwargs={"embedder_config": component_config(embedder) if embedder is not None else None,
                               "staging": str(ledger.directory), "slice_size": config.slice_size, "fp16": config.fp16},
    )
    logger.info("ray: %d shards, %d embedding actor(s), %d GPU(s)", len(todo), actors, gpus)
    for row in ds.iter_rows():
        skipped = json.loads(row["skipped"])
        if skipped and config.strict:
            raise InputError(f"{skipped[0]['path']} was not indexed ({skipped[0]['reason']}): {skipped[0]['detail']}. "
                             "Without strict (--strict) it is skipped and reported.")
        ledger.record(int(row["index"]), {"chunks": int(row["chunks"]), "bytes": int(row["bytes"]), "docs": int(row["docs"]),
                                          "skipped": skipped})
        progress.note(chunks=int(row["chunks"]), embedded=int(row["chunks"]) if embedder is not None else 0,
                      seconds=float(row["embed_seconds"]))
        progress.docs(int(row["planned"]))
