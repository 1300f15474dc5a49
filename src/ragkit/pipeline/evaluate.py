"""Evaluate a retriever on a BEIR-layout dataset at document or chunk level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ragkit.core.errors import InputError
from ragkit.core.validation import check_choice, check_int
from ragkit.eval import BeirDataset, EvalResult, doc_level_run, evaluate
from ragkit.eval.runs import chunk_ids

if TYPE_CHECKING:
    from ragkit.eval import BeirDataset
    from ragkit.search.base import BaseRetriever

__all__ = ["evaluate_retriever", "retrieve_run"]

Level = Literal["document", "chunk"]


def retrieve_run(retriever: BaseRetriever, queries: dict[str, str], *, depth: int = 300,
                 batch_size: int = 256, level: Level = "document") -> dict[str, dict[str, float]]:
    """A run over each query's top ``depth`` chunks.

    ``level="document"``: each document keeps its best chunk's score (BEIR qrels judge
    documents). ``level="chunk"``: one entry per chunk, id ``"<doc_id>#<position>"``, for
    qrels judged at chunk level.
    """
    check_int("retrieve_run", "depth", depth, low=1)
    check_choice("retrieve_run", "level", level, ("document", "chunk"))
    table = retriever.collection.chunks
    doc_ids = np.asarray(table.column("doc_id").to_numpy(zero_copy_only=False))
    if level == "chunk":
        doc_ids = chunk_ids(doc_ids, table.column("position").to_numpy())
    qids: Sequence[str] = list(queries)
    per_doc, per_score = [], []
    for start in range(0, len(qids), batch_size):
        batch = qids[start:start + batch_size]
        for cands in retriever.retrieve([queries[q] for q in batch], depth):
            per_doc.append(doc_ids[cands.rows])
            per_score.append(cands.scores)
    return doc_level_run(qids, per_doc, per_score)


def evaluate_retriever(retriever: BaseRetriever, dataset: BeirDataset, *,
                       metrics: Sequence[str] = ("ndcg@10", "recall@100"), depth: int = 300,
                       level: Level = "document") -> EvalResult:
    """nDCG@10 / Recall@100 (or other ``metrics``) of ``retriever`` on ``dataset``'s judged queries.

    ``level="chunk"`` scores chunk ids ``"<doc_id>#<position>"`` against chunk-level qrels.
    """
    if not isinstance(dataset, BeirDataset):
        raise InputError(f"evaluate_retriever takes a BeirDataset (ragkit.eval.load_beir(path)). Got {type(dataset).__name__}.")
    return evaluate(retrieve_run(retriever, dataset.queries, depth=depth, level=level), dataset.qrels, metrics)
