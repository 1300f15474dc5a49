"""The allow-list of component types a manifest may name.

Opening a collection never imports a class from a string found in a file: a type name
must be registered here (built-ins are) or through :func:`register_component`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ragkit.core.errors import ConfigError, IndexFormatError

__all__ = ["register_component", "resolve_component", "component_config", "component_from_config"]

_BUILTINS: dict[str, str] = {
    "SentenceTransformerEmbedder": "ragkit.embedding.sentence_transformer",
    "HashEmbedder": "ragkit.embedding.hashing",
    "RecursiveChunker": "ragkit.chunking",
    "SentenceChunker": "ragkit.chunking",
    "MarkdownChunker": "ragkit.chunking",
    "WholeDocumentChunker": "ragkit.chunking",
    "FaissIndex": "ragkit.index.vector.faiss",
    "BM25Index": "ragkit.index.bm25.index",
}
_registered: dict[str, type[Any]] = {}


def register_component(cls: type[Any]) -> type[Any]:
    """Allow ``cls`` (a chunker, embedder or index with ``from_config``) in manifests.

    Usable as a class decorator.
    """
    if not isinstance(cls, type):
        raise ConfigError(f"register_component takes a class (a chunker, embedder or index). Got {type(cls).__name__}.")
    if not hasattr(cls, "from_config"):
        raise ConfigError(f"{cls.__name__} needs a from_config classmethod to be registered.")
    if cls.__name__ in _BUILTINS and resolve_component(cls.__name__) is not cls:
        raise ConfigError(f"{cls.__name__} is the name of a built-in ragkit component; give your class another name.")
    _registered[cls.__name__] = cls
    return cls


def resolve_component(type_name: Any) -> type[Any]:
    """The class registered under ``type_name``.

    Raises:
        IndexFormatError: if the name is not on the allow-list.
    """
    if isinstance(type_name, str):
        if type_name in _registered:
            return _registered[type_name]
        if type_name in _BUILTINS:
            return getattr(importlib.import_module(_BUILTINS[type_name]), type_name)  # type: ignore[no-any-return]
    allowed = sorted({*_BUILTINS, *_registered})
    raise IndexFormatError(
        f"The manifest names component type {type_name!r}, which is not allowed. Known types: "
        f"{', '.join(allowed)}. Register custom components with ragkit.register_component."
    )


def component_config(component: Any) -> dict[str, Any]:
    """A component's config dict, always carrying its registered ``type``."""
    config = dict(component.get_config())
    config.setdefault("type", type(component).__name__)
    return config


def component_from_config(config: Any, what: str = "a component") -> Any:
    """The component a manifest entry describes: ``resolve_component(config["type"]).from_config(config)``.

    ``what`` names the entry in messages (``"the chunker"``, ``"index 'bm25'"``).

    Raises:
        IndexFormatError: ``config`` is not a mapping, or names a type not on the allow-list.
        ConfigError: the component's ``from_config`` refuses the config (unknown keys from a
            newer ragkit, bad values).
    """
    if not isinstance(config, Mapping):
        raise IndexFormatError(
            f"The manifest's config of {what} must be a mapping with a 'type'. Got {type(config).__name__} instead."
        )
    return resolve_component(config.get("type")).from_config(dict(config))
