"""Every CUDA code path checked against the CPU path on the same machine.

The CPU path is what the test suite verifies against reference outputs, so agreement with it is
the contract a GPU must meet. Three sections, each a list of named checks with explicit
tolerances:

* grounding: a random-weight R2 model (published QVHighlights config, fixed seed) on a padded
  batch of random features (different video and query lengths, masks). The CPU float32
  published forward is the reference for the device's float32 published and folded (`fast`)
  forwards, the half-precision folded forward `ground` runs, and the reference-padding forward
  training runs (float32 and half). Then `ground()` itself (precision fp32 and auto, batched
  and one pair at a time, plus a pair longer than the model's buffer, which is windowed).
  Compared: per-clip saliency, class logits, moment offsets, and the top moment of each pair
  (same window, IoU >= 0.9, or a tie: the reference scores the device's pick within tolerance).
* encoder: the world CLIP shipped with vsearch (and, except `--size tiny`, a random-weight
  ViT-B/32) through `ClipEncoder`: frame and text embeddings, projections and last-4-block
  token features, CPU float32 against the device in float32 and half precision.
* training: one `train_step` (no dropout, same weights and batch) CPU float32 against the
  device (mixed precision on CUDA): every loss and the gradients; then `train_grounding` runs
  two short epochs on a synthetic dataset on each device: losses finite, seconds per iteration.

Errors are measured against the reference's largest magnitude: `max_rel` = max|got - ref| /
max|ref|, which must not exceed the tolerance of the precision (float32 runs with TF32 off, so
it means IEEE float32 on both sides). It also checks that nothing here imports av, faiss or
sqlalchemy, which a GPU machine may lack.

    python bench/cuda_check.py [--out DIR] [--size full|quick|tiny] [--threads N]
                               [--device-under-test cuda|cpu]

`--device-under-test cpu` compares CPU against CPU (half precision = bf16) so the whole script
runs on a machine without a GPU. Prints one JSON document on stdout and writes it to
DIR/cuda_check.json. Exit status: 0 every check passed, 1 a check failed, 3 CUDA is not
available (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from provenance import git_sha  # noqa: E402

EXIT_FAILED = 1
EXIT_NO_CUDA = 3
SEED = 0
HEAVY_MODULES = ("av", "faiss", "sqlalchemy")
# largest allowed max|got - ref| / max|ref| per precision of the device's computation
TOLERANCE = {"fp32": 1e-3, "fp16": 3e-2, "bf16": 1e-1}
# fp32 with the default TF32 convolutions of cuDNN (10-bit mantissa inputs)
TF32_TOLERANCE = 1e-2
# norm-wise relative error of the gradients of one training step (fp16 autocast measured
# 0.03 against float32 on a CPU, without loss scaling)
GRAD_TOLERANCE = {"fp32": 1e-3, "fp16": 0.15, "bf16": 0.3}
MIN_IOU = 0.9
TEXTS = (
    "a red star moves across a blue background",
    "the green circle in the top left corner",
    "a yellow cross next to a white square",
    "digits count down from nine on a black background",
    "an orange triangle slides to the right",
    "two purple squares appear at the bottom",
)


@dataclass(frozen=True)
class Size:
    """How big each section's inputs are."""

    r2: dict[str, Any]  # overrides of the qvhighlights config
    lengths: tuple[int, ...]  # clips of each sample of the padded batch
    query_lengths: tuple[int, ...]
    long_clips: int  # one pair longer than the buffer, windowed by ground()
    frames: int
    texts: int
    vit_b32_frames: int  # 0: skip the ViT-B/32 encoder check
    train_clips: int
    train_samples: int
    val_samples: int
    train_batch: int


