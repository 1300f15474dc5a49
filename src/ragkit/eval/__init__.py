"""Evaluation: BEIR loading, trec_eval-exact ranking metrics, runs, the fusion workbench and experiments.

pandas and matplotlib (``ragkit[notebook]``) load only when a table or plot is asked for.
"""

from ragkit.eval.beir import BeirDataset, default_data_dir, load_beir
from ragkit.eval.experiments import Experiment, experiment_grid, experiment_workbench, run_experiments
from ragkit.eval.fusion_config import FusionConfig
from ragkit.eval.metrics import METRIC_FORMS, EvalResult, evaluate
from ragkit.eval.plots import plot_metric_vs_latency, plot_metric_vs_weight
from ragkit.eval.runs import chunk_level_run, doc_level_run
from ragkit.eval.workbench import FusedHit, FusionWorkbench, fusion_grid

__all__ = [
    "BeirDataset",
    "load_beir",
    "default_data_dir",
    "EvalResult",
    "evaluate",
    "METRIC_FORMS",
    "chunk_level_run",
    "doc_level_run",
    "FusionConfig",
    "FusionWorkbench",
    "FusedHit",
    "fusion_grid",
    "Experiment",
    "experiment_grid",
    "experiment_workbench",
    "run_experiments",
    "plot_metric_vs_latency",
    "plot_metric_vs_weight",
]
