"""`vsearch eval`: score a prediction file with a benchmark's standard metrics."""

from __future__ import annotations

import click

from vsearch.cli.app import echo_json
from vsearch.research.benchmark_files import BENCHMARKS, evaluate_files


@click.command("eval")
@click.option("--preds", "preds_path", required=True, type=click.Path(dir_okay=False),
              help="Prediction JSON Lines file (qid + pred_relevant_windows / saliency).")
@click.option("--gt", "gt_path", required=True, type=click.Path(dir_okay=False),
              help="Ground-truth annotation file of the benchmark.")
@click.option("--dataset", type=click.Choice(BENCHMARKS), default="qvhighlights",
              show_default=True, help="Benchmark whose metrics and file format apply.")
@click.option("--json", "as_json", is_flag=True, help="Print every metric as nested JSON.")
def eval_command(preds_path: str, gt_path: str, dataset: str, as_json: bool) -> None:
    """Evaluate predictions against ground truth (official metric definitions)."""
    metrics = evaluate_files(preds_path, gt_path, dataset=dataset)
    if as_json:
        echo_json(metrics)
        return
    width = max(len(name) for name in metrics["brief"])
    for name, value in metrics["brief"].items():
        click.echo(f"{name:<{width}}  {value:6.2f}")
