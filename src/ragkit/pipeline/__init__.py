"""Pipeline steps assembled in plain code."""

from ragkit.pipeline.build import build_collection
from ragkit.pipeline.evaluate import evaluate_retriever, retrieve_run
from ragkit.pipeline.sources import read_folder

__all__ = ["build_collection", "evaluate_retriever", "read_folder", "retrieve_run"]
