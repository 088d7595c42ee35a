"""Metrics identical to the standard evaluators (QVHighlights, Charades-STA, TVSum, YouTube).

Public surface: `evaluate_files` (any benchmark, from prediction and annotation files) and the
per-benchmark functions on in-memory data.
"""

from vsearch.evaluation.charades import evaluate_charades
from vsearch.evaluation.files import BENCHMARKS, evaluate_files
from vsearch.evaluation.qvhighlights import (
    MomentPrediction,
    MomentTruth,
    evaluate_qvhighlights,
    evaluate_qvhighlights_files,
)
from vsearch.evaluation.tvsum import evaluate_tvsum
from vsearch.evaluation.youtube import evaluate_youtube

__all__ = [
    "BENCHMARKS",
    "MomentPrediction",
    "MomentTruth",
    "evaluate_charades",
    "evaluate_files",
    "evaluate_qvhighlights",
    "evaluate_qvhighlights_files",
    "evaluate_tvsum",
    "evaluate_youtube",
]
