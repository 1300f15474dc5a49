"""A content-addressed embedding cache stored as Arrow files.

Every vector is filed under ``sha256(fingerprint + text)``, where the fingerprint holds all
that decides the vector: the model id and a hash of its weights, the prompt, normalisation
and the maximum sequence length. Re-chunking a corpus or re-running a sweep therefore
encodes only text never seen before with the same settings.

Layout: ``<cache dir>/<namespace>/shard-*.arrow``, one namespace (the first 24 hex digits of
the fingerprint's sha256) per model + settings, plus ``fingerprint.json`` describing it.
Each shard is an Arrow IPC file with a ``key`` (32-byte sha256) and a ``vector`` column,
written once, atomically (temporary file, then rename); a shard never changes after, so
several processes can share a cache folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import to_numpy
from ragkit.core.atomic import write_bytes_atomic
from ragkit.core.errors import ConfigError
from ragkit.core.protocols import Embedder
from ragkit.core.validation import as_path
from ragkit.embedding.sentence_transformer import check_texts

__all__ = ["CachedEmbedder", "EmbeddingCache", "default_cache_dir"]

logger = logging.getLogger(__name__)

Mode = Literal["query", "document"]
_CACHE_ENV = "RAGKIT_CACHE_DIR"
_KEY = pa.binary(32)


def default_cache_dir() -> Path:
    """``$RAGKIT_CACHE_DIR`` when set, else ``~/.cache/ragkit``; embeddings go under ``embeddings/``."""
    env = os.environ.get(_CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "ragkit"


class EmbeddingCache:
    """The vectors of one namespace (one model + settings) in one folder of Arrow shards.

    Example:
        >>> import tempfile
        >>> cache = EmbeddingCache(tempfile.mkdtemp(), {"model": "toy", "prompt": ""})
        >>> keys = cache.keys_for(["a", "b"])
        >>> cache.put(keys, np.eye(2, dtype=np.float32))
        >>> cache.get(keys)[1].tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """

    def __init__(self, root: str | os.PathLike[str], fingerprint: dict[str, Any]) -> None:
        try:
            self._prefix = json.dumps(fingerprint, sort_keys=True, separators=(",", ":")).encode("utf-8")
        except TypeError as exc:
            raise ConfigError(f"An embedding cache fingerprint must be JSON-serialisable. Got {fingerprint!r}.") from exc
        self.fingerprint = fingerprint
        self.namespace = hashlib.sha256(self._prefix).hexdigest()[:24]
        self.path = as_path("EmbeddingCache", root) / self.namespace
        self._rows: dict[bytes, int] = {}
        self._blocks: list[np.ndarray] = []
        self._matrix: np.ndarray | None = None
        self._seen: set[str] = set()

    def __len__(self) -> int:
        self.refresh()
        return len(self._rows)

    def keys_for(self, texts: Sequence[str]) -> list[bytes]:
        """The 32-byte content keys of ``texts`` (sha256 of fingerprint, NUL, text)."""
        prefix = self._prefix + b"\0"
        return [hashlib.sha256(prefix + t.encode("utf-8")).digest() for t in texts]

    def refresh(self) -> None:
        """Load shards written since the last look (by this or another process)."""
        if not self.path.is_dir():
            return
        for shard in sorted(self.path.glob("shard-*.arrow")):
            if shard.name in self._seen:
                continue
            self._seen.add(shard.name)
            try:
                with pa.memory_map(str(shard)) as source:
                    table = pa.ipc.open_file(source).read_all()
                keys = table.column("key").to_pylist()
                vectors = _vectors_of(table)
            except (pa.ArrowException, KeyError, ValueError, OSError) as exc:
                logger.warning("embedding cache: ignoring unreadable shard %s (%s); its texts will be re-encoded", shard, exc)
                continue
            self._add(keys, vectors)

    def get(self, keys: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """``(found, vectors)``: a bool mask over ``keys`` and the vectors of the found ones, in order."""
        self.refresh()
        positions = np.fromiter((self._rows.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        found = positions >= 0
        if not found.any():
            return found, np.empty((0, 0), dtype=np.float32)
        return found, self._all()[positions[found]]

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store new vectors as one new shard (atomic write); keys already stored are skipped."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(keys):
            raise ValueError(f"put() needs one vector row per key: {len(keys)} keys, vectors of shape {vectors.shape}")
        new = [i for i, k in enumerate(keys) if k not in self._rows]
        if not new:
            return
        keys = [keys[i] for i in new]
        vectors = vectors[new]
        self.path.mkdir(parents=True, exist_ok=True)
        meta = self.path / "fingerprint.json"
        if not meta.exists():
            write_bytes_atomic(meta, json.dumps(self.fingerprint, indent=2, sort_keys=True).encode("utf-8"))
        table = pa.table({
            "key": pa.array(keys, type=_KEY),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1]),
        })
        name = f"shard-{uuid.uuid4().hex}.arrow"
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        write_bytes_atomic(self.path / name, sink.getvalue().to_pybytes())
        self._seen.add(name)
        self._add(keys, vectors)

    def _add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if self._blocks and vectors.shape[1] != self._blocks[0].shape[1]:
            logger.warning("embedding cache %s: a shard has %d-d vectors, others %d-d; ignoring it",
                           self.path, vectors.shape[1], self._blocks[0].shape[1])
            return
        base = sum(b.shape[0] for b in self._blocks)
        self._blocks.append(vectors)
        self._matrix = None
        for i, key in enumerate(keys):
            self._rows.setdefault(key, base + i)

    def _all(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = np.concatenate(self._blocks) if len(self._blocks) > 1 else self._blocks[0]
            self._blocks = [self._matrix]
        return self._matrix


class CachedEmbedder:
    """Wraps any embedder so each text is encoded once per model + settings, ever.

    Vectors come from the cache when present; only missing (deduplicated) texts reach the
    wrapped embedder, and their vectors are stored before returning. The wrapper is
    transparent elsewhere: same ``model_id``, ``dimension`` and ``get_config()`` as the
    embedder it wraps, so a collection saved with it reopens with the plain embedder.

    The fingerprint comes from the embedder's ``cache_fingerprint(mode)`` when it has one
    (:class:`~ragkit.SentenceTransformerEmbedder` gives model, weights sha256, prompt,
    normalisation and max length); otherwise from its ``model_id``, ``get_config()`` and the mode.

    Args:
        embedder: the embedder to wrap.
        cache_dir: root folder; default ``default_cache_dir() / "embeddings"``.
        cache_queries: also cache query vectors (turn off to time real query encoding).

    Example:
        >>> from ragkit.embedding.hashing import HashEmbedder
        >>> import tempfile
        >>> inner = HashEmbedder(dimension=8)
        >>> emb = CachedEmbedder(inner, tempfile.mkdtemp())
        >>> _ = emb.embed_documents(["a", "b"]); _ = emb.embed_documents(["b", "a", "c"])
        >>> inner.calls, emb.hits, emb.misses
        (3, 2, 3)

    Raises:
        ConfigError: if ``embedder`` lacks the Embedder methods.
    """

    def __init__(self, embedder: Embedder, cache_dir: str | os.PathLike[str] | None = None, *,
                 cache_queries: bool = True) -> None:
        if not isinstance(embedder, Embedder):
            raise ConfigError(
                "The 'embedder' parameter of CachedEmbedder must be an Embedder (dimension, model_id, "
                f"embed_documents, embed_queries, get_config). Got {type(embedder).__name__} instead."
            )
        if isinstance(embedder, CachedEmbedder):
            embedder = embedder.embedder
        self.embedder: Embedder = embedder
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "embeddings"
        self.cache_queries = bool(cache_queries)
        self.hits = 0
        self.misses = 0
        self._caches: dict[str, EmbeddingCache] = {}

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def get_config(self) -> dict[str, Any]:
        config = dict(self.embedder.get_config())
        config.setdefault("type", type(self.embedder).__name__)
        return config

    def cache(self, mode: Mode) -> EmbeddingCache:
        """The cache holding this embedder's vectors in ``mode`` (``"query"`` or ``"document"``)."""
        if mode not in self._caches:
            fingerprint_of = getattr(self.embedder, "cache_fingerprint", None)
            if callable(fingerprint_of):
                fingerprint = dict(fingerprint_of(mode))
            else:
                fingerprint = {"model_id": self.embedder.model_id, "config": self.get_config(), "mode": mode}
            self._caches[mode] = EmbeddingCache(self.cache_dir, fingerprint)
        return self._caches[mode]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, "document")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not self.cache_queries:
            return self.embedder.embed_queries(texts)
        return self._embed(texts, "query")

    def _embed(self, texts: Sequence[str], mode: Mode) -> np.ndarray:
        texts = check_texts(texts)
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        cache = self.cache(mode)
        keys = cache.keys_for(texts)
        found, cached = cache.get(keys)
        missing = np.flatnonzero(~found)
        self.hits += int(found.sum())
        self.misses += int(missing.size)
        if missing.size == 0:
            return np.array(cached, dtype=np.float32)
        # encode each distinct missing text once
        first: dict[bytes, int] = {}
        for i in missing.tolist():
            first.setdefault(keys[i], i)
        todo = list(first.values())
        encode = self.embedder.embed_documents if mode == "document" else self.embedder.embed_queries
        fresh = np.asarray(encode([texts[i] for i in todo]), dtype=np.float32)
        cache.put([keys[i] for i in todo], fresh)
        out = np.empty((len(texts), fresh.shape[1]), dtype=np.float32)
        if cached.size:
            out[found] = cached
        slot = {keys[i]: j for j, i in enumerate(todo)}
        out[missing] = fresh[[slot[keys[i]] for i in missing.tolist()]]
        return out

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.embedder!r}, cache_dir={str(self.cache_dir)!r})"


def _vectors_of(table: pa.Table) -> np.ndarray:
    column = table.column("vector").combine_chunks()
    if not pa.types.is_fixed_size_list(column.type):
        raise ValueError("the 'vector' column is not a fixed-size list")
    flat = to_numpy(column.values).astype(np.float32, copy=False)
    return np.array(flat.reshape(len(table), column.type.list_size))
