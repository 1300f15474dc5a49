"""Storage: the chunk table, filters, access control, collections (single and sharded) and their persistence."""

from ragkit.store.access import Principal
from ragkit.store.collection import Collection
from ragkit.store.filters import OPERATORS, Filter, filter_mask, filters_key
from ragkit.store.folder import collect_garbage
from ragkit.store.manifest import FORMAT_VERSION
from ragkit.store.registry import register_component
from ragkit.store.sharded import ShardedCollection, open_collection

__all__ = ["Collection", "FORMAT_VERSION", "Filter", "OPERATORS", "Principal", "ShardedCollection", "collect_garbage",
           "filter_mask", "filters_key", "open_collection", "register_component"]
