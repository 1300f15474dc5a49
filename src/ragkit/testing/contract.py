"""``check_component``: the contract every ragkit piece (built-in or yours) must satisfy."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.chunking.batch import chunk_documents
from ragkit.core.documents import Document
from ragkit.core.errors import RagkitError
from ragkit.core.protocols import Chunker, Embedder
from ragkit.index.building import build_indexes
from ragkit.store.registry import resolve_component

__all__ = ["check_component", "ContractViolation"]

_SAMPLE = [
    "Cats purr when they are content. A cat sleeps most of the day.",
    "Dogs bark at strangers and fetch sticks.\n\nA dog is a loyal pet.",
    "# Fish\n\nFish swim in rivers and oceans. They breathe through gills.",
]


class ContractViolation(AssertionError):
    """A component broke the ragkit component contract."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


def check_component(component: Any) -> None:
    """Run the contract checks that apply to ``component``; raise :class:`ContractViolation` on failure.

    Every piece: a JSON-able ``get_config()`` naming a registered type, and
    ``from_config(get_config())`` rebuilding an equal configuration. Then by role:
    chunkers keep offsets exact and refuse non-documents; embedders return unit float32
    rows of ``dimension`` columns and refuse a bare string; indexes refuse use before
    build and ``k < 1``, and search identically after a save/load round trip.
    """
    config = component.get_config()
    try:
        json.dumps(config)
    except TypeError as exc:
        raise ContractViolation(f"{type(component).__name__}.get_config() is not JSON-serialisable: {exc}") from exc
    cls = resolve_component(config.get("type"))
    _require(cls is type(component), f"get_config()['type'] names {config.get('type')!r}, not {type(component).__name__}")
    _require(cls.from_config(config).get_config() == config, f"{cls.__name__}: from_config(get_config()) changes the config")
    if isinstance(component, Chunker):
        _check_chunker(component)
    elif isinstance(component, Embedder):
        _check_embedder(component)
    elif getattr(component, "kind", None) in ("vector", "bm25"):
        _check_index(component, cls, config)
    else:
        raise ContractViolation(f"{type(component).__name__} fits no ragkit role (Chunker, Embedder, index)")


def _check_chunker(chunker: Any) -> None:
    docs = [Document(id=f"d{i}", text=t, metadata={"n": i}) for i, t in enumerate(_SAMPLE)]
    chunks = chunk_documents(chunker, docs)
    by_id = {d.id: d for d in docs}
    for chunk in chunks:
        _require(by_id[chunk.doc_id].text[chunk.start:chunk.end] == chunk.text, f"chunk offsets wrong: {chunk}")
        _require(bool(chunk.text.strip()), "empty chunk")
        _require(chunk.metadata.get("n") == by_id[chunk.doc_id].metadata["n"], "document metadata not kept")
    _require({c.doc_id for c in chunks} == set(by_id), "a document produced no chunk")
    _expect_error(lambda: chunker.chunk("raw text"), "chunk() of a str")


def _check_embedder(embedder: Any) -> None:
    vectors = embedder.embed_documents(_SAMPLE)
    queries = embedder.embed_queries(["a question"])
    for name, arr, rows in (("embed_documents", vectors, len(_SAMPLE)), ("embed_queries", queries, 1)):
        _require(arr.dtype == np.float32 and arr.shape == (rows, embedder.dimension), f"{name} shape/dtype {arr.shape} {arr.dtype}")
        _require(bool(np.allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-4)), f"{name} rows are not unit length")
    _expect_error(lambda: embedder.embed_queries("bare string"), "embed_queries of a str")


def _check_index(index: Any, cls: type[Any], config: dict[str, Any]) -> None:
    fresh = cls.from_config(config)
    texts: list[str] = []
    vectors: np.ndarray | None = None
    queries: Any
    if index.kind == "vector":
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((300, 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = vectors[:5]
    else:
        texts, queries = _SAMPLE * 3, ["cats purr", "fish gills"]
    _expect_error(lambda: fresh.search_rows(queries, 3), "search before build")
    build_indexes({"index": fresh}, texts, vectors)
    _expect_error(lambda: fresh.search_rows(queries, 0), "k=0")
    before = fresh.search_rows(queries, 3)
    with tempfile.TemporaryDirectory() as tmp:
        written = fresh.save(Path(tmp))
        _require(all((Path(tmp) / f).is_file() for f in written), "save() reported files it did not write")
        _require(not any(f.endswith((".pkl", ".pickle", ".npy")) for f in written), "save() wrote pickle-capable files")
        loaded = cls.load(Path(tmp), fresh.get_config())
        after = loaded.search_rows(queries, 3)
    for a, b in zip(before, after, strict=True):
        _require(a.rows.tolist() == b.rows.tolist(), "results differ after save/load")


def _expect_error(call: Any, what: str) -> None:
    try:
        call()
    except RagkitError:
        return
    except Exception as exc:
        raise ContractViolation(f"{what} raised {type(exc).__name__}, not a RagkitError: {exc}") from exc
    raise ContractViolation(f"{what} did not raise")


def construction_is_light(expression: str) -> list[str]:
    """Heavy modules imported by evaluating ``expression`` in a fresh interpreter (should be none)."""
    heavy = ("torch", "faiss", "sentence_transformers", "transformers")
    code = f"import sys, ragkit; obj = {expression}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]
