"""Evaluation: BEIR loading, trec_eval-exact ranking metrics, and run building."""

from ragkit.eval.beir import BeirDataset, default_data_dir, load_beir
from ragkit.eval.metrics import METRIC_FORMS, EvalResult, evaluate
from ragkit.eval.runs import doc_level_run

__all__ = [
    "BeirDataset",
    "load_beir",
    "default_data_dir",
    "EvalResult",
    "evaluate",
    "METRIC_FORMS",
    "doc_level_run",
]
