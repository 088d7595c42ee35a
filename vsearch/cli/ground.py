"""`vsearch ground`: moments and saliency for one (video features, query features) pair."""

from __future__ import annotations

from pathlib import Path

import click

from vsearch.cli.app import echo_json

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("ground")
@click.option("--video-features", type=_FILE, required=True, help="(T,4,P,W) .npy array.")
@click.option("--query-features", type=_FILE, required=True, help="(L,4,W) .npy array.")
@click.option("--checkpoint", type=_FILE, required=True, help="R2-Tuning .pth checkpoint.")
@click.option(
    "--config",
    help="Preset (qvhighlights, charades, tacos, ego4d, tvsum, youtube) "
    "or a JSON config file; default: stored in or inferred from the checkpoint.",
)
@click.option("--fps", type=float, help="Clip rate of the features (default: the config's).")
@click.option("--raw", is_flag=True, help="Top moments as decoded: no clamp, rounding or NMS.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ground_command(
    video_features: Path,
    query_features: Path,
    checkpoint: Path,
    config: str | None,
    fps: float | None,
    raw: bool,
    as_json: bool,
) -> None:
    """Find the moments of a video that match a query, from precomputed CLIP features."""
    from vsearch.grounding.files import ground_feature_files

    result = ground_feature_files(
        video_features, query_features, checkpoint, config=config, fps=fps, raw=raw
    )
    if as_json:
        echo_json({"boundaries": result.boundaries.tolist(), "saliency": result.saliency.tolist()})
        return
    click.echo(f"{'rank':>4}  {'start_s':>9}  {'end_s':>9}  {'score':>7}")
    for rank, (start_s, end_s, score) in enumerate(result.boundaries[:10], start=1):
        click.echo(f"{rank:>4}  {start_s:>9.2f}  {end_s:>9.2f}  {score:>7.4f}")
    peak = int(result.saliency.argmax())
    click.echo(
        f"saliency: {result.saliency.shape[0]} clips, peak clip {peak} "
        f"({result.saliency[peak]:.4f})"
    )
