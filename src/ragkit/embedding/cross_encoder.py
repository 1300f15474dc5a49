"""Cross-encoder reranking with sentence-transformers' ``CrossEncoder``: batched, device auto, fp16 on CUDA."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ragkit.core.deps import require
from ragkit.core.errors import ConfigError, InputError, MissingDependencyError
from ragkit.core.validation import check_choice, check_config, check_int, check_str
from ragkit.embedding.sentence_transformer import check_texts

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

__all__ = ["CrossEncoderConfig", "CrossEncoderReranker"]

logger = logging.getLogger(__name__)

_BACKENDS = ("torch", "onnx")
_DEVICES = ("auto", "cpu", "cuda", "mps")
#: Architectures that score a pair: a classification head, or a causal LM scored on "yes"/"no".
_PAIR_HEADS = ("ForSequenceClassification", "ForCausalLM")


@dataclass(frozen=True, kw_only=True)
class CrossEncoderConfig:
    """Configuration of :class:`CrossEncoderReranker`.

    Args:
        model: a Hugging Face model id (e.g. ``"cross-encoder/ms-marco-MiniLM-L6-v2"``) or a local folder.
        backend: ``"torch"`` or ``"onnx"`` (needs ``optimum-onnx``; sentence-transformers exports the model).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"mps"``.
        batch_size: pairs per forward pass.
        max_length: tokens per pair (query + passage), longer pairs are truncated; ``None``: the model's own.
        fp16: half precision; ``None``: on CUDA with the torch backend.
    """

    model: str
    backend: Literal["torch", "onnx"] = "torch"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    batch_size: int = 32
    max_length: int | None = 512
    fp16: bool | None = None

    def __post_init__(self) -> None:
        owner = "CrossEncoderReranker"
        check_str(owner, "model", self.model)
        check_choice(owner, "backend", self.backend, _BACKENDS)
        check_choice(owner, "device", self.device, _DEVICES)
        object.__setattr__(self, "batch_size", check_int(owner, "batch_size", self.batch_size, low=1))
        if self.max_length is not None:
            object.__setattr__(self, "max_length", check_int(owner, "max_length", self.max_length, low=8))
        if self.fp16 is not None and not isinstance(self.fp16, bool):
            raise ConfigError(f"The 'fp16' parameter of {owner} must be True, False or None. Got {self.fp16!r} instead.")
        if self.fp16 and self.backend != "torch":
            raise ConfigError(f"The 'fp16' parameter of {owner} needs backend='torch'. Got backend={self.backend!r}.")


class CrossEncoderReranker:
    """A :class:`~ragkit.core.protocols.Reranker` on a sentence-transformers ``CrossEncoder``.

    The model loads on first use (or :meth:`load`) through the usual ``CrossEncoder(name)``
    route: a local folder, or the Hugging Face hub (its cache when offline). Scores are the
    model's raw logits (no sigmoid), so they never saturate into ties.

    Example:
        >>> reranker = CrossEncoderReranker("cross-encoder/ms-marco-MiniLM-L6-v2")   # nothing loaded yet
        >>> reranker.score(["what is bm25?"], ["BM25 is a ranking function."])       # doctest: +SKIP
        array([7.93...])

    Raises:
        ConfigError: an invalid option; on load, a model that cannot be loaded or is not a
            cross-encoder (a bi-encoder such as all-MiniLM-L6-v2, or a head with several labels).
        MissingDependencyError: ``backend="onnx"`` without ``optimum-onnx``.
        InputError: :meth:`score` with lists of different lengths or non-strings.
    """

    def __init__(self, model: str, **options: Any) -> None:
        valid = {f.name for f in fields(CrossEncoderConfig)} - {"model"}
        unknown = set(options) - valid
        if unknown:
            raise ConfigError(f"CrossEncoderReranker got unknown option(s) {sorted(unknown)}; valid options are {sorted(valid)}.")
        self.config = CrossEncoderConfig(model=model, **options)
        self._model: CrossEncoder | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CrossEncoderReranker:
        return cls(**check_config(cls.__name__, config, [f.name for f in fields(CrossEncoderConfig)]))

    def get_config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **asdict(self.config)}

    @property
    def model_id(self) -> str:
        return self.config.model

    @property
    def device(self) -> str:
        return str(self.load().device)

    def load(self) -> CrossEncoder:
        """Load the model once (thread-safe) and return it."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load_model()
        return self._model

    def _load_model(self) -> CrossEncoder:
        cfg = self.config
        st = require("sentence_transformers", package="sentence-transformers")
        torch = require("torch")
        if cfg.backend == "onnx":
            try:
                import optimum.onnxruntime  # noqa: F401
            except ImportError as exc:
                raise MissingDependencyError(
                    "CrossEncoderReranker(backend='onnx') needs 'optimum-onnx' and 'onnxruntime' (pip install optimum-onnx "
                    "onnxruntime); optimum-onnx 0.1 requires transformers < 4.58."
                ) from exc
        device = cfg.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        logger.info("loading cross-encoder %s (%s) on %s", cfg.model, cfg.backend, device)
        try:
            model = st.CrossEncoder(cfg.model, device=device, backend=cfg.backend, max_length=cfg.max_length,
                                    activation_fn=torch.nn.Identity())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"CrossEncoderReranker cannot load {cfg.model!r} as a cross-encoder: {exc}") from exc
        _check_pair_scorer(cfg.model, model)
        if cfg.backend == "torch" and (cfg.fp16 or (cfg.fp16 is None and str(model.device).startswith("cuda"))):
            model.half()
        return model

    def score(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """The relevance of ``texts[i]`` to ``queries[i]`` (float64 logits, one per pair)."""
        queries, texts = check_texts(queries), check_texts(texts)
        if len(queries) != len(texts):
            raise InputError(f"CrossEncoderReranker.score got {len(queries)} queries and {len(texts)} texts; give one text per query.")
        if not queries:
            return np.empty(0, dtype=np.float64)
        model = self.load()
        scores = model.predict(list(zip(queries, texts, strict=True)), batch_size=self.config.batch_size,
                               show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(scores, dtype=np.float64).reshape(-1)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in asdict(self.config).items()
                        if k != "model" and v != CrossEncoderConfig.__dataclass_fields__[k].default)
        return f"CrossEncoderReranker({self.config.model!r}{extra})"


def _check_pair_scorer(name: str, model: Any) -> None:
    """Refuse a model that is not a cross-encoder: sentence-transformers would bolt an untrained head onto it."""
    config = getattr(model, "config", None)
    architectures = list(getattr(config, "architectures", None) or [])
    if not any(a.endswith(_PAIR_HEADS) for a in architectures):
        raise ConfigError(
            f"{name!r} is not a cross-encoder: its architectures are {architectures or 'unknown'}, none of them a "
            "sequence-classification head. A bi-encoder (an embedding model such as all-MiniLM-L6-v2) cannot rerank; "
            "use a cross-encoder such as 'cross-encoder/ms-marco-MiniLM-L6-v2'."
        )
    labels = int(getattr(model, "num_labels", 1) or 1)
    if labels != 1:
        raise ConfigError(f"{name!r} has {labels} output labels; a reranking cross-encoder gives one relevance score per pair.")
