"""Evaluate a retriever on a BEIR-layout dataset at document level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ragkit._validation import check_int
from ragkit.eval import EvalResult, doc_level_run, evaluate

if TYPE_CHECKING:
    from ragkit.eval import BeirDataset
    from ragkit.retrieval.base import BaseRetriever

__all__ = ["evaluate_retriever", "retrieve_run"]


def retrieve_run(retriever: BaseRetriever, queries: dict[str, str], *, depth: int = 300,
                 batch_size: int = 256) -> dict[str, dict[str, float]]:
    """A document-level run: each query's top ``depth`` chunks, max-pooled per document."""
    check_int("retrieve_run", "depth", depth, low=1)
    doc_ids = np.asarray(retriever.collection.chunks.column("doc_id").to_numpy(zero_copy_only=False))
    qids: Sequence[str] = list(queries)
    per_doc, per_score = [], []
    for start in range(0, len(qids), batch_size):
        batch = qids[start:start + batch_size]
        for cands in retriever.retrieve([queries[q] for q in batch], depth):
            per_doc.append(doc_ids[cands.rows])
            per_score.append(cands.scores)
    return doc_level_run(qids, per_doc, per_score)


def evaluate_retriever(retriever: BaseRetriever, dataset: BeirDataset, *,
                       metrics: Sequence[str] = ("ndcg@10", "recall@100"), depth: int = 300) -> EvalResult:
    """nDCG@10 / Recall@100 (or other ``metrics``) of ``retriever`` on ``dataset``'s judged queries."""
    return evaluate(retrieve_run(retriever, dataset.queries, depth=depth), dataset.qrels, metrics)