SIZES = {
    # the published model on ViT-B/32 features (T, 4, 50, 768)
    "full": Size(r2={}, lengths=(75, 60, 33), query_lengths=(12, 8, 20), long_clips=1100,
                 frames=32, texts=6, vit_b32_frames=16, train_clips=40, train_samples=16,
                 val_samples=8, train_batch=4),
    # published widths, 5 tokens per frame, a 64-clip buffer
    "quick": Size(r2={"video_tokens": 5, "buffer_size": 64}, lengths=(30, 21, 9),
                  query_lengths=(6, 9, 3), long_clips=100, frames=8, texts=4, vit_b32_frames=4,
                  train_clips=20, train_samples=8, val_samples=4, train_batch=4),
    # a narrow model: every code path in seconds on one CPU thread
    "tiny": Size(r2={"video_width": 32, "query_width": 24, "video_tokens": 3, "dims": 32,
                     "heads": 4, "buffer_size": 16},
                 lengths=(12, 8, 3), query_lengths=(4, 6, 2), long_clips=40, frames=4, texts=2,
                 vit_b32_frames=0, train_clips=20, train_samples=8, val_samples=4,
                 train_batch=4),
}  # fmt: skip


@dataclass
class Report:
    """Every check, timing and error of one run."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, check: dict[str, Any]) -> None:
        self.checks.append(check)
        status = "ok  " if check["passed"] else "FAIL"
        detail = ", ".join(
            f"{key}={_short(value)}"
            for key, value in check.items()
            if key not in ("name", "passed", "section")
        )
        log(f"  {status} {check['name']}: {detail}")

    @property
    def failed(self) -> list[str]:
        return [c["name"] for c in self.checks if not c["passed"]]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


# ---------------------------------------------------------------------------------- comparing


def compare(section: str, name: str, ref: Any, got: Any, tolerance: float) -> dict[str, Any]:
    """max abs and max abs / max|ref| of got - ref; passes when finite and within tolerance."""
    ref = np.asarray(_numpy(ref), dtype=np.float64)
    got = np.asarray(_numpy(got), dtype=np.float64)
    check: dict[str, Any] = {"section": section, "name": name}
    if ref.shape != got.shape:
        check.update(passed=False, error=f"shape {got.shape} != reference {ref.shape}")
        return check
    finite = bool(np.isfinite(got).all()) and bool(np.isfinite(ref).all())
    diff = np.abs(got - ref) if ref.size else np.zeros(1)
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    max_abs = float(np.nan_to_num(diff, nan=np.inf).max())
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    check.update(
        max_abs=max_abs, max_rel=max_rel, scale=scale, tolerance=tolerance, finite=finite,
        passed=finite and max_rel <= tolerance,
    )  # fmt: skip
    return check


def compare_vectors(section: str, name: str, ref: Any, got: Any, min_cosine: float) -> dict:
    """Row-wise cosine of embeddings (unit vectors): the smallest must reach `min_cosine`."""
    ref = np.asarray(_numpy(ref), dtype=np.float64).reshape(len(ref), -1)
    got = np.asarray(_numpy(got), dtype=np.float64).reshape(len(got), -1)
    cosine = np.sum(ref * got, 1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    worst = float(np.nan_to_num(cosine, nan=-1.0).min())
    return {"section": section, "name": name, "min_cosine": worst, "required": min_cosine,
            "passed": worst >= min_cosine}  # fmt: skip


def _numpy(value: Any) -> np.ndarray:
    if torch.is_tensor(value):
        return value.detach().float().cpu().numpy()
    return np.asarray(value)


def iou(one: np.ndarray, other: np.ndarray) -> float:
    inter = max(0.0, min(one[1], other[1]) - max(one[0], other[0]))
    union = max(one[1], other[1]) - min(one[0], other[0])
    return float(inter / union) if union > 0 else float(one[0] == other[0])


# ---------------------------------------------------------------------------------- devices


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def tf32(enabled: bool) -> Iterator[None]:
    """TF32 matmuls and convolutions on or off (no effect on CPU)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return torch.autocast(device.type, enabled=False)
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype)


def timed(device: torch.device, function: Callable[[], Any]) -> tuple[Any, float]:
    synchronize(device)
    started = time.perf_counter()
    result = function()
    synchronize(device)
    return result, time.perf_counter() - started


# ---------------------------------------------------------------------------------- grounding


