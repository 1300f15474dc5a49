"""Sentence embeddings with ONNX Runtime: the model exported once, then run without torch.

A sentence-transformers model made of a ``Transformer`` module, a ``Pooling`` module
(mean, CLS, max or mean-sqrt-len) and optionally ``Normalize`` is exported once to ONNX
(:mod:`ragkit.embedding.onnx_export`, which needs torch) into a cache folder keyed by the
sha256 of the model's weights. From then on :class:`OnnxEncoder` embeds with ``tokenizers``
and ``onnxruntime`` alone: no torch, transformers or sentence-transformers import, so a
process that only embeds queries starts in a fraction of the time. Its vectors equal the
torch model's (the export is verified against it; cosine 1.00000 for the default model).

Cache layout: ``<cache>/onnx/<weights sha256>/`` holds ``model.onnx``, ``tokenizer.json``
and ``onnx.json`` (pooling, lengths, the sha256 of ``model.onnx``, how the export was
verified). ``model.onnx`` is checked against its recorded sha256 before each first use in a
process; a folder that fails the check is exported again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.core.deps import require
from ragkit.core.errors import ConfigError, ModelIntegrityError
from ragkit.core.hashing import sha256_file

__all__ = ["ModelSpec", "OnnxEncoder", "describe_model", "weights_file", "ONNX_FORMAT", "META_FILE"]

logger = logging.getLogger(__name__)

#: Version of the exported folder's layout; a folder of another version is exported again.
ONNX_FORMAT = 1
META_FILE = "onnx.json"
#: sentence-transformers' pooling names (both spellings) → the ones :func:`pool` implements.
_POOLINGS = {"mean": "mean", "cls": "cls", "max": "max", "mean_sqrt_len": "mean_sqrt_len",
             "mean_sqrt_len_tokens": "mean_sqrt_len"}
_verified: dict[tuple[Path, int, int], str] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ModelSpec:
    """What the ONNX path needs to know about a sentence-transformers model folder."""

    folder: Path
    pooling: str
    dimension: int
    max_seq_length: int
    do_lower_case: bool


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object.")
    return data


def describe_model(folder: Path) -> ModelSpec:
    """The model in ``folder`` as the ONNX path sees it (reads its JSON files only).

    Raises:
        ConfigError: the folder is not a sentence-transformers model of Transformer + Pooling
            (+ Normalize) modules, or pools in a way the ONNX path does not implement.
    """
    folder = Path(folder)
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        raise ConfigError(f"backend='onnx' needs a sentence-transformers model folder with modules.json; {folder} has none.")
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read {modules_file}: {exc}") from exc
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules] if isinstance(modules, list) else []
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or modules[0].get("path", ""):
        raise ConfigError(
            "backend='onnx' supports models made of the modules Transformer, Pooling and optionally Normalize, "
            f"the Transformer at the model's root. {folder} has {kinds}; use backend='torch'."
        )
    pooling_config = _read_json(folder / modules[1]["path"] / "config.json")
    if "pooling_mode" in pooling_config:  # sentence-transformers >= 6: one key, a name or a list of names
        named = pooling_config["pooling_mode"]
        modes = [named] if isinstance(named, str) else list(named) if isinstance(named, list) else [repr(named)]
    else:  # older releases: one boolean per mode
        modes = [key.removeprefix("pooling_mode_").removesuffix("_tokens").removesuffix("_token")
                 for key, value in pooling_config.items() if key.startswith("pooling_mode_") and value]
    modes = [_POOLINGS.get(m, m) for m in modes]
    if len(modes) != 1 or modes[0] not in _POOLINGS.values() or pooling_config.get("include_prompt", True) is not True:
        raise ConfigError(
            "backend='onnx' supports one pooling mode of mean, cls, max or mean_sqrt_len with the prompt included; "
            f"{folder} pools with {modes} (include_prompt={pooling_config.get('include_prompt', True)}). "
            "Use backend='torch'."
        )
    dimension = pooling_config.get("embedding_dimension", pooling_config.get("word_embedding_dimension"))
    if not isinstance(dimension, int) or dimension <= 0:
        raise ConfigError(f"{folder}: the pooling config names no embedding dimension (got {dimension!r}); use backend='torch'.")
    return ModelSpec(folder=folder, pooling=modes[0], dimension=dimension, max_seq_length=_max_length(folder),
                     do_lower_case=bool(_optional_json(folder / "sentence_bert_config.json").get("do_lower_case", False)))


def _optional_json(path: Path) -> dict[str, Any]:
    return _read_json(path) if path.is_file() else {}


def _max_length(folder: Path) -> int:
    """Tokens kept per text, as sentence-transformers decides it: its own config, else the tokenizer's, within the model's."""
    positions = _optional_json(folder / "config.json").get("max_position_embeddings")
    limit = int(positions) if isinstance(positions, int) and positions > 0 else 512
    for value in (_optional_json(folder / "sentence_bert_config.json").get("max_seq_length"),
                  _optional_json(folder / "tokenizer_config.json").get("model_max_length")):
        if isinstance(value, int) and value > 0:
            return min(value, limit)
    return limit


def weights_file(folder: Path) -> Path:
    """The weights file of the model in ``folder`` (safetensors preferred).

    Raises:
        ConfigError: there is none.
    """
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    raise ConfigError(f"backend='onnx' found no model.safetensors or pytorch_model.bin in {folder}.")


def check_export(folder: Path, weights_sha256: str, *, checksum: bool = True) -> dict[str, Any] | None:
    """The metadata of the exported folder, or ``None`` when it is absent, stale or (unless not ``checksum``)
    fails its checksum (once per process and file version)."""
    meta_path = folder / META_FILE
    model_path = folder / "model.onnx"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        stat = model_path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != ONNX_FORMAT or meta.get("weights_sha256") != weights_sha256:
        return None
    if not checksum:
        return meta
    key = (model_path.resolve(), stat.st_size, stat.st_mtime_ns)
    with _lock:
        if _verified.get(key) != meta.get("onnx_sha256"):
            if sha256_file(model_path) != meta.get("onnx_sha256"):
                logger.warning("%s does not match its recorded sha256; exporting the model again", model_path)
                return None
            _verified[key] = str(meta["onnx_sha256"])
    return meta


def _in_background(work: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``work`` in a thread; the returned function waits for its result (or raises its exception).

    For hashing a model file (hashlib releases the GIL) while the caller imports and loads the rest."""
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, work()))
        except BaseException as exc:  # handed to the caller
            box.append((False, exc))

    thread = threading.Thread(target=run, name="ragkit-onnx-verify", daemon=True)
    thread.start()

    def result() -> Any:
        thread.join()
        ok, value = box[0]
        if not ok:
            raise value
        return value

    return result


