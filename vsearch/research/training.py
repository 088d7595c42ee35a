"""Training an R2-Tuning grounding model on cached features, resumable and validated per epoch.

Recipe (the published QVHighlights schedule, used for every dataset unless overridden): AdamW
(lr 5e-4, weight decay 1e-4), linear warm-up over the first 500 iterations from 0.1% of the
learning rate, learning rate x0.1 from epoch 20 of 30, gradient-norm clipping at 35, mixed
precision on CUDA only.

A run directory holds:

* `state.pt`: model, optimizer, scaler, schedule position and best score, written atomically
  after every epoch (an interrupted run resumes from the last finished epoch; sample order
  and random draws are seeded per epoch, so a resumed epoch replays the same batches);
* `metrics.jsonl`: one line per finished epoch (mean losses, validation metrics, lr, time);
* `best.pth`: the best model so far, in the published checkpoint format;
* `best_val_preds.jsonl`: the validation predictions of that model.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vsearch.errors import InputError, Interrupted, OutputError
from vsearch.evaluation.charades import evaluate_charades
from vsearch.evaluation.qvhighlights import MomentPrediction, MomentTruth, evaluate_qvhighlights
from vsearch.evaluation.tvsum import evaluate_tvsum
from vsearch.evaluation.youtube import evaluate_youtube
from vsearch.grounding import (
    Batch,
    R2Config,
    R2Model,
    TrainingPair,
    collate,
    compute_losses,
    ground,
    load_checkpoint,
    save_checkpoint,
    video_contrast_loss,
)
from vsearch.research.datasets import FeatureDataset, FeatureItem, GroundingSample
from vsearch.research.negatives import (
    ContrastGroups,
    MismatchSampler,
    contrast_groups,
    mismatched_pairs,
)
from vsearch.storage.atomic import rename_durably, replace_atomically, write_text_atomically

log = logging.getLogger(__name__)

# validation metric that decides the best checkpoint, per benchmark
SELECTION_METRIC = {
    "qvhighlights": "MR-full-mAP",
    "charades": "R1@0.7",
    "tvsum": "mAP",
    "youtube": "mAP",
}
STATE_FILE = "state.pt"
METRICS_FILE = "metrics.jsonl"
BEST_FILE = "best.pth"
BEST_PREDS_FILE = "best_val_preds.jsonl"
WARMUP_START_RATIO = 1e-3


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation schedule; defaults are the published QVHighlights recipe."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 5e-4
    weight_decay: float = 1e-4
    warmup_iterations: int = 500
    lr_step_epochs: tuple[int, ...] = (20,)
    lr_step_factor: float = 0.1
    grad_clip_norm: float = 35.0
    eval_batch_size: int = 32
    seed: int = 0
    device: str | None = None  # None: CUDA when available, else CPU
    # mismatched pairs added per matched pair of a batch (0 in the published recipe)
    mismatched: float = 0.0
    # share of mismatched pairs drawn from the query's confusable videos, when it lists any
    hard_mismatched: float = 0.0
    # weight of the video contrast loss (0 in the published recipe): each step scores
    # `contrast_queries` of the batch's queries against their own video and `contrast_others`
    # other videos, `contrast_hard` of them drawn from the query's confusable videos
    video_contrast: float = 0.0
    contrast_queries: int = 12
    contrast_others: int = 4
    contrast_hard: float = 0.75
    contrast_scale: float = 4.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise InputError("epochs and batch sizes must be at least 1")
        if self.mismatched < 0:
            raise InputError(f"mismatched pairs per pair must be >= 0, got {self.mismatched}")
        if not 0.0 <= self.hard_mismatched <= 1.0:
            raise InputError(f"hard mismatched share must be in [0, 1], got {self.hard_mismatched}")
        if self.video_contrast < 0:
            raise InputError(f"video contrast weight must be >= 0, got {self.video_contrast}")
        if self.contrast_queries < 1 or self.contrast_others < 1:
            raise InputError("video contrast needs at least one query and one other video")
        if not 0.0 <= self.contrast_hard <= 1.0:
            raise InputError(f"hard contrast share must be in [0, 1], got {self.contrast_hard}")
        if self.lr <= 0:
            raise InputError(f"learning rate must be positive, got {self.lr}")


@dataclass(frozen=True)
class TrainProgress:
    """Reported after every optimisation step and once per validation."""

    phase: str  # "train" or "validate"
    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based within the epoch
    steps: int
    loss: float | None = None


@dataclass(frozen=True)
class EpochRecord:
    """One line of `metrics.jsonl`."""

    epoch: int
    iterations: int
    lr: float
    losses: dict[str, float]
    metrics: dict[str, float]
    selection_metric: str
    score: float
    best: bool
    seconds: float


@dataclass(frozen=True)
class TrainReport:
    """What a (possibly resumed) run ended with."""

    run_dir: Path
    epochs_done: int
    best_epoch: int | None
    best_score: float | None
    best_checkpoint: Path | None
    history: tuple[EpochRecord, ...] = field(default_factory=tuple)


TrainProgressCallback = Callable[[TrainProgress], None]


def train_grounding(
    *,
    train_samples: Sequence[GroundingSample],
    val_samples: Sequence[GroundingSample],
    features_dir: str | Path,
    config: R2Config,
    dataset: str,
    run_dir: str | Path,
    settings: TrainSettings | None = None,
    resume: bool = False,
    on_progress: TrainProgressCallback | None = None,
    confusable: Mapping[int | str, Sequence[str]] | None = None,
    init_checkpoint: str | Path | None = None,
) -> TrainReport:
    """Train `config` on `train_samples`, validating on `val_samples` after every epoch.

    `dataset` picks the evaluator and the best-checkpoint metric (see SELECTION_METRIC).
    `confusable` lists, per qid, other training videos where the query does not hold but which
    look like it; `settings.hard_mismatched` of the mismatched pairs and `settings.contrast_hard`
    of the video contrast's other videos are drawn from them (see `vsearch.research.negatives`).
    A new run starts from `init_checkpoint`'s weights when given (fine-tuning); its config
    must be `config`.
    With `resume`, training continues from `run_dir/state.pt`; without it the run directory
    must not hold a run yet. Ctrl-C raises `Interrupted` after the last finished epoch is safe.
    """
    settings = settings or TrainSettings()
    if dataset not in SELECTION_METRIC:
        raise InputError(f"no evaluator for dataset {dataset!r}; known: {sorted(SELECTION_METRIC)}")
    if not train_samples or not val_samples:
        raise InputError("training needs at least one training and one validation sample")
    _check_validation_truth(val_samples, dataset)
    if settings.mismatched and not config.use_coord_head:
        raise InputError("mismatched pairs need a moment-retrieval config (with windows)")
    if settings.mismatched and len({s.vid for s in train_samples}) < 2:
        raise InputError("mismatched pairs need at least two training videos")
    if settings.video_contrast and len({s.vid for s in train_samples}) <= settings.contrast_others:
        raise InputError(
            f"video contrast with {settings.contrast_others} other videos needs at least "
            f"{settings.contrast_others + 1} training videos"
        )
    run_dir = Path(run_dir)
    device = torch.device(settings.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    train_set = FeatureDataset(list(train_samples), features_dir)
    val_set = FeatureDataset(list(val_samples), features_dir)
    sampler = MismatchSampler(train_set, confusable or {})

    torch.manual_seed(settings.seed)
    model = R2Model(config)
    if init_checkpoint is not None:
        model.load_state_dict(_initial_weights(init_checkpoint, config))
    model = model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    run = _RunState.start(run_dir, resume, config, dataset)
    _recover_pending_best(run_dir, run.best_epoch)
    if run.epochs_done:
        model.load_state_dict(run.payload["model"])
        optimizer.load_state_dict(run.payload["optimizer"])
        scaler.load_state_dict(run.payload["scaler"])

    steps_per_epoch = math.ceil(len(train_set) / settings.batch_size)
    history = list(run.history)
    try:
        for epoch in range(run.epochs_done + 1, settings.epochs + 1):
            started = time.perf_counter()
            model.train()
            losses = _train_epoch(
                model, optimizer, scaler, train_set, sampler, settings, config, dataset, epoch,
                run, steps_per_epoch, on_progress,
            )
            if on_progress is not None:
                on_progress(TrainProgress("validate", epoch, settings.epochs, 1, 1))
            metrics, predictions = validate(model, val_set, dataset, settings.eval_batch_size)
            name = SELECTION_METRIC[dataset]
            score = float(metrics["brief"][name])
            is_best = run.best_score is None or score > run.best_score
            if is_best:
                run.best_score, run.best_epoch = score, epoch
                _stage_best(model, run_dir, predictions, epoch, name, score)
            record = EpochRecord(
                epoch=epoch,
                iterations=run.iterations,
                lr=optimizer.param_groups[0]["lr"],
                losses=losses,
                metrics=dict(metrics["brief"]),
                selection_metric=name,
                score=score,
                best=is_best,
                seconds=round(time.perf_counter() - started, 3),
            )
            history.append(record)
            run.epochs_done = epoch
            run.save(run_dir, model, optimizer, scaler, history)
            _commit_best(run_dir)
            log.info("epoch %d: %s=%.2f losses=%s", epoch, name, score, losses)
    except KeyboardInterrupt:
        raise Interrupted(
            f"training interrupted; {run.epochs_done} epochs are saved in {run_dir}"
        ) from None
    return TrainReport(
        run_dir=run_dir,
        epochs_done=run.epochs_done,
        best_epoch=run.best_epoch,
        best_score=run.best_score,
        best_checkpoint=run_dir / BEST_FILE if run.best_epoch is not None else None,
        history=tuple(history),
    )


def _initial_weights(path: str | Path, config: R2Config) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint to fine-tune, which must have been trained as `config`."""
    model, saved = load_checkpoint(path)
    if saved != config:
        raise InputError(f"{path} holds a model of another architecture than the one to train")
    return model.state_dict()


