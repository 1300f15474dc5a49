"""A collection: the chunk table, the embedder that made its vectors, and its indexes."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit._version import __version__
from ragkit.errors import CorruptIndexError, IndexFormatError, InputError, ModelMismatchError
from ragkit.protocols import Embedder
from ragkit.retrieval.filters import Filter, filter_mask
from ragkit.retrieval.hits import Candidates, Hit, LegScore
from ragkit.store import folder
from ragkit.store.arrow_io import read_table, write_table
from ragkit.store.chunks import check_chunk_table
from ragkit.store.manifest import FORMAT, FORMAT_VERSION, describe_file, read_manifest, resolve_member, verify_files
from ragkit.store.registry import component_config, resolve_component

__all__ = ["Collection"]

logger = logging.getLogger(__name__)

_CHUNKS = "chunks.arrow"


class Collection:
    """Chunks plus the indexes built over them, saved as one folder.

    Build one with :func:`ragkit.build_collection`; reopen a saved one with
    :meth:`Collection.open`. Row ``i`` of :attr:`chunks` is row ``i`` of every index.

    Example:
        >>> col = Collection.open("indexes/docs")                    # doctest: +SKIP
        >>> col.num_chunks, sorted(col.indexes)                      # doctest: +SKIP
        (412, ['bm25', 'vector'])

    Raises:
        IndexFormatError / CorruptIndexError: on opening an incomplete, foreign or damaged folder.
        ModelMismatchError: if the embedder given to ``open`` is not the one the vectors came from.
    """

    def __init__(self, chunks: pa.Table, indexes: Mapping[str, Any], *, embedder: Embedder | None = None,
                 chunker_config: Mapping[str, Any] | None = None, embedder_info: Mapping[str, Any] | None = None) -> None:
        self.chunks = chunks
        self.indexes: dict[str, Any] = dict(indexes)
        self.embedder = embedder
        self.chunker_config = dict(chunker_config) if chunker_config else None
        self._embedder_info = dict(embedder_info) if embedder_info else None
        self._dimension_checked = False

    # -- description ------------------------------------------------------------------
    @property
    def num_chunks(self) -> int:
        return int(self.chunks.num_rows)

    @property
    def num_documents(self) -> int:
        import pyarrow.compute as pc

        return int(pc.count_distinct(self.chunks.column("doc_id")).as_py())

    def __len__(self) -> int:
        return self.num_chunks

    def __repr__(self) -> str:
        return f"Collection(chunks={self.num_chunks}, indexes={sorted(self.indexes)})"

    def index(self, name: str) -> Any:
        """The index called ``name``.

        Raises:
            InputError: listing the index names this collection has.
        """
        if name not in self.indexes:
            raise InputError(f"This collection has no index {name!r}; it has: {', '.join(sorted(self.indexes))}.")
        return self.indexes[name]

    def index_of_kind(self, kind: str) -> str:
        """Name of the first index of ``kind`` (``"vector"`` or ``"bm25"``)."""
        for name, idx in self.indexes.items():
            if getattr(idx, "kind", None) == kind:
                return name
        raise InputError(f"This collection has no {kind} index; it has: {', '.join(sorted(self.indexes)) or 'none'}.")

    # -- querying helpers -----------------------------------------------------------
    def filter_mask(self, filters: Filter | None) -> np.ndarray | None:
        """Rows satisfying ``filters`` (``None`` when there is no filter)."""
        return filter_mask(self.chunks, filters)

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Embed queries with the collection's embedder, checking it matches the index."""
        if self.embedder is None:
            raise InputError("This collection has no embedder; vector search needs one (pass embedder=...).")
        vectors = self.embedder.embed_queries(queries)
        if not self._dimension_checked and self._embedder_info is not None:
            expected = self._embedder_info.get("dimension")
            if expected is not None and vectors.shape[1] != expected:
                raise ModelMismatchError(
                    f"The query embedder {self.embedder.model_id!r} gives {vectors.shape[1]}-d vectors but "
                    f"this collection's vectors are {expected}-d ({self._embedder_info.get('model_id')})."
                )
            self._dimension_checked = True
        return vectors

    def hits(self, candidates: Candidates, legs: Mapping[str, Candidates] | None = None) -> list[Hit]:
        """Turn ranked rows into :class:`Hit` records (reads only those rows)."""
        if len(candidates) == 0:
            return []
        rows = self.chunks.take(pa.array(candidates.rows)).to_pylist()
        leg_maps = {
            name: {int(r): LegScore(rank=i + 1, score=float(s)) for i, (r, s) in enumerate(zip(c.rows, c.scores, strict=True))}
            for name, c in (legs or {}).items()
        }
        out = []
        for row_id, score, row in zip(candidates.rows.tolist(), candidates.scores.tolist(), rows, strict=True):
            meta = {k: v for k, v in (row["metadata"] or {}).items() if v is not None}
            out.append(Hit(
                score=score, doc_id=row["doc_id"], chunk_row=row_id, text=row["text"], start=row["start"],
                end=row["end"], position=row["position"], metadata=meta,
                legs={name: m[row_id] for name, m in leg_maps.items() if row_id in m},
            ))
        return out

    # -- persistence -----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the collection to the folder ``path`` atomically; returns the folder.

        Either the whole new version becomes visible or the previous one stays; a folder
        that holds anything but a ragkit collection is refused.
        """
        root = Path(path)
        folder.check_target(root)
        with folder.writer_lock(root):
            tmp, data_dir = folder.new_data_dir(root)
            try:
                manifest = self._write_files(root, tmp, data_dir)
                folder.commit_manifest(root, tmp, data_dir, manifest)
            except BaseException:
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
                raise
            folder.remove_stale(root, keep=data_dir)
        logger.info("saved %s (%d chunks)", root, self.num_chunks)
        return root

    def _write_files(self, root: Path, tmp: Path, data_dir: str) -> dict[str, Any]:
        write_table(tmp / _CHUNKS, self.chunks)
        indexes: dict[str, Any] = {}
        for name, idx in self.indexes.items():
            _check_index_name(name)
            (tmp / name).mkdir()
            written = idx.save(tmp / name)
            indexes[name] = {"config": component_config(idx), "files": [f"{name}/{f}" for f in written]}
        files = {
            f"{data_dir}/{p.relative_to(tmp).as_posix()}": describe_file(tmp, p.relative_to(tmp).as_posix())
            for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "ragkit_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "data_dir": data_dir,
            "counts": {"chunks": self.num_chunks, "documents": self.num_documents},
            "chunker": self.chunker_config,
            "embedder": self._embedder_manifest(),
            "indexes": indexes,
            "files": files,
        }

    def _embedder_manifest(self) -> dict[str, Any] | None:
        if self.embedder is None:
            return self._embedder_info
        info: dict[str, Any] = {"config": component_config(self.embedder), "model_id": self.embedder.model_id}
        vector = [i for i in self.indexes.values() if getattr(i, "kind", None) == "vector"]
        if vector:
            info["dimension"] = int(vector[0].dimension)
        return info

    @classmethod
    def open(cls, path: str | Path, *, embedder: Embedder | None = None, verify: bool = True) -> Collection:
        """Open a saved collection (memory-mapped).

        Args:
            path: the collection folder.
            embedder: the query embedder; by default the one recorded in the manifest
                (its model loads on the first vector query). A given embedder must be of
                the same model.
            verify: check every file's sha256 (sizes are always checked).

        Raises:
            IndexFormatError: not a collection, or a format this version cannot read.
            CorruptIndexError: a file is missing, truncated, altered or unreadable.
            ModelMismatchError: ``embedder`` is not the model the vectors were made with.
        """
        root = Path(path)
        manifest = read_manifest(root)
        verify_files(root, manifest["files"], checksums=verify)
        data = resolve_member(root, manifest["data_dir"])
        chunks = read_table(resolve_member(root, f"{manifest['data_dir']}/{_CHUNKS}"))
        check_chunk_table(chunks, manifest["counts"].get("chunks", -1), _CHUNKS)
        indexes = {}
        for name, entry in manifest["indexes"].items():
            _check_index_name(name)
            config = entry.get("config") if isinstance(entry, dict) else None
            if not isinstance(config, dict):
                raise IndexFormatError(f"manifest.json: index {name!r} has no config.")
            indexes[name] = resolve_component(config.get("type")).load(data / name, config)
            rows = indexes[name].n_docs
            if rows != chunks.num_rows:
                raise CorruptIndexError(f"{name}: the index holds {rows} rows, the chunk table {chunks.num_rows}.")
        info = manifest.get("embedder")
        embedder = _resolve_embedder(info, embedder)
        return cls(chunks, indexes, embedder=embedder, chunker_config=manifest.get("chunker"), embedder_info=info)


def _resolve_embedder(info: Any, embedder: Embedder | None) -> Embedder | None:
    if info is None:
        return embedder
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise IndexFormatError("manifest.json: the 'embedder' entry is malformed.")
    if embedder is None:
        config = info["config"]
        return resolve_component(config.get("type")).from_config(config)  # type: ignore[no-any-return]
    if embedder.model_id != info.get("model_id"):
        raise ModelMismatchError(
            f"This collection's vectors were made with {info.get('model_id')!r}, but the embedder given "
            f"is {embedder.model_id!r}. Query with the same model, or rebuild the collection."
        )
    return embedder


def _check_index_name(name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise IndexFormatError(f"Index name {name!r} must be a plain identifier (letters, digits, underscore).")
