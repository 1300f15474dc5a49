"""Helpers for testing ragkit pieces and code built on them."""

from ragkit.testing.contract import ContractViolation, check_component, construction_is_light
from ragkit.testing.corpus import synthetic_documents, synthetic_queries
from ragkit.testing.fake_embedder import HashEmbedder
from ragkit.testing.fake_reranker import FakeReranker
from ragkit.testing.retrievers import check_retriever
from ragkit.testing.stages import check_reranker, check_stage

__all__ = ["ContractViolation", "FakeReranker", "HashEmbedder", "check_component", "check_reranker", "check_retriever",
           "check_stage", "construction_is_light", "synthetic_documents", "synthetic_queries"]