def learning_rate(settings: TrainSettings, iteration: int, epoch: int) -> float:
    """Learning rate for the 0-based `iteration` (warm-up) within 1-based `epoch` (steps)."""
    lr = settings.lr * settings.lr_step_factor ** sum(
        1 for step_epoch in settings.lr_step_epochs if epoch > step_epoch
    )
    if iteration < settings.warmup_iterations:
        progress = iteration / settings.warmup_iterations
        lr *= WARMUP_START_RATIO + (1 - WARMUP_START_RATIO) * progress
    return lr


def training_pair(item: FeatureItem, fps: float, rng: np.random.Generator,
                  dataset: str) -> TrainingPair:
    """Loss targets of one sample: cleaned windows, saliency and one sampled positive clip."""
    num_clips = len(item.saliency)
    boundary = None
    if item.sample.windows_s:
        boundary = clean_windows(np.array(item.sample.windows_s), num_clips, fps)
    positives = np.flatnonzero(positive_clips(item.saliency, dataset))
    if len(positives) == 0 and boundary is not None:
        centre = int(np.clip(boundary[0].mean() * fps, 0, num_clips - 1))
        positives = np.array([centre])
    pos_clip = int(rng.choice(positives)) if len(positives) else int(np.argmax(item.saliency))
    return TrainingPair(
        video=torch.from_numpy(item.video),
        query=torch.from_numpy(item.query),
        saliency=torch.from_numpy(item.saliency),
        pos_clip=pos_clip,
        boundary=None if boundary is None else torch.from_numpy(boundary),
        fps=fps,
    )


