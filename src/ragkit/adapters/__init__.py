"""Adapters into LLM frameworks: a ragkit retriever as a LangChain / LlamaIndex retriever or a Haystack component.

Each module needs its framework (extras ``langchain``, ``llamaindex``, ``haystack``) and is
imported on its own: ``from ragkit.adapters.langchain import RagkitLangChainRetriever``.
"""

from ragkit.adapters.common import RAGKIT_KEY, both_filters, bound_retriever, hit_fields

__all__ = ["RAGKIT_KEY", "both_filters", "bound_retriever", "hit_fields"]