class OnnxEncoder:
    """Embeds texts with an exported model folder: tokenizers + onnxruntime, unit float32 rows.

    Texts are stripped (and lower-cased for a model that asks for it), truncated to
    ``max_seq_length`` tokens and batched by length, as sentence-transformers does.

    Raises:
        MissingDependencyError: ``onnxruntime`` is not installed.
        ModelIntegrityError: the folder's ``model.onnx`` differs from its recorded sha256.
    """

    def __init__(self, folder: Path, *, max_seq_length: int | None = None, threads: int | None = None,
                 providers: Sequence[str] = ("CPUExecutionProvider",)) -> None:
        self.folder = Path(folder)
        meta = json.loads((self.folder / META_FILE).read_text(encoding="utf-8"))
        verified = _in_background(lambda: check_export(self.folder, meta.get("weights_sha256")))
        ort = require("onnxruntime", package="onnxruntime")  # imports while model.onnx is hashed
        from tokenizers import Tokenizer

        self.meta = meta
        self.pooling = str(meta["pooling"])
        self.dimension = int(meta["dimension"])
        self.do_lower_case = bool(meta["do_lower_case"])
        self.max_seq_length = int(max_seq_length or meta["max_seq_length"])
        self.spec = ModelSpec(folder=Path(meta["source"]), pooling=self.pooling, dimension=self.dimension,
                              max_seq_length=self.max_seq_length, do_lower_case=self.do_lower_case)
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=str(meta["pad_token"]))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        available = set(ort.get_available_providers())
        chosen = [p for p in providers if p in available] or ["CPUExecutionProvider"]
        if verified() is None:  # before ONNX Runtime reads a byte of the file
            raise ModelIntegrityError(f"{self.folder / 'model.onnx'} does not match its recorded sha256 or format.")
        self.session = ort.InferenceSession(str(self.folder / "model.onnx"), options, providers=chosen)
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given (a tqdm bar with ``progress``)."""
        prepared = [t.strip().lower() if self.do_lower_case else t.strip() for t in texts]
        out = np.empty((len(prepared), self.dimension), dtype=np.float32)
        order = np.argsort(np.fromiter(map(len, prepared), dtype=np.int64, count=len(prepared)) * -1, kind="stable")
        starts = range(0, len(order), batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Batches", unit="batch")
        for start in starts:
            rows = order[start:start + batch_size]
            out[rows] = self._encode_batch([prepared[i] for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        tokens = self.session.run(None, {name: feed[name] for name in self.inputs})[0]
        pooled = pool(tokens, mask, self.pooling)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


def pool(tokens: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """sentence-transformers' pooling of token embeddings ``(batch, seq, dim)`` under an attention mask."""
    if mode == "cls":
        return np.asarray(tokens[:, 0], dtype=np.float32)
    weights = mask[..., None].astype(np.float32)
    if mode == "max":
        return np.asarray(np.where(weights > 0, tokens, np.float32(-1e9)).max(axis=1), dtype=np.float32)
    summed = (tokens * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    return np.asarray(summed / (np.sqrt(counts) if mode == "mean_sqrt_len" else counts), dtype=np.float32)