def positive_clips(saliency: np.ndarray, dataset: str) -> np.ndarray:
    """Clips the saliency losses may sample as the positive one (bool per clip)."""
    if dataset == "tvsum":
        ordered = np.sort(saliency)
        return saliency > ordered[(len(ordered) - 1) // 2]
    if dataset == "youtube":
        return saliency > 0.5
    return saliency > 0


def clean_windows(windows_s: np.ndarray, num_clips: int, fps: float) -> np.ndarray:
    """GT windows clamped to the features, reversed ones swapped, and each at least one clip long
    (short ones widened around their centre) so every window owns a point."""
    max_s = num_clips / fps
    clip_s = 1.0 / fps
    out = np.clip(np.asarray(windows_s, dtype=np.float32).reshape(-1, 2), 0.0, max_s)
    out = np.sort(out, axis=1)
    short = out[:, 1] - out[:, 0] < clip_s
    centre = np.clip(out[short].mean(axis=1), clip_s / 2, max_s - clip_s / 2)
    out[short, 0] = centre - clip_s / 2
    out[short, 1] = centre + clip_s / 2
    return out


def validate(
    model: R2Model, dataset_items: FeatureDataset, dataset: str, batch_size: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ground every validation sample and score it with the benchmark's evaluator.

    Returns the nested metrics and the prediction records (the prediction-file layout).
    """
    records: list[dict[str, Any]] = []
    samples: list[GroundingSample] = []
    # features are loaded one batch at a time: a full validation set does not fit in memory
    for first in range(0, len(dataset_items), batch_size):
        last = min(first + batch_size, len(dataset_items))
        items = [dataset_items[i] for i in range(first, last)]
        durations = [
            item.sample.duration_s if item.sample.duration_s is not None
            else len(item.saliency) / model.config.fps
            for item in items
        ]
        results = ground(
            model, [(item.video, item.query) for item in items], durations_s=durations,
            batch_size=batch_size,
        )
        for item, result in zip(items, results, strict=True):
            records.append(_prediction_record(item.sample, result, model.config))
            samples.append(item.sample)
    return _score(records, samples, dataset), records


def _prediction_record(sample: GroundingSample, result: Any, config: R2Config) -> dict[str, Any]:
    record: dict[str, Any] = {"qid": sample.qid, "vid": sample.vid}
    if config.use_coord_head:
        record["pred_relevant_windows"] = [
            [round(float(v), 4) for v in row] for row in result.boundaries
        ]
    record["pred_saliency_scores"] = [round(float(v), 4) for v in result.saliency]
    return record


def _score(
    records: list[dict[str, Any]], samples: list[GroundingSample], dataset: str
) -> dict[str, Any]:
    if dataset == "qvhighlights":
        predictions = [
            MomentPrediction(
                qid=r["qid"],
                windows=tuple(tuple(w) for w in r["pred_relevant_windows"]),
                saliency=tuple(r["pred_saliency_scores"]) if s.clip_scores else None,
            )
            for r, s in zip(records, samples, strict=True)
        ]
        truths = [
            MomentTruth(
                qid=s.qid,
                duration_s=float(s.duration_s or 0.0),
                windows_s=s.windows_s,
                clip_ids=tuple(range(len(s.clip_scores))),
                clip_scores=s.clip_scores,
            )
            for s in samples
        ]
        if not all(p.saliency is not None for p in predictions):
            predictions = [MomentPrediction(p.qid, p.windows, None) for p in predictions]
        return evaluate_qvhighlights(predictions, truths)
    if dataset == "charades":
        return evaluate_charades(
            {str(r["qid"]): r["pred_relevant_windows"] for r in records},
            {str(s.qid): s.windows_s for s in samples},
        )
    scores = {s.vid: r["pred_saliency_scores"] for r, s in zip(records, samples, strict=True)}
    domains = {s.vid: s.domain or "all" for s in samples}
    if dataset == "tvsum":
        return evaluate_tvsum(scores, {s.vid: np.array(s.clip_scores) for s in samples}, domains)
    return evaluate_youtube(
        scores, {s.vid: [row[0] for row in s.clip_scores] for s in samples}, domains
    )


def _check_validation_truth(samples: Sequence[GroundingSample], dataset: str) -> None:
    needs_windows = dataset in ("qvhighlights", "charades")
    for sample in samples:
        if needs_windows and not sample.windows_s:
            raise InputError(f"validation query {sample.qid} has no ground-truth windows")
        if not needs_windows and not sample.clip_scores:
            raise InputError(f"validation video {sample.vid} has no saliency annotation")


def _train_epoch(
    model: R2Model,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    train_set: FeatureDataset,
    sampler: MismatchSampler,
    settings: TrainSettings,
    config: R2Config,
    dataset: str,
    epoch: int,
    run: _RunState,
    steps: int,
    on_progress: TrainProgressCallback | None,
) -> dict[str, float]:
    # the sample order and positive-clip draws depend only on (seed, epoch): resumable
    rng = np.random.default_rng([settings.seed, epoch])
    torch.manual_seed(settings.seed * 1000 + epoch)
    order = rng.permutation(len(train_set))
    totals: dict[str, float] = {}
    for step in range(steps):
        chunk = order[step * settings.batch_size : (step + 1) * settings.batch_size]
        items = [train_set[int(i)] for i in chunk]
        pairs = [training_pair(item, config.fps, rng, dataset) for item in items]
        pairs += mismatched_pairs(
            sampler, items, settings.mismatched, config.fps, rng, settings.hard_mismatched
        )
        batch = collate(pairs)
        contrast = None
        if settings.video_contrast:
            contrast = contrast_groups(
                sampler, items[: settings.contrast_queries], settings.contrast_others, rng,
                settings.contrast_hard,
            )  # fmt: skip
        lr = learning_rate(settings, run.iterations, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        losses = train_step(
            model, optimizer, scaler, batch, config, grad_clip_norm=settings.grad_clip_norm,
            contrast=contrast, contrast_weight=settings.video_contrast,
            contrast_scale=settings.contrast_scale,
        )  # fmt: skip
        run.iterations += 1
        for key, value in losses.items():
            totals[key] = totals.get(key, 0.0) + value
        if on_progress is not None:
            on_progress(TrainProgress("train", epoch, settings.epochs, step + 1, steps,
                                      losses["loss"]))
    return {key: round(value / steps, 6) for key, value in totals.items()}


def train_step(
    model: R2Model,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    batch: Batch,
    config: R2Config,
    *,
    grad_clip_norm: float,
    contrast: ContrastGroups | None = None,
    contrast_weight: float = 0.0,
    contrast_scale: float = 4.0,
) -> dict[str, float]:
    """One optimisation step on a collated batch (AMP when the model is on CUDA), plus the
    video contrast loss on `contrast` groups when given, weighted by `contrast_weight`.

    Returns every weighted loss and their sum under "loss".
    """
    device = next(model.parameters()).device
    precision = (
        torch.autocast("cuda", dtype=torch.float16)
        if device.type == "cuda" else contextlib.nullcontext()
    )
    with precision:
        output = model(
            batch.video.to(device), batch.video_mask.to(device),
            batch.query.to(device), batch.query_mask.to(device),
            reference_padding=True,
        )
        losses = compute_losses(output, _targets_to(batch.targets, device), config)
        if contrast is not None:
            groups = contrast.to(device)
            scored = model(groups.video, groups.video_mask, groups.query, groups.query_mask)
            losses["loss_video_contrast"] = (
                video_contrast_loss(scored, groups.group_size, contrast_scale) * contrast_weight
            )
        loss = sum(losses.values())
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip_norm)
    scaler.step(optimizer)
    scaler.update()
    values = {key: float(value.detach()) for key, value in losses.items()}
    values["loss"] = float(loss.detach())
    return values


def _targets_to(targets: Any, device: torch.device) -> Any:
    if device.type == "cpu":
        return targets
    return type(targets)(
        boundary=None if targets.boundary is None else targets.boundary.to(device),
        saliency=targets.saliency.to(device),
        pos_clip=targets.pos_clip.to(device),
        fps=targets.fps.to(device),
        matched=None if targets.matched is None else targets.matched.to(device),
    )


def _stage_best(
    model: R2Model, run_dir: Path, predictions: list[dict[str, Any]], epoch: int, metric: str,
    score: float,
) -> None:
    """Write the new best model and its predictions beside their final names.

    They replace the published files only after `state.pt` records this epoch
    (`_commit_best`), so an interruption never leaves a best.pth the state does not know.
    """
    meta = {"epoch": epoch, "metric": metric, "score": score}
    save_checkpoint(model, _pending(run_dir / BEST_FILE), meta=meta)
    lines = "".join(json.dumps(record) + "\n" for record in predictions)
    write_text_atomically(_pending(run_dir / BEST_PREDS_FILE), lines)


def _commit_best(run_dir: Path) -> None:
    for name in (BEST_FILE, BEST_PREDS_FILE):
        if _pending(run_dir / name).exists():
            rename_durably(_pending(run_dir / name), run_dir / name)


def _recover_pending_best(run_dir: Path, best_epoch: int | None) -> None:
    """Publish a staged best model the saved state already counts; drop one it does not."""
    staged = _pending(run_dir / BEST_FILE)
    if staged.exists() and best_epoch is not None:
        try:
            meta = torch.load(staged, map_location="cpu", weights_only=False).get("meta", {})
        except (OSError, RuntimeError, EOFError):
            meta = {}
        if meta.get("epoch") == best_epoch and _pending(run_dir / BEST_PREDS_FILE).exists():
            _commit_best(run_dir)
            return
    for name in (BEST_FILE, BEST_PREDS_FILE):
        _pending(run_dir / name).unlink(missing_ok=True)


def _pending(path: Path) -> Path:
    return path.with_name(f".{path.name}.pending")


@dataclass
class _RunState:
    """Mutable bookkeeping of a run, persisted in `state.pt` after every epoch."""

    dataset: str
    config: dict[str, Any]
    epochs_done: int = 0
    iterations: int = 0
    best_score: float | None = None
    best_epoch: int | None = None
    history: tuple[EpochRecord, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, run_dir: Path, resume: bool, config: R2Config, dataset: str) -> _RunState:
        state_path = run_dir / STATE_FILE
        if not resume:
            if state_path.exists():
                raise OutputError(f"{run_dir} already holds a run; pass --resume to continue it")
            try:
                run_dir.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise OutputError(f"cannot create {run_dir}: {error}") from error
            (run_dir / METRICS_FILE).unlink(missing_ok=True)
            return cls(dataset=dataset, config=config.to_dict())
        if not state_path.exists():
            raise InputError(f"nothing to resume: {state_path} does not exist")
        try:
            payload = torch.load(state_path, map_location="cpu", weights_only=False)
        except (OSError, RuntimeError, EOFError) as error:
            raise InputError(f"cannot read {state_path}: {error}") from error
        if payload["config"] != config.to_dict() or payload["dataset"] != dataset:
            raise InputError(f"{run_dir} was started with another config or dataset")
        history = tuple(EpochRecord(**record) for record in payload["history"])
        # metrics.jsonl may hold an epoch finished after the last saved state: rewrite it
        write_text_atomically(
            run_dir / METRICS_FILE, "".join(json.dumps(asdict(r)) + "\n" for r in history)
        )
        return cls(
            dataset=dataset,
            config=payload["config"],
            epochs_done=payload["epochs_done"],
            iterations=payload["iterations"],
            best_score=payload["best_score"],
            best_epoch=payload["best_epoch"],
            history=history,
            payload=payload,
        )

    def save(
        self,
        run_dir: Path,
        model: R2Model,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        history: list[EpochRecord],
    ) -> None:
        with open(run_dir / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(history[-1])) + "\n")
        payload = {
            "dataset": self.dataset,
            "config": self.config,
            "epochs_done": self.epochs_done,
            "iterations": self.iterations,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "history": [asdict(record) for record in history],
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
        }
        replace_atomically(run_dir / STATE_FILE, lambda temporary: torch.save(payload, temporary))


def train_from_files(
    *,
    train_path: str | Path,
    val_path: str | Path,
    features_dir: str | Path,
    config: str | Path,
    run_dir: str | Path,
    dataset: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    mismatched: float | None = None,
    video_contrast: float | None = None,
    init_checkpoint: str | Path | None = None,
    resume: bool = False,
    on_progress: TrainProgressCallback | None = None,
) -> TrainReport:
    """Read annotation files and a config (preset name or JSON), then `train_grounding`.

    The benchmark (annotation format and evaluator) defaults to the config's name.
    """
    from vsearch.research.datasets import read_annotations

    r2_config = R2Config.resolve(config)
    dataset = dataset or r2_config.name
    if dataset not in SELECTION_METRIC:
        raise InputError(
            f"config {r2_config.name!r} names no supported benchmark; pass one of "
            f"{', '.join(SELECTION_METRIC)}"
        )
    overrides = {
        key: value
        for key, value in {
            "epochs": epochs, "batch_size": batch_size, "lr": lr, "mismatched": mismatched,
            "video_contrast": video_contrast,
        }.items()
        if value is not None
    }
    return train_grounding(
        train_samples=read_annotations(train_path, dataset),
        val_samples=read_annotations(val_path, dataset),
        features_dir=features_dir,
        config=r2_config,
        dataset=dataset,
        run_dir=run_dir,
        settings=TrainSettings(**overrides),
        resume=resume,
        on_progress=on_progress,
        init_checkpoint=init_checkpoint,
    )