def padded_batch(config, lengths, query_lengths, rng: np.random.Generator):
    """Float16 video and float32 query batches with +inf in the padding (masks say where)."""
    b, t, n = len(lengths), max(lengths), max(query_lengths)
    c = config
    video = rng.standard_normal((b, t, c.num_layers, c.video_tokens, c.video_width),
                                dtype=np.float32).astype(np.float16)  # fmt: skip
    query = rng.standard_normal((b, n, c.num_layers, c.query_width), dtype=np.float32)
    video_mask = np.arange(t)[None] < np.array(lengths)[:, None]
    query_mask = np.arange(n)[None] < np.array(query_lengths)[:, None]
    video[~video_mask] = np.inf
    query[~query_mask] = np.inf
    return [torch.from_numpy(a) for a in (video, video_mask, query, query_mask)]


def forward(model, batch, device, precision: str, *, fast: bool, reference_padding: bool):
    inputs = [tensor.to(device) for tensor in batch]
    with torch.inference_mode(), autocast(device, precision):
        return model(*inputs, fast=fast, reference_padding=reference_padding)


def top_moment(output, row: int, fps: float) -> tuple[int, np.ndarray, np.ndarray]:
    """Index (among the row's valid positions) and window of the best-scoring moment, and the
    class score of every valid position, decoded as `decode_anchored_moments` does."""
    idx = output.pymid_mask[row].nonzero()[:, 0]
    scores = output.out_class_logits[row, idx, 0].float().sigmoid()
    best = int(scores.argmax())
    point = output.points[idx[best]].float()
    coord = output.out_coord[row, idx[best]].float()
    window = torch.stack(
        ((point[0] - coord[0] * point[3]) / fps, (point[0] + coord[1] * point[3]) / fps)
    )
    return best, _numpy(window), _numpy(scores)


def compare_top_moments(section, name, ref_out, got_out, fps, rows, tolerance) -> dict:
    """Same top window (IoU >= MIN_IOU), or a tie the reference cannot tell apart."""
    ious, ties = [], 0
    ok = True
    for row in range(rows):
        ref_best, ref_window, ref_scores = top_moment(ref_out, row, fps)
        got_best, got_window, _ = top_moment(got_out, row, fps)
        overlap = iou(ref_window, got_window)
        ious.append(overlap)
        if overlap >= MIN_IOU:
            continue
        if ref_scores[ref_best] - ref_scores[got_best] <= tolerance:
            ties += 1
        else:
            ok = False
    return {"section": section, "name": name, "min_iou": min(ious), "ties": ties,
            "passed": ok}  # fmt: skip


def compare_outputs(report, name, ref, got, config, tolerance) -> None:
    """Saliency, class logits and offsets at every valid position, and the top moments.

    Reference-padding outputs (training) are not decoded: their levels have the padded length,
    so the embeddings the saliency loss reads are compared instead."""
    from vsearch.grounding.decoding import decode_saliency

    rows = ref.video_mask.shape[0]
    if ref.reference_padding:
        for key in ("video_emb", "query_emb_pooled"):
            report.add(compare("grounding", f"{name}/{key}", getattr(ref, key), getattr(got, key),
                               tolerance))  # fmt: skip
        report.add(compare("grounding", f"{name}/class_logits", ref.out_class_logits,
                           got.out_class_logits, tolerance))  # fmt: skip
        if ref.out_coord is not None:
            report.add(compare("grounding", f"{name}/coord", ref.out_coord, got.out_coord,
                               tolerance))  # fmt: skip
        return
    ref_sal = np.concatenate([_numpy(decode_saliency(ref, r, config.merge_cls_sal))
                              for r in range(rows)])  # fmt: skip
    got_sal = np.concatenate([_numpy(decode_saliency(got, r, config.merge_cls_sal))
                              for r in range(rows)])  # fmt: skip
    report.add(compare("grounding", f"{name}/saliency", ref_sal, got_sal, tolerance))
    valid = _numpy(ref.pymid_mask).astype(bool)
    logits = _numpy(ref.out_class_logits)[..., 0][valid], _numpy(got.out_class_logits)[..., 0]
    report.add(compare("grounding", f"{name}/class_logits", logits[0], logits[1][valid],
                       tolerance))  # fmt: skip
    if ref.out_coord is not None:
        report.add(compare("grounding", f"{name}/coord", _numpy(ref.out_coord)[valid],
                           _numpy(got.out_coord)[valid], tolerance))  # fmt: skip
        report.add(compare_top_moments("grounding", f"{name}/top_moment", ref, got,
                                       config.fps, rows, tolerance))  # fmt: skip


