"""Export a sentence-transformers model to ONNX once, verified against torch (needs torch).

:func:`onnx_folder` finds the exported folder of a model in the cache or makes it:
``torch.onnx.export`` (TorchScript exporter, opset 17, dynamic batch and sequence axes) of
the Transformer's token embeddings, the fast tokenizer saved beside it, then the exported
model run by ONNX Runtime on probe texts and compared with torch after the model's pooling.
The folder is assembled under a temporary name and renamed into place, so a crash or a
concurrent export never leaves a half-written folder under the final name.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.core.arrow_io import fsync_path
from ragkit.core.deps import require
from ragkit.core.errors import ConfigError, ModelIntegrityError
from ragkit.core.hashing import sha256_file
from ragkit.embedding.onnx_model import META_FILE, ONNX_FORMAT, ModelSpec, OnnxEncoder, check_export, pool

__all__ = ["onnx_folder", "export_model", "OPSET", "PROBES"]

logger = logging.getLogger(__name__)

OPSET = 17
#: Texts the export is checked on: short, long (truncated), accented, CJK, emoji, markup.
PROBES = (
    "what is bm25?",
    "  Hybrid search fuses a lexical and a dense ranking.  ",
    "Ünïcödé façade naïve — 日本語のテキスト 🎉",
    "<h1>Title</h1> def f(x): return x ** 2  # code",
    "token " * 600,
    "The quick brown fox jumps over the lazy dog. " * 12,
)
#: The export is refused when a probe's vector differs from torch's by more than this (max abs).
TOLERANCE = 1e-4


def onnx_folder(spec: ModelSpec, weights_sha256: str, cache_root: Path) -> Path:
    """The verified exported folder of the model ``spec`` describes, exporting it on first use."""
    dest = Path(cache_root) / "onnx" / weights_sha256
    if check_export(dest, weights_sha256) is not None:
        return dest
    return export_model(spec, weights_sha256, dest)


def export_model(spec: ModelSpec, weights_sha256: str, dest: Path) -> Path:
    """Export the model to ``dest`` (replacing a stale or corrupt folder there) and return ``dest``.

    Raises:
        MissingDependencyError: torch, transformers or onnxruntime is missing.
        ConfigError: torch cannot export the model.
        ModelIntegrityError: the exported model's vectors differ from torch's.
    """
    torch = require("torch", package="torch")
    transformers = require("transformers", package="transformers")
    require("onnxruntime", package="onnxruntime")
    require("onnx", package="onnx")  # torch's exporter serialises with it
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    try:
        model = transformers.AutoModel.from_pretrained(str(spec.folder)).eval()
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(spec.folder), use_fast=True)
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError(f"backend='onnx' needs a fast (Rust) tokenizer; {spec.folder} has only a slow one.")
        tokenizer.save_pretrained(str(tmp))
        sample = tokenizer(["a probe", "a longer probe sentence"], padding=True, return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
        axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(_token_embeddings(model, names), tuple(sample[n] for n in names), str(tmp / "model.onnx"),
                                  input_names=names, output_names=["token_embeddings"], dynamic_axes=axes,
                                  opset_version=OPSET, dynamo=False)
            except Exception as exc:
                raise ConfigError(f"torch could not export {spec.folder} to ONNX ({type(exc).__name__}: {exc}); "
                                  "use backend='torch'.") from exc
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        meta: dict[str, Any] = {
            "format": ONNX_FORMAT, "weights_sha256": weights_sha256, "source": str(spec.folder),
            "pooling": spec.pooling, "dimension": spec.dimension, "max_seq_length": spec.max_seq_length,
            "do_lower_case": spec.do_lower_case, "pad_id": int(pad_id), "pad_token": str(tokenizer.pad_token or "[PAD]"),
            "inputs": names, "opset": OPSET, "onnx_sha256": sha256_file(tmp / "model.onnx"),
            "torch": torch.__version__, "onnxruntime": require("onnxruntime").__version__,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        meta["verified_max_abs_diff"] = _verify(model, tokenizer, spec, tmp)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        for path in tmp.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        _install(tmp, dest)
        logger.info("exported %s to ONNX in %s (max abs diff to torch %.2g)", spec.folder, dest,
                    meta["verified_max_abs_diff"])
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _token_embeddings(model: Any, names: list[str]) -> Any:
    """A torch module giving the transformer's last hidden state from positional inputs, in ``names`` order."""
    import torch

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    return TokenEmbeddings().eval()


def _verify(model: Any, tokenizer: Any, spec: ModelSpec, folder: Path) -> float:
    """Max abs difference between ONNX Runtime's and torch's unit vectors on :data:`PROBES`."""
    import torch

    model.eval()  # the exporter restores the wrapper's mode, which may have switched dropout on
    texts = [t.strip().lower() if spec.do_lower_case else t.strip() for t in PROBES]
    batch = tokenizer(texts, padding=True, truncation=True, max_length=spec.max_seq_length, return_tensors="pt")
    with torch.no_grad():
        tokens = model(**batch).last_hidden_state.numpy()
    expected = pool(tokens, batch["attention_mask"].numpy(), spec.pooling)
    expected /= np.maximum(np.linalg.norm(expected, axis=1, keepdims=True), 1e-12)
    got = OnnxEncoder(folder).encode(list(PROBES))
    diff = float(np.abs(got - expected).max())
    if not np.isfinite(diff) or diff > TOLERANCE:
        raise ModelIntegrityError(f"The ONNX export of {spec.folder} gives vectors up to {diff:.3g} away from torch's "
                                  f"(tolerance {TOLERANCE}); use backend='torch'.")
    return diff


def _install(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``; a stale ``dest`` is moved aside first, a concurrent export's is kept."""
    if dest.exists():
        if check_export(dest, json.loads((tmp / META_FILE).read_text(encoding="utf-8"))["weights_sha256"]) is not None:
            return  # another process exported it meanwhile
        aside = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.old"
        os.replace(dest, aside)
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.replace(tmp, dest)
    except OSError:
        if check_export(dest, json.loads((tmp / META_FILE).read_text(encoding="utf-8"))["weights_sha256"]) is None:
            raise
    fsync_path(dest.parent)
