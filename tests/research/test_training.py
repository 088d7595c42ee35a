"""Training a tiny model on generated features: losses fall, validation beats the untrained
model, runs resume, and the CLI drives it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tests.research.synthetic_grounding import tiny_config, write_split
from vsearch.cli import main
from vsearch.errors import InputError, Interrupted, OutputError
from vsearch.grounding import R2Config, R2Model, load_checkpoint
from vsearch.research.datasets import FeatureDataset, read_annotations
from vsearch.research.negatives import MismatchSampler, contrast_groups
from vsearch.research.training import (
    TrainSettings,
    learning_rate,
    train_grounding,
    validate,
)

SETTINGS = TrainSettings(epochs=6, batch_size=16, lr=3e-3, warmup_iterations=4,
                         lr_step_epochs=(5,), eval_batch_size=32)
STEPS_PER_EPOCH = 4


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and CPU time (the budget below) then measures
    the work itself even on a machine busy with other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("synthetic")
    train = write_split(root, "train", 16 * STEPS_PER_EPOCH, seed=1, first_qid=0)
    val = write_split(root, "val", 32, seed=2, first_qid=1000)
    return {
        "root": root,
        "train": train,
        "val": val,
        "features": root / "features",
        "train_samples": read_annotations(train, "qvhighlights"),
        "val_samples": read_annotations(val, "qvhighlights"),
    }


@pytest.fixture(scope="module")
def trained(bench: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    run_dir = tmp_path_factory.mktemp("run")
    seen = []
    started = time.process_time()
    report = train_grounding(
        train_samples=bench["train_samples"],
        val_samples=bench["val_samples"],
        features_dir=bench["features"],
        config=tiny_config(),
        dataset="qvhighlights",
        run_dir=run_dir,
        settings=SETTINGS,
        on_progress=seen.append,
    )
    return report, seen, time.process_time() - started


def test_training_learns_the_signal(bench: dict, trained: tuple) -> None:
    report, seen, seconds = trained
    assert seconds < 60
    assert report.epochs_done == SETTINGS.epochs
    first, last = report.history[0], report.history[-1]
    assert last.losses["loss"] < 0.8 * first.losses["loss"]

    torch.manual_seed(SETTINGS.seed)
    untrained = R2Model(tiny_config())
    val_set = FeatureDataset(bench["val_samples"], bench["features"])
    baseline, _ = validate(untrained, val_set, "qvhighlights", 32)
    assert report.best_score > baseline["brief"]["MR-full-mAP"] + 10
    best = max(report.history, key=lambda r: r.score)
    assert best.best and best.epoch == report.best_epoch

    steps = [p for p in seen if p.phase == "train"]
    assert len(steps) == SETTINGS.epochs * STEPS_PER_EPOCH
    assert [p.step for p in steps[:STEPS_PER_EPOCH]] == list(range(1, STEPS_PER_EPOCH + 1))
    assert sum(p.phase == "validate" for p in seen) == SETTINGS.epochs


def test_run_folder_holds_metrics_and_an_official_checkpoint(bench: dict, trained: tuple) -> None:
    report = trained[0]
    lines = (report.run_dir / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == list(range(1, SETTINGS.epochs + 1))
    assert "MR-full-mAP" in records[0]["metrics"] and "loss_cls" in records[0]["losses"]

    raw = torch.load(report.best_checkpoint, map_location="cpu", weights_only=False)
    assert set(raw) == {"state_dict", "meta"}
    assert raw["meta"]["epoch"] == report.best_epoch
    model, config = load_checkpoint(report.best_checkpoint)
    assert config == tiny_config()
    val_set = FeatureDataset(bench["val_samples"], bench["features"])
    metrics, _ = validate(model, val_set, "qvhighlights", 32)
    assert metrics["brief"]["MR-full-mAP"] == pytest.approx(report.best_score)
    preds = (report.run_dir / "best_val_preds.jsonl").read_text().splitlines()
    assert len(preds) == len(bench["val_samples"])


def test_resume_continues_and_a_fresh_start_refuses_an_existing_run(
    bench: dict, tmp_path: Path
) -> None:
    small = TrainSettings(epochs=1, batch_size=32, warmup_iterations=2)
    common = dict(
        train_samples=bench["train_samples"][:32],
        val_samples=bench["val_samples"][:8],
        features_dir=bench["features"],
        config=tiny_config(),
        dataset="qvhighlights",
        run_dir=tmp_path,
    )
    train_grounding(**common, settings=small)
    with pytest.raises(OutputError, match="--resume"):
        train_grounding(**common, settings=small)
    more = TrainSettings(epochs=2, batch_size=32, warmup_iterations=2)
    report = train_grounding(**common, settings=more, resume=True)
    assert report.epochs_done == 2
    assert [r.epoch for r in report.history] == [1, 2]
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2
    assert report.history[1].iterations == 2
    with pytest.raises(InputError, match="another config"):
        train_grounding(**{**common, "dataset": "charades"}, settings=more, resume=True)


def test_an_interrupted_run_keeps_finished_epochs_and_resumes(bench: dict, tmp_path: Path) -> None:
    settings = TrainSettings(epochs=2, batch_size=32, warmup_iterations=2)
    common = dict(
        train_samples=bench["train_samples"][:32],
        val_samples=bench["val_samples"][:8],
        features_dir=bench["features"],
        config=tiny_config(),
        dataset="qvhighlights",
        run_dir=tmp_path,
        settings=settings,
    )

    def interrupt_in_epoch_2(progress) -> None:
        if progress.epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="1 epochs are saved"):
        train_grounding(**common, on_progress=interrupt_in_epoch_2)
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 1
    assert (tmp_path / "best.pth").exists()
    assert not list(tmp_path.glob(".*pending"))
    report = train_grounding(**common, resume=True)
    assert [r.epoch for r in report.history] == [1, 2]


def test_learning_rate_schedule() -> None:
    settings = TrainSettings(lr=1.0, warmup_iterations=10, lr_step_epochs=(20,))
    assert learning_rate(settings, 0, 1) == pytest.approx(1e-3)
    assert learning_rate(settings, 5, 1) == pytest.approx(1e-3 + (1 - 1e-3) * 0.5)
    assert learning_rate(settings, 10, 1) == 1.0
    assert learning_rate(settings, 1000, 20) == 1.0
    assert learning_rate(settings, 1000, 21) == pytest.approx(0.1)


def test_cli_trains_and_reports_json(bench: dict, tmp_path: Path) -> None:
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(tiny_config().to_dict()))
    val = tmp_path / "val.jsonl"
    val.write_text("".join(bench["val"].read_text().splitlines(keepends=True)[:8]))
    args = ["train", "--train", str(val), "--val", str(val), "--features",
            str(bench["features"]), "--config", str(config_path), "--out", str(tmp_path / "run"),
            "--epochs", "1", "--batch-size", "8", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["epochs_done"] == 1 and report["best_epoch"] == 1
    result = CliRunner().invoke(main, args)
    assert result.exit_code == OutputError.exit_code

    tuned = tmp_path / "tuned"
    best = str(tmp_path / "run" / "best.pth")
    args[args.index("--out") + 1] = str(tuned)
    result = CliRunner().invoke(main, [*args, "--init", best, "--video-contrast", "1"])
    assert result.exit_code == 0, result.output
    record = json.loads((tuned / "metrics.jsonl").read_text().splitlines()[0])
    assert record["losses"]["loss_video_contrast"] > 0


def test_cli_reports_a_malformed_annotation_line(bench: dict, tmp_path: Path) -> None:
    val = tmp_path / "val.jsonl"
    first = bench["val"].read_text().splitlines()[0]
    val.write_text(first + "\n" + '{"qid": 5, "query": "q", "vid": "v"}\n')
    args = ["train", "--train", str(bench["train"]), "--val", str(val), "--features",
            str(bench["features"]), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == InputError.exit_code
    assert f"{val}:2: missing key 'duration'" in result.output


def _own_video_first(model: R2Model, val_set: FeatureDataset, others: int = 5) -> float:
    """How often a query's top moment scores higher on its own video than on `others` videos
    of other concepts (told apart by the direction of their query features)."""
    import numpy as np

    from vsearch.grounding import ground

    items = [val_set[i] for i in range(len(val_set))]
    directions = np.stack([item.query.mean(axis=(0, 1)) for item in items])
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    wins = []
    for i, item in enumerate(items):
        unlike = [j for j in range(len(items)) if directions[i] @ directions[j] < 0.5]
        videos = [item.video] + [items[j].video for j in unlike[:others]]
        results = ground(model, [(video, item.query) for video in videos], fps=0.5)
        top = [float(r.boundaries[0, 2]) for r in results]
        wins.append(top[0] > max(top[1:]))
    return sum(wins) / len(wins)


@pytest.mark.parametrize(
    ("extra", "loss_key"),
    [
        ({"mismatched": 1.0}, "loss_cls"),  # mismatched pairs train the published losses
        ({"video_contrast": 1.0, "contrast_others": 3}, "loss_video_contrast"),
    ],
    ids=["mismatched-pairs", "video-contrast"],
)
@pytest.mark.slow
def test_other_videos_teach_the_model_to_rank_its_own_video_first(
    bench: dict, trained: tuple, tmp_path: Path, extra: dict, loss_key: str
) -> None:
    settings = TrainSettings(**{**SETTINGS.__dict__, **extra})
    report = train_grounding(
        train_samples=bench["train_samples"], val_samples=bench["val_samples"],
        features_dir=bench["features"], config=tiny_config(), dataset="qvhighlights",
        run_dir=tmp_path / "run", settings=settings,
    )  # fmt: skip
    assert loss_key in report.history[0].losses
    val_set = FeatureDataset(bench["val_samples"], bench["features"])
    plain = _own_video_first(load_checkpoint(trained[0].best_checkpoint)[0], val_set)
    taught = _own_video_first(load_checkpoint(report.best_checkpoint)[0], val_set)
    assert taught > plain + 0.15


def test_hard_mismatched_pairs_come_from_the_listed_confusable_videos(bench: dict) -> None:
    import numpy as np

    train_set = FeatureDataset(bench["train_samples"], bench["features"])
    sample = train_set.samples[0]
    others = sorted({s.vid for s in train_set.samples} - {sample.vid})
    confusable = {sample.qid: [others[0], "not-a-training-video"]}
    wanted = next(train_set[i].video for i, s in enumerate(train_set.samples)
                  if s.vid == others[0])  # fmt: skip
    rng = np.random.default_rng(0)
    sampler = MismatchSampler(train_set, confusable)
    assert all(np.array_equal(sampler.other_video(sample, rng, hard_share=1.0), wanted)
               for _ in range(20))  # fmt: skip
    own = train_set[0].video
    drawn = [sampler.other_video(sample, rng, hard_share=0.0) for _ in range(20)]
    assert not any(np.array_equal(video, own) for video in drawn)
    assert not all(np.array_equal(video, wanted) for video in drawn)


def test_contrast_groups_put_the_own_video_first_then_distinct_other_videos(bench: dict) -> None:
    import numpy as np

    train_set = FeatureDataset(bench["train_samples"], bench["features"])
    items = [train_set[i] for i in range(3)]
    sampler = MismatchSampler(train_set, {})
    groups = contrast_groups(sampler, items, others=4, rng=np.random.default_rng(0))
    assert groups.group_size == 5 and groups.video.shape[0] == 15
    for row, item in enumerate(items):
        group = groups.video[row * 5 : (row + 1) * 5].numpy()
        assert np.array_equal(group[0], item.video.astype(group.dtype))
        flat = group.reshape(5, -1)
        assert len({flat[i].tobytes() for i in range(5)}) == 5  # own + 4 distinct others
        assert all(np.array_equal(q, item.query) for q in groups.query[row * 5 : (row + 1) * 5])
    with pytest.raises(InputError, match="training videos"):
        sampler.other_videos(items[0].sample, len(train_set), np.random.default_rng(0), 0.0)

    # only one confusable video listed, always preferred: it comes once, then random ones
    sample = items[0].sample
    other_vid = next(s.vid for s in train_set.samples if s.vid != sample.vid)
    hard = MismatchSampler(train_set, {sample.qid: [other_vid]})
    wanted = next(train_set[i].video for i, s in enumerate(train_set.samples)
                  if s.vid == other_vid)  # fmt: skip
    drawn = hard.other_videos(sample, 3, np.random.default_rng(0), hard_share=1.0)
    assert np.array_equal(drawn[0], wanted)
    assert not any(np.array_equal(video, wanted) for video in drawn[1:])


def test_fine_tuning_starts_from_the_given_checkpoint(
    bench: dict, trained: tuple, tmp_path: Path
) -> None:
    start = trained[0].best_checkpoint
    gentle = TrainSettings(epochs=1, batch_size=16, lr=1e-9, warmup_iterations=1)
    report = train_grounding(
        train_samples=bench["train_samples"], val_samples=bench["val_samples"],
        features_dir=bench["features"], config=tiny_config(), dataset="qvhighlights",
        run_dir=tmp_path / "tuned", settings=gentle, init_checkpoint=start,
    )  # fmt: skip
    assert report.best_score == pytest.approx(trained[0].best_score, abs=1.0)
    other = R2Config.from_dict({**tiny_config().to_dict(), "dims": 64})
    with pytest.raises(InputError, match="another architecture"):
        train_grounding(
            train_samples=bench["train_samples"], val_samples=bench["val_samples"],
            features_dir=bench["features"], config=other, dataset="qvhighlights",
            run_dir=tmp_path / "other", settings=gentle, init_checkpoint=start,
        )  # fmt: skip


def test_mismatched_pairs_are_refused_for_highlight_configs(bench: dict, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="moment-retrieval"):
        train_grounding(
            train_samples=bench["train_samples"], val_samples=bench["val_samples"],
            features_dir=bench["features"], config=R2Config.resolve("tvsum"),
            dataset="qvhighlights", run_dir=tmp_path / "run",
            settings=TrainSettings(mismatched=0.5),
        )  # fmt: skip