def compare_results(report, name, ref_results, got_results, tolerance) -> None:
    """`ground()` results: saliency of every pair, and each pair's top raw moment."""
    ref_sal = np.concatenate([r.saliency for r in ref_results])
    got_sal = np.concatenate([r.saliency for r in got_results])
    report.add(compare("grounding", f"{name}/saliency", ref_sal, got_sal, tolerance))
    ious, ties, ok = [], 0, True
    for ref, got in zip(ref_results, got_results, strict=True):
        top = got.boundaries[0]
        overlap = iou(ref.boundaries[0], top)
        ious.append(overlap)
        if overlap >= MIN_IOU:
            continue
        # a tie: the reference has the device's top window too, scored within tolerance
        same = [row for row in ref.boundaries if iou(row, top) >= MIN_IOU]
        if same and ref.boundaries[0][2] - max(row[2] for row in same) <= tolerance:
            ties += 1
        else:
            ok = False
    report.add({"section": "grounding", "name": f"{name}/top_moment", "min_iou": min(ious),
                "ties": ties, "passed": ok})  # fmt: skip


def check_grounding(report: Report, size: Size, device: torch.device, half: str) -> None:
    from vsearch.grounding import R2Config, R2Model, ground
    from vsearch.grounding.inference import resolve_precision

    config = R2Config.from_dict({"base": "qvhighlights", **size.r2})
    torch.manual_seed(SEED)
    cpu_model = R2Model(config).eval()
    model = copy.deepcopy(cpu_model).to(device)
    rng = np.random.default_rng(SEED)
    batch = padded_batch(config, size.lengths, size.query_lengths, rng)
    cpu = torch.device("cpu")
    timings = report.timings.setdefault("grounding_s", {})

    references = {}
    for reference_padding in (False, True):
        references[reference_padding], seconds = timed(cpu, lambda rp=reference_padding: forward(
            cpu_model, batch, cpu, "fp32", fast=False, reference_padding=rp))  # fmt: skip
        timings[f"cpu/fp32-published{'-reference-padding' if reference_padding else ''}"] = seconds
    variants = [
        # (name, precision, fast, reference padding, TF32)
        ("fp32-published", "fp32", False, False, False),
        ("fp32-fast", "fp32", True, False, False),
        (f"{half}-fast", half, True, False, False),
        ("fp32-published-reference-padding", "fp32", False, True, False),
        (f"{half}-published-reference-padding", half, False, True, False),
    ]
    if device.type == "cuda":
        variants.append(("fp32-fast-tf32", "fp32", True, False, True))
    for name, precision, fast, reference_padding, allow_tf32 in variants:
        with tf32(allow_tf32):
            forward(model, batch, device, precision, fast=fast,
                    reference_padding=reference_padding)  # warm-up  # fmt: skip
            got, seconds = timed(device, lambda p=precision, f=fast, rp=reference_padding: forward(
                model, batch, device, p, fast=f, reference_padding=rp))  # fmt: skip
        timings[f"{device.type}/{name}"] = seconds
        tolerance = TF32_TOLERANCE if allow_tf32 else TOLERANCE[precision]
        compare_outputs(report, f"forward/{name}", references[reference_padding], got, config,
                        tolerance)  # fmt: skip

    # ground(): numpy pairs as a search passes them, plus one pair longer than the buffer
    video, video_mask, query, query_mask = (t.numpy() for t in batch)
    pairs = [(video[r, : video_mask[r].sum()], query[r, : query_mask[r].sum()])
             for r in range(len(size.lengths))]  # fmt: skip
    c = config
    long_video = rng.standard_normal((size.long_clips, c.num_layers, c.video_tokens,
                                      c.video_width), dtype=np.float32).astype(np.float16)
    pairs.append((long_video, pairs[0][1]))
    # one pair at a time: batching pads the short pairs to the long one's window, which the
    # CPU pays for in full
    reference, seconds = timed(cpu, lambda: ground(cpu_model, pairs, raw=True, batch_size=1,
                                                   precision="fp32"))  # fmt: skip
    timings["cpu/ground-fp32-one-at-a-time"] = seconds
    auto = resolve_precision("auto", device)
    runs = [("fp32", "fp32", len(pairs)), ("fp32-one-at-a-time", "fp32", 1),
            (f"auto-{auto}", "auto", len(pairs)), (f"auto-{auto}-one-at-a-time", "auto", 1)]
    for name, precision, batch_size in runs:
        ground(model, pairs[:1], raw=True, precision=precision)  # warm-up
        got, seconds = timed(device, lambda p=precision, b=batch_size: ground(
            model, pairs, raw=True, batch_size=b, precision=p))  # fmt: skip
        timings[f"{device.type}/ground-{name}"] = seconds
        compare_results(report, f"ground/{name}", reference, got, TOLERANCE[auto if
                        precision == "auto" else precision])  # fmt: skip


