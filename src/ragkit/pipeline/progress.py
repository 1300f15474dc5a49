"""``Progress``: the progress of a batch build, shared by the local and the Ray engine.

It counts documents and advances per embedding batch (a shard's documents are credited in
proportion to its chunks embedded so far), not once per shard. Rate and ETA count only the
work of this run: on resume, the documents of shards an earlier run finished are the starting
point. On a terminal it draws a tqdm bar; anywhere else (a log file, a pipe, CI) it writes a
plain line at most every ``interval`` seconds, and one when it closes.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ragkit.core.wording import duration as _duration
from ragkit.core.wording import rate as _rate

__all__ = ["Progress"]


class Progress:
    """Documents done of ``total``, with chunks, the embedding rate (when embedding), rate and ETA.

    Args:
        total: documents of the whole build.
        enabled: False draws and writes nothing (the counts are still kept).
        desc: the label, e.g. ``"indexing (local)"``.
        initial: documents an earlier run already finished (resume).
        vectors: the build embeds (show embeddings per second).
        stream: where to write (default ``sys.stderr``).
        interval: seconds between plain lines when ``stream`` is not a terminal.
    """

    def __init__(self, total: int, enabled: bool, desc: str, *, initial: int = 0, vectors: bool = True,
                 stream: TextIO | None = None, interval: float = 5.0) -> None:
        self.total = int(total)
        self.enabled = enabled
        self.desc = desc
        self.vectors = vectors
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.initial = int(initial)
        self.done = float(initial)  # documents, fractional while a shard is being embedded
        self.chunks = 0
        self.embedded = 0
        self.embed_seconds = 0.0
        self._shard_docs = 0  # the shard being embedded: its documents, chunks, and documents credited so far
        self._shard_chunks = 0
        self._shard_credit = 0.0
        self._start = time.perf_counter()
        self._last_line = self._start
        self._closed = False
        self.bar: Any = None
        if enabled and _isatty(self.stream):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, initial=self.initial, unit="doc", desc=desc, dynamic_ncols=True,
                            file=self.stream, mininterval=0.5)

    # -- what the engines report ---------------------------------------------------------------
    def shard(self, docs: int, chunks: int) -> None:
        """A shard of ``docs`` documents and ``chunks`` chunks starts embedding."""
        self._shard_docs, self._shard_chunks, self._shard_credit = int(docs), int(chunks), 0.0

    def note(self, chunks: int = 0, embedded: int = 0, seconds: float = 0.0) -> None:
        """``chunks`` written, ``embedded`` chunks embedded in ``seconds`` (credits the current shard's documents)."""
        self.chunks += chunks
        self.embedded += embedded
        self.embed_seconds += seconds
        if embedded and self._shard_chunks:
            credit = min(self._shard_docs - self._shard_credit, self._shard_docs * embedded / self._shard_chunks)
            self._shard_credit += credit
            self._advance(credit)
        else:
            self._show()

    def docs(self, n: int) -> None:
        """A shard of ``n`` documents is done (what its embedding already credited is not counted twice)."""
        remainder = max(0.0, n - self._shard_credit) if self._shard_docs == n else float(n)
        self._shard_docs = self._shard_chunks = 0
        self._shard_credit = 0.0
        self._advance(remainder)

    # -- display -------------------------------------------------------------------------------
    @property
    def rate(self) -> float:
        """Documents per second of this run."""
        elapsed = time.perf_counter() - self._start
        return (self.done - self.initial) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """``indexing (local): 1,234/5,183 documents (24%), 2,310 chunks, 40 chunks embedded/s, 12 documents/s, ETA 5m29s``."""
        done = int(self.done)
        pct = f" ({100 * done // self.total}%)" if self.total else ""
        parts = [f"{self.desc}: {done:,}/{self.total:,} documents{pct}", f"{self.chunks:,} chunks"]
        if self.vectors and self.embed_seconds:
            parts.append(f"{_rate(self.embedded / self.embed_seconds)} chunks embedded/s")
        rate = self.rate
        if done > self.initial:
            parts.append(f"{_rate(rate)} documents/s")
        if self._closed:
            parts.append(f"in {_duration(time.perf_counter() - self._start)}")
        elif rate > 0 and self.total > done:
            parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        return ", ".join(parts)

    def _advance(self, n: float) -> None:
        before = int(self.done)
        self.done = min(float(self.total), self.done + n)
        if self.bar is not None and int(self.done) > before:
            self.bar.update(int(self.done) - before)
        self._show()

    def _show(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            postfix = {"chunks": f"{self.chunks:,}"}
            if self.vectors and self.embed_seconds:
                postfix["emb/s"] = _rate(self.embedded / self.embed_seconds)
            self.bar.set_postfix(postfix, refresh=False)
            return
        now = time.perf_counter()
        if now - self._last_line >= self.interval:
            self._last_line = now
            print(self.line(), file=self.stream, flush=True)

    def close(self, summary: bool = True) -> None:
        """Finish the bar (or write the last line, unless ``summary`` is False: interrupted); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and summary and self.done > self.initial:
            print(self.line(), file=self.stream, flush=True)


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
