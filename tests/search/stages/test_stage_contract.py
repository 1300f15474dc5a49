"""Every built-in stage passes the stage contract on every retriever, and the retriever contract once stacked with wrappers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import ragkit
from ragkit import BM25Retriever, DenseRetriever, HybridRetriever, Principal
from ragkit.cache import CachedRetriever, SemanticCache
from ragkit.core.results import Candidates
from ragkit.observe import Metrics, ObservedRetriever
from ragkit.search import MMR, Expand, Rerank
from ragkit.search.context import SearchContext
from ragkit.testing import ContractViolation, FakeReranker, check_reranker, check_retriever, check_stage

from .conftest import QUERIES

STAGES: dict[str, Callable[[], Any]] = {
    "rerank": lambda: Rerank(FakeReranker(), candidates=10),
    "rerank-budget": lambda: Rerank(FakeReranker(), candidates=10, budget_ms=50),
    "mmr": lambda: MMR(lambda_=0.5, candidates=10, per_document=1),
    "expand": lambda: Expand(window=1),
}
RETRIEVERS: dict[str, Callable[[Any], Any]] = {"bm25": BM25Retriever, "dense": DenseRetriever, "hybrid": HybridRetriever}
WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "cached": lambda r: CachedRetriever(r, SemanticCache(threshold=0.95)),
    "observed": lambda r: ObservedRetriever(r, metrics=Metrics()),
    "observed(cached)": lambda r: ObservedRetriever(CachedRetriever(r)),
}


@pytest.mark.parametrize("retriever", list(RETRIEVERS))
@pytest.mark.parametrize("stage", list(STAGES))
def test_every_stage_passes_the_stage_contract(collection: ragkit.Collection, stage: str, retriever: str) -> None:
    check_stage(STAGES[stage](), RETRIEVERS[retriever](collection), QUERIES, k=3)


@pytest.mark.parametrize("wrap", list(WRAPPERS))
def test_stacked_stages_inside_wrappers_pass_the_retriever_contract(collection: ragkit.Collection, wrap: str) -> None:
    staged = HybridRetriever(collection).then(STAGES["rerank"](), STAGES["mmr"](), STAGES["expand"]())
    check_retriever(WRAPPERS[wrap](staged), QUERIES, k=3, principal=Principal("u", groups=["red"]))
    check_retriever(WRAPPERS[wrap](HybridRetriever(collection)).then(STAGES["rerank"]()), QUERIES, k=3)


def test_the_fake_reranker_passes_the_reranker_contract() -> None:
    check_reranker(FakeReranker())


def test_the_stage_contract_catches_a_stage_that_invents_rows(collection: ragkit.Collection) -> None:
    class Inventive:
        name = "inventive"

        def depth(self, k: int) -> int:
            return k

        def apply(self, context: SearchContext, candidates: list[Candidates], k: int) -> list[Candidates]:
            return [Candidates(c.rows[:k] + 1000, c.scores[:k]) for c in candidates]

    with pytest.raises(ContractViolation, match="not given"):
        check_stage(Inventive(), BM25Retriever(collection), QUERIES)


def test_the_reranker_contract_catches_a_reranker_with_batch_effects() -> None:
    class Positional(FakeReranker):
        def score(self, queries, texts):  # type: ignore[no-untyped-def]
            return super().score(queries, texts) + range(len(queries))

    with pytest.raises(ContractViolation, match="any batch"):
        check_reranker(Positional())