# ---------------------------------------------------------------------------------- encoder


def compare_encoders(report, name, ref_encoder, encoder, frames, texts, tolerance) -> None:
    ref_frames, ref_texts = ref_encoder.encode_frames(frames), ref_encoder.encode_texts(texts)
    got_frames, seconds = timed(encoder.device, lambda: encoder.encode_frames(frames))
    got_texts = encoder.encode_texts(texts)
    report.timings.setdefault("encoder_frames_s", {})[name] = seconds  # first call: no warm-up
    min_cosine = 1 - tolerance / 10
    add = report.add
    add(compare_vectors("encoder", f"{name}/frame_embeddings", ref_frames.embeddings,
                        got_frames.embeddings, min_cosine))  # fmt: skip
    add(compare("encoder", f"{name}/frame_projections", ref_frames.projections,
                got_frames.projections, tolerance))  # fmt: skip
    add(compare("encoder", f"{name}/frame_tokens", ref_frames.tokens, got_frames.tokens,
                tolerance))  # fmt: skip
    add(compare_vectors("encoder", f"{name}/text_embeddings",
                        np.stack([t.embedding for t in ref_texts]),
                        np.stack([t.embedding for t in got_texts]), min_cosine))  # fmt: skip
    same_lengths = [t.tokens.shape for t in ref_texts] == [t.tokens.shape for t in got_texts]
    if not same_lengths:
        add({"section": "encoder", "name": f"{name}/text_tokens", "passed": False,
             "error": "token counts differ"})  # fmt: skip
        return
    add(compare("encoder", f"{name}/text_tokens", np.concatenate([t.tokens for t in ref_texts]),
                np.concatenate([t.tokens for t in got_texts]), tolerance))  # fmt: skip


def check_encoder(report: Report, size: Size, device: torch.device, half: str) -> None:
    from vsearch.encoder import ClipEncoder
    from vsearch_lab.world_clip import world_clip_spec

    spec = world_clip_spec()
    rng = np.random.default_rng(SEED)
    texts = list(TEXTS[: size.texts])
    reference = ClipEncoder.load(spec, device="cpu", precision="fp32")
    frames = rng.integers(0, 256, (size.frames, 3, reference.image_size, reference.image_size),
                          dtype=np.uint8)  # fmt: skip
    for precision in ("fp32", half):
        encoder = ClipEncoder.load(spec, device=str(device), precision=precision)
        with tf32(False):
            compare_encoders(report, f"world-clip/{precision}", reference, encoder, frames, texts,
                             TOLERANCE[precision])  # fmt: skip
    if not size.vit_b32_frames:
        return
    import open_clip

    torch.manual_seed(SEED)
    model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=None)
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD

    def wrap(on: str, precision: str) -> ClipEncoder:
        return ClipEncoder.from_model(copy.deepcopy(model), model_id="ViT-B-32:random", mean=mean,
                                      std=std, device=on, precision=precision)  # fmt: skip

    reference = wrap("cpu", "fp32")
    frames = rng.integers(0, 256, (size.vit_b32_frames, 3, 224, 224), dtype=np.uint8)
    for precision in ("fp32", half):
        with tf32(False):
            compare_encoders(report, f"vit-b-32-random/{precision}", reference,
                             wrap(str(device), precision), frames, texts[:3],
                             TOLERANCE[precision])  # fmt: skip


