"""Helpers for testing ragkit pieces and code built on them."""

from ragkit.testing.contract import ContractViolation, check_component, construction_is_light
from ragkit.testing.corpus import synthetic_documents, synthetic_queries
from ragkit.testing.fake_embedder import HashEmbedder
from ragkit.testing.retrievers import check_retriever

__all__ = ["ContractViolation", "HashEmbedder", "check_component", "check_retriever", "construction_is_light",
           "synthetic_documents", "synthetic_queries"]
