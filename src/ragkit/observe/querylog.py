"""An append-only log of queries, results, scores and timings, as rotating Arrow IPC files.

Rows are buffered and written as record batches into the open segment
``<prefix>-<UTC time>-<seq>.arrow.part``; when the segment reaches ``max_rows`` or
``max_bytes`` (or on :meth:`QueryLog.close`) it is closed and renamed to ``.arrow``, so a
finished segment appears atomically and readers never see half a file. Rows still in the
buffer or in the open segment are lost if the process dies: close the log on shutdown.

Example:
    >>> log = QueryLog("logs/queries", max_rows=50_000)                  # doctest: +SKIP
    >>> observed = ObservedRetriever(retriever, query_log=log)            # doctest: +SKIP
    >>> table = read_log("logs/queries", start=yesterday)                 # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.errors import CorruptIndexError, InputError
from ragkit.core.results import Hit
from ragkit.core.validation import as_path, check_int, check_str
from ragkit.observe.trace import Trace
from ragkit.store.filters import filters_key

__all__ = ["LOG_SCHEMA", "QueryLog", "log_records", "read_log"]

_LEG = pa.struct([("name", pa.string()), ("rows", pa.list_(pa.int64())), ("scores", pa.list_(pa.float64()))])
_STAGE = pa.struct([("name", pa.string()), ("seconds", pa.float64())])

#: One row per query.
LOG_SCHEMA = pa.schema([
    ("ts", pa.timestamp("us", tz="UTC")),       # when the search finished
    ("query", pa.string()),
    ("k", pa.int32()),
    ("filters", pa.string()),                   # canonical JSON, null without a filter
    ("retriever", pa.string()),
    ("collection", pa.string()),
    ("generation", pa.string()),                # the retriever's index generations, e.g. "3,7"
    ("rows", pa.list_(pa.int64())),             # chunk rows returned, best first
    ("doc_ids", pa.list_(pa.string())),
    ("scores", pa.list_(pa.float64())),
    ("top1", pa.float64()),                     # null when nothing was returned
    ("legs", pa.list_(_LEG)),                   # each leg's top rows/scores before fusion
    ("latency_s", pa.float64()),                # the call's total time divided by its batch size
    ("batch_size", pa.int32()),
    ("stages", pa.list_(_STAGE)),               # the call's stage timings (shared by its batch)
])
_SEGMENT = re.compile(r"^(?P<prefix>.+)-(?P<stamp>\d{8}T\d{6}Z)-(?P<seq>\d{6})\.arrow$")



def log_records(queries: Sequence[str], results: Sequence[Sequence[Hit]], trace: Trace, *, k: int,
                filters: Mapping[str, Any] | None = None, collection: str = "default",
                generation: Sequence[int] = (), leg_depth: int | None = None,
                now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Log rows for one traced ``search_batch`` call (``leg_depth``: leg candidates kept, default ``k``).

    Leg candidates are logged when the legs searched every query of the call (not after a
    cache answered some of them).
    """
    depth = k if leg_depth is None else leg_depth
    ts = now or dt.datetime.now(dt.timezone.utc)
    n = max(len(queries), 1)
    latency = (trace.total or 0.0) / n
    stages = [{"name": s.name, "seconds": s.seconds} for s in trace.stages]
    fkey, gen = filters_key(filters), ",".join(str(g) for g in generation)
    out = []
    aligned = {name: leg for name, leg in trace.legs.items() if len(leg.candidates) == len(queries)}  # see LegTrace
    for i, (query, hits) in enumerate(zip(queries, results, strict=True)):
        legs = [{"name": name, "rows": leg.candidates[i].rows[:depth].tolist(),
                 "scores": leg.candidates[i].scores[:depth].tolist()} for name, leg in aligned.items()]
        out.append({
            "ts": ts, "query": query, "k": k, "filters": fkey, "retriever": trace.retriever, "collection": collection,
            "generation": gen, "rows": [h.chunk_row for h in hits], "doc_ids": [h.doc_id for h in hits],
            "scores": [h.score for h in hits], "top1": hits[0].score if hits else None, "legs": legs,
            "latency_s": latency, "batch_size": len(queries), "stages": stages,
        })
    return out