# ---------------------------------------------------------------------------------- training


def write_dataset(root: Path, config, size: Size) -> tuple[Path, Path]:
    """QVHighlights-layout annotations and fp16 features with a learnable signal."""
    rng = np.random.default_rng(SEED)
    c = config
    concepts = rng.standard_normal((4, c.video_width))
    concepts /= np.linalg.norm(concepts, axis=1, keepdims=True)
    project = rng.standard_normal((c.video_width, c.query_width)) / np.sqrt(c.video_width)
    for kind in ("video", "query"):
        (root / "features" / kind).mkdir(parents=True, exist_ok=True)
    paths = []
    first_qid = 0
    for split, count in (("train", size.train_samples), ("val", size.val_samples)):
        lines = []
        for index in range(count):
            qid, vid = first_qid + index, f"{split}_{index:03d}"
            concept = concepts[rng.integers(len(concepts))]
            length = int(rng.integers(2, 8))
            start = int(rng.integers(0, size.train_clips - length + 1))
            video = rng.normal(scale=0.5, size=(size.train_clips, c.num_layers, c.video_tokens,
                                                c.video_width))  # fmt: skip
            video[start : start + length] += 2.0 * concept
            query = rng.normal(scale=0.3, size=(6, c.num_layers, c.query_width)) + concept @ project
            np.save(root / "features" / "video" / f"{vid}.npy", video.astype(np.float16))
            np.save(root / "features" / "query" / f"{qid}.npy", query.astype(np.float16))
            clip_ids = list(range(start, start + length))
            lines.append({
                "qid": qid, "query": f"query {qid}", "vid": vid, "duration": 2 * size.train_clips,
                "relevant_windows": [[2 * start, 2 * (start + length)]],
                "relevant_clip_ids": clip_ids,
                "saliency_scores": [[int(rng.integers(1, 5))] * 3 for _ in clip_ids],
            })  # fmt: skip
        first_qid += count
        path = root / f"{split}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        paths.append(path)
    return paths[0], paths[1]


def gradients(model) -> np.ndarray:
    return np.concatenate([_numpy(p.grad).ravel() for p in model.parameters()
                           if p.grad is not None])  # fmt: skip


def check_train_step(report, config, dataset, device, half: str, size: Size) -> None:
    """One `train_step` without dropout on both devices from the same weights and batch."""
    import dataclasses

    from vsearch.grounding import R2Model, collate
    from vsearch.research.training import TrainSettings, train_step, training_pair

    config = dataclasses.replace(config, dropout=0.0, droppath=0.0)
    rng = np.random.default_rng(SEED)
    pairs = [training_pair(dataset[i], config.fps, rng, "qvhighlights")
             for i in range(size.train_batch)]  # fmt: skip
    batch = collate(pairs)
    recipe = TrainSettings()
    torch.manual_seed(SEED)
    initial = R2Model(config).train()

    def one_step(on: torch.device, scaler) -> tuple[dict[str, float], R2Model]:
        model = copy.deepcopy(initial).to(on).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr,
                                      weight_decay=recipe.weight_decay)  # fmt: skip
        losses = train_step(model, optimizer, scaler, batch, config,
                            grad_clip_norm=recipe.grad_clip_norm)  # fmt: skip
        return losses, model

    cpu = torch.device("cpu")
    ref_losses, ref_model = one_step(cpu, torch.amp.GradScaler("cuda", enabled=False))
    # a step whose scaled fp16 gradients overflow is skipped (the scale halves): try again
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    tries = 0
    while True:
        tries += 1
        with tf32(False):
            losses, model = one_step(device, scaler)
        grads = gradients(model)
        if np.isfinite(grads).all() or tries == 8:
            break
    precision = "fp16" if device.type == "cuda" else "fp32"  # train_step's autocast
    for key in ref_losses:
        report.add(compare("training", f"train_step/{key}", [ref_losses[key]], [losses[key]],
                           TOLERANCE[precision]))  # fmt: skip
    ref_grads = gradients(ref_model)
    norm = float(np.linalg.norm(ref_grads))
    error = float(np.linalg.norm(grads - ref_grads) / norm) if norm > 0 else float("inf")
    cosine = float(grads @ ref_grads / (np.linalg.norm(grads) * norm)) if norm > 0 else 0.0
    report.add({"section": "training", "name": "train_step/gradients", "relative_error": error,
                "cosine": cosine, "tolerance": GRAD_TOLERANCE[precision], "scaler_tries": tries,
                "passed": bool(np.isfinite(grads).all()) and error <= GRAD_TOLERANCE[precision]})


