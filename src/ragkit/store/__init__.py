"""Persistence: the chunk table, manifests and atomic collection folders."""

from ragkit.store.collection import Collection
from ragkit.store.folder import collect_garbage
from ragkit.store.manifest import FORMAT_VERSION
from ragkit.store.registry import register_component

__all__ = ["Collection", "FORMAT_VERSION", "collect_garbage", "register_component"]