class QueryLog:
    """Appends query records to rotating Arrow IPC files in ``directory``.

    Args:
        directory: created if missing.
        max_rows: rows per segment before it is closed and a new one begun.
        max_bytes: bytes per segment (checked after each batch written).
        max_files: keep at most this many closed segments (oldest deleted); ``None`` keeps all.
        flush_rows: rows buffered in memory before they are written (as record batches of at most this many rows).
        prefix: segment file name prefix.

    Raises:
        ConfigError: invalid sizes or prefix.
    """

    def __init__(self, directory: str | Path, *, max_rows: int = 100_000, max_bytes: int = 64 * 2**20,
                 max_files: int | None = None, flush_rows: int = 256, prefix: str = "queries") -> None:
        self.directory = as_path("QueryLog", directory)
        self.max_rows = check_int("QueryLog", "max_rows", max_rows, low=1)
        self.max_bytes = check_int("QueryLog", "max_bytes", max_bytes, low=1)
        self.max_files = None if max_files is None else check_int("QueryLog", "max_files", max_files, low=1)
        self.flush_rows = check_int("QueryLog", "flush_rows", flush_rows, low=1)
        self.prefix = check_str("QueryLog", "prefix", prefix)
        if not re.fullmatch(r"[A-Za-z0-9_.]+", prefix):
            raise InputError(f"The 'prefix' parameter of QueryLog must use letters, digits, '_' or '.'. Got {prefix!r} instead.")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._buffer: list[dict[str, Any]] = []
        self._sink: Any = None
        self._writer: Any = None
        self._part: Path | None = None
        self._segment_rows = 0
        self._seq = max((int(m["seq"]) for p in self.files() if (m := _SEGMENT.match(p.name))), default=0)

    # -- writing -------------------------------------------------------------------------
    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Buffer rows (dicts with the :data:`LOG_SCHEMA` fields); writes a batch every ``flush_rows``."""
        with self._lock:
            self._buffer.extend(dict(r) for r in records)
            if len(self._buffer) >= self.flush_rows:
                self._flush()

    def flush(self) -> None:
        """Write buffered rows into the open segment (still unreadable until it is closed)."""
        with self._lock:
            self._flush()

    def rotate(self) -> Path | None:
        """Close the open segment (after flushing); returns its final path, if there was one."""
        with self._lock:
            self._flush()
            return self._close_segment()

    def close(self) -> None:
        self.rotate()

    def __enter__(self) -> QueryLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def files(self) -> list[Path]:
        """Closed segments, oldest first."""
        return sorted(p for p in self.directory.glob(f"{self.prefix}-*.arrow") if _SEGMENT.match(p.name))

    def _flush(self) -> None:
        while self._buffer:
            take = min(self.max_rows - self._segment_rows, self.flush_rows)  # batches of at most flush_rows
            rows, self._buffer = self._buffer[:take], self._buffer[take:]
            try:
                table = pa.Table.from_pylist(rows, schema=LOG_SCHEMA)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, KeyError) as exc:
                raise InputError(f"A query-log record does not fit the log schema ({exc}).") from exc
            if self._writer is None:
                self._open_segment()
            self._writer.write_table(table)
            self._segment_rows += table.num_rows
            if self._segment_rows >= self.max_rows or self._sink.tell() >= self.max_bytes:
                self._close_segment()

    def _open_segment(self) -> None:
        self._seq += 1
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self._part = self.directory / f"{self.prefix}-{stamp}-{self._seq:06d}.arrow.part"
        self._sink = pa.OSFile(str(self._part), "wb")
        self._writer = pa.ipc.new_file(self._sink, LOG_SCHEMA)
        self._segment_rows = 0

    def _close_segment(self) -> Path | None:
        if self._writer is None or self._part is None:
            return None
        self._writer.close()
        self._sink.close()
        with open(self._part, "rb+") as fh:
            os.fsync(fh.fileno())
        final = self._part.with_suffix("")  # drop ".part"
        os.replace(self._part, final)
        self._writer = self._sink = self._part = None
        self._segment_rows = 0
        if self.max_files is not None:
            for old in self.files()[: -self.max_files]:
                old.unlink(missing_ok=True)
        return final


def read_log(source: str | Path | Sequence[str | Path], *, start: dt.datetime | None = None,
             end: dt.datetime | None = None) -> pa.Table:
    """The closed segments of a query log (a folder or a list of files) as one table, rows with ``start <= ts < end``.

    Raises:
        CorruptIndexError: a segment that is not a readable Arrow file of the log schema.
    """
    if isinstance(source, (str, Path)):
        root = Path(source)
        paths = sorted(p for p in root.glob("*.arrow") if _SEGMENT.match(p.name)) if root.is_dir() else [root]
    else:
        paths = [Path(p) for p in source]
    tables = []
    for path in paths:
        try:
            table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()  # the map lives as long as the table
        except (OSError, pa.ArrowInvalid) as exc:
            raise CorruptIndexError(f"{path}: not a readable query-log segment ({exc}).") from exc
        if not table.schema.equals(LOG_SCHEMA):
            raise CorruptIndexError(f"{path}: columns {table.schema.names} differ from the query-log schema.")
        tables.append(table)
    table = pa.concat_tables(tables) if tables else LOG_SCHEMA.empty_table()
    if start is None and end is None:
        return table
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    keep = np.ones(ts.shape[0], dtype=bool)
    if start is not None:
        keep &= ts >= _micros(start)
    if end is not None:
        keep &= ts < _micros(end)
    return table.filter(pa.array(keep))


def _micros(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise InputError(f"Log time bounds must be timezone-aware datetimes (e.g. tz=datetime.timezone.utc). Got {moment!r}.")
    return round(moment.timestamp() * 1_000_000)