def check_training(report: Report, size: Size, device: torch.device, half: str) -> None:
    from vsearch.grounding import R2Config
    from vsearch.research.datasets import FeatureDataset, read_annotations
    from vsearch.research.training import TrainSettings, train_grounding

    # the default buffer: training does not window long videos
    overrides = {key: value for key, value in size.r2.items() if key != "buffer_size"}
    config = R2Config.from_dict({"base": "qvhighlights", **overrides})
    with tempfile.TemporaryDirectory(prefix="vsearch-cuda-check-") as tmp:
        root = Path(tmp)
        train_path, val_path = write_dataset(root, config, size)
        train = read_annotations(train_path, "qvhighlights")
        val = read_annotations(val_path, "qvhighlights")
        check_train_step(report, config, FeatureDataset(train, root / "features"), device, half,
                         size)  # fmt: skip
        runs = report.timings.setdefault("training", {})
        for label, on in (("cpu", torch.device("cpu")), ("device", device)):
            stamps: list[tuple[int, int, float]] = []

            def progress(p, stamps=stamps, on=on) -> None:
                if p.phase == "train":
                    synchronize(on)
                    stamps.append((p.epoch, p.step, time.perf_counter()))

            settings = TrainSettings(epochs=2, batch_size=size.train_batch, warmup_iterations=2,
                                     eval_batch_size=size.val_samples, device=str(on))
            started = time.perf_counter()
            result = train_grounding(
                train_samples=train, val_samples=val, features_dir=root / "features",
                config=config, dataset="qvhighlights", run_dir=root / f"run-{label}",
                settings=settings, on_progress=progress,
            )  # fmt: skip
            total = time.perf_counter() - started
            # seconds per iteration: gaps between steps of one epoch (the first step of an
            # epoch follows validation or start-up and is left out)
            gaps = [b[2] - a[2] for a, b in zip(stamps, stamps[1:], strict=False) if a[0] == b[0]]
            losses = [value for record in result.history for value in record.losses.values()]
            runs[label] = {
                "device": str(on),
                "iterations": len(stamps),
                "seconds_per_iteration": float(np.median(gaps)) if gaps else None,
                "total_s": total,
                "epoch_losses": [record.losses["loss"] for record in result.history],
                "best_score": result.best_score,
            }
            report.add({"section": "training", "name": f"train_grounding/{label}",
                        "epochs": result.epochs_done, "iterations": len(stamps),
                        "s_per_iteration": runs[label]["seconds_per_iteration"],
                        "passed": result.epochs_done == settings.epochs
                        and bool(np.isfinite(losses).all())})  # fmt: skip
        cpu_s, device_s = (runs[k]["seconds_per_iteration"] for k in ("cpu", "device"))
        if cpu_s and device_s:
            runs["speedup"] = cpu_s / device_s


# ---------------------------------------------------------------------------------- running


