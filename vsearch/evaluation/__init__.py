"""Metrics identical to the standard evaluators (QVHighlights, Charades-STA, TVSum, YouTube).

Public surface: the per-benchmark functions on in-memory data; evaluating prediction files
against annotation files of any benchmark is `vsearch.research.benchmark_files.evaluate_files`,
which needs the dataset readers.
"""

from vsearch.evaluation.charades import evaluate_charades
from vsearch.evaluation.qvhighlights import (
    MomentPrediction,
    MomentTruth,
    evaluate_qvhighlights,
    evaluate_qvhighlights_files,
)
from vsearch.evaluation.tvsum import evaluate_tvsum
from vsearch.evaluation.youtube import evaluate_youtube

__all__ = [
    "MomentPrediction",
    "MomentTruth",
    "evaluate_charades",
    "evaluate_qvhighlights",
    "evaluate_qvhighlights_files",
    "evaluate_tvsum",
    "evaluate_youtube",
]
