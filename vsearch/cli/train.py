"""`vsearch train`: train a grounding model on cached features, with per-epoch validation."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click
from tqdm import tqdm

from vsearch.cli.app import echo_json
from vsearch.research.benchmark_files import BENCHMARKS
from vsearch.research.training import TrainProgress, train_from_files


@click.command("train")
@click.option("--train", "train_path", required=True, type=click.Path(dir_okay=False),
              help="Training annotation file.")
@click.option("--val", "val_path", required=True, type=click.Path(dir_okay=False),
              help="Validation annotation file (with ground truth).")
@click.option("--features", "features_dir", required=True, type=click.Path(file_okay=False),
              help="Folder with video/{vid}.npy and query/{qid}.npy features.")
@click.option("--config", default="qvhighlights", show_default=True,
              help="Model preset (qvhighlights, charades, tvsum, youtube) or a JSON config.")
@click.option("--dataset", type=click.Choice(BENCHMARKS), default=None,
              help="Annotation format and evaluator (default: the config's name).")
@click.option("--out", "run_dir", required=True, type=click.Path(file_okay=False),
              help="Run folder: state, metrics.jsonl, best.pth.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Default 30.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Default 128.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Peak learning rate (default 5e-4).")
@click.option("--mismatched", type=click.FloatRange(min=0), default=None,
              help="Mismatched pairs (a query with another video) per pair in each batch, "
                   "trained to score low; only for queries specific to their video. Default 0.")
@click.option("--video-contrast", type=click.FloatRange(min=0), default=None,
              help="Weight of a loss that ranks each query's own video above other training "
                   "videos; only for queries specific to their video. Default 0.")
@click.option("--init", "init_checkpoint", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Fine-tune this checkpoint (same config) instead of starting "
                                 "from random weights.")
@click.option("--resume", is_flag=True, help="Continue the run saved in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def train_command(as_json: bool, **options) -> None:
    """Train an R2-Tuning model; the best epoch is kept as an official-format checkpoint."""
    with tqdm(file=sys.stderr, disable=not sys.stderr.isatty(), unit="step") as bar:
        def on_progress(progress: TrainProgress) -> None:
            if progress.phase == "train" and progress.step == 1:
                bar.reset(total=progress.steps)
            bar.set_description(f"epoch {progress.epoch}/{progress.epochs} {progress.phase}")
            if progress.phase == "train":
                bar.update(1)
                bar.set_postfix(loss=f"{progress.loss:.4f}")

        report = train_from_files(**options, on_progress=on_progress)
    if as_json:
        echo_json(asdict(report))
        return
    click.echo(f"epochs done: {report.epochs_done}")
    if report.best_epoch is not None:
        metric = report.history[-1].selection_metric
        click.echo(f"best: epoch {report.best_epoch}, {metric} {report.best_score:.2f}")
        click.echo(f"checkpoint: {report.best_checkpoint}")