def environment(device: torch.device, threads: int) -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "numpy": np.__version__,
        "git_sha": git_sha(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            device_name=torch.cuda.get_device_name(device),
            capability=".".join(map(str, torch.cuda.get_device_capability(device))),
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            gpus=torch.cuda.device_count(),
            cudnn=torch.backends.cudnn.version(),
            bf16_supported=torch.cuda.is_bf16_supported(),
        )
    else:
        info["device_name"] = platform.processor() or platform.machine()
    return info


SECTIONS = {"grounding": check_grounding, "encoder": check_encoder, "training": check_training}


def run_checks(size_name: str, device: torch.device, sections: list[str]) -> Report:
    size = SIZES[size_name]
    half = "fp16" if device.type == "cuda" else "bf16"
    report = Report()
    for name in sections:
        log(f"cuda_check: {name} ({size_name}, {device.type} against cpu)")
        started = time.perf_counter()
        try:
            with tf32(False):
                SECTIONS[name](report, size, device, half)
        except Exception:  # noqa: BLE001 - a crashed section is a failed check, the rest still run
            text = traceback.format_exc()
            report.errors[name] = text
            report.add({"section": name, "name": f"{name}/error", "passed": False,
                        "error": text.strip().splitlines()[-1]})  # fmt: skip
            log(text)
        report.timings.setdefault("section_s", {})[name] = round(time.perf_counter() - started, 2)
        if device.type == "cuda":
            report.timings.setdefault("peak_gpu_mib", {})[name] = round(
                torch.cuda.max_memory_allocated(device) / 2**20, 1
            )
            torch.cuda.reset_peak_memory_stats(device)
    loaded = [module for module in HEAVY_MODULES if module in sys.modules]
    report.add({"section": "imports", "name": "imports/no-av-faiss-sqlalchemy",
                "loaded": loaded, "passed": not loaded})  # fmt: skip
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write cuda_check.json here")
    parser.add_argument("--size", choices=sorted(SIZES), default=None,
                        help="input sizes (default full; quick with --quick)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="same as --size quick")
    parser.add_argument("--device-under-test", choices=["cuda", "cpu"], default="cuda",
                        help="cpu: compare CPU against CPU (no GPU needed)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help="comma-separated subset of " + ",".join(SECTIONS))  # fmt: skip
    args = parser.parse_args(argv)
    size = args.size or ("quick" if args.quick else "full")
    sections = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section {unknown[0]}")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device_under_test == "cuda" and not torch.cuda.is_available():
        print(f"cuda_check: CUDA is not available (torch {torch.__version__}, CUDA build "
              f"{torch.version.cuda}); run with --device-under-test cpu to compare CPU with CPU",
              file=sys.stderr)  # fmt: skip
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            document = {"bench": "cuda_check", "passed": False, "cuda_available": False,
                        "environment": environment(torch.device("cpu"), torch.get_num_threads())}
            (args.out / "cuda_check.json").write_text(json.dumps(document, indent=2) + "\n")
        return EXIT_NO_CUDA
    device = torch.device(args.device_under_test)
    started = time.perf_counter()
    report = run_checks(size, device, sections)
    failed = report.failed
    document = {
        "bench": "cuda_check",
        "passed": not failed,
        "failed": failed,
        "settings": {"size": size, "size_detail": asdict(SIZES[size]), "sections": sections,
                     "device_under_test": device.type, "reference": "cpu fp32",
                     "half_precision": "fp16" if device.type == "cuda" else "bf16",
                     "tolerance": TOLERANCE, "tf32_tolerance": TF32_TOLERANCE,
                     "grad_tolerance": GRAD_TOLERANCE, "min_iou": MIN_IOU,
                     "tf32": "off except in checks named *-tf32"},
        "environment": environment(device, torch.get_num_threads()),
        "checks": report.checks,
        "timings": report.timings,
        "errors": report.errors,
        "wall_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    text = json.dumps(document, indent=2, default=float)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "cuda_check.json").write_text(text + "\n")
    print(text)
    log(f"cuda_check: {len(report.checks) - len(failed)}/{len(report.checks)} checks passed"
        + (f"; failed: {', '.join(failed)}" if failed else ""))  # fmt: skip
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
