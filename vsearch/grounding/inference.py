"""Batched grounding of (video features, query features) pairs.

Many pairs go through one padded forward in exact-padding mode, so each result equals the
pair run alone. Videos longer than the model's point buffer (`buffer_size` clips) are cut into
overlapping windows that are grounded like any other pair and merged:

* windows are `buffer_size` clips long and start every `buffer_size // 2` clips; the last one
  is aligned to the video end;
* every clip is owned by the window whose centre is nearest to it (ties: the earlier window);
* a clip's saliency is its owner window's saliency;
* a window's moments are kept only if their anchor point is a clip the window owns; they are
  shifted by the window start and all windows' moments are ranked together by score.

Inference always runs the model's folded pooling (`fast=True`), which equals the published
computation up to float rounding. `precision` picks the arithmetic of the large matmuls:

* None (default): what the published code evaluates with: float16 autocast on CUDA, float32
  elsewhere. The research tools (`vsearch ground`, validation while training) use this.
* "fp32", "bf16", "fp16": that autocast dtype ("fp32": none). fp16 needs CUDA.
* "auto": the fastest that keeps results close: fp16 on CUDA; bf16 on a CPU with native bf16
  matmul (AVX512-BF16 or AMX), where a forward is about twice as fast as in float32;
  float32 otherwise.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vsearch.errors import InputError
from vsearch.grounding.decoding import decode_anchored_moments, decode_saliency, postprocess_for
from vsearch.grounding.model import R2Model

ArrayLike = np.ndarray | Tensor
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class GroundingResult:
    """Moments (N,3) rows [start_s, end_s, score], best first, and per-clip saliency (T,)."""

    boundaries: np.ndarray
    saliency: np.ndarray


@dataclass(frozen=True)
class _Job:
    pair: int
    start_clip: int
    video: Tensor
    query: Tensor


def window_starts(num_clips: int, window_clips: int) -> list[int]:
    """Start clip of each window covering `num_clips` (one window when it fits)."""
    if num_clips <= window_clips:
        return [0]
    hop = max(1, window_clips // 2)
    starts = list(range(0, num_clips - window_clips, hop))
    starts.append(num_clips - window_clips)
    return starts


def window_owner(num_clips: int, starts: Sequence[int], window_clips: int) -> np.ndarray:
    """Index of the window owning each clip: the one whose centre is nearest."""
    centres = np.asarray(starts, dtype=np.float64) + (window_clips - 1) / 2
    clips = np.arange(num_clips, dtype=np.float64)
    return np.argmin(np.abs(clips[:, None] - centres[None, :]), axis=1)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX512-BF16 or AMX); without
    it bf16 is emulated and slower than float32. torch only exposes the probes privately, so a
    torch without them counts as no."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_precision(precision: str | None, device: torch.device) -> str:
    """The concrete precision ("fp32", "bf16" or "fp16") that `precision` means on `device`."""
    if precision is None:
        return "fp16" if device.type == "cuda" else "fp32"
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        if device.type == "cuda":
            return "fp16"
        return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise InputError("fp16 grounding needs a CUDA device; use bf16 or fp32 on CPU")
    return precision


def _precision_context(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=_AUTOCAST_DTYPES[precision])


def _to_tensor(value: ArrayLike, name: str, rank: int) -> Tensor:
    if torch.is_tensor(value):
        tensor = value
    else:
        array = np.asarray(value)
        with warnings.catch_warnings():
            # a read-only (memory-mapped) array is wrapped, not copied: inference only reads it
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            tensor = torch.from_numpy(array)
    if tensor.dim() != rank:
        raise InputError(f"{name} must have {rank} dimensions, got shape {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        raise InputError(f"{name} must hold floats, got {tensor.dtype}")
    if tensor.shape[0] == 0:
        raise InputError(f"{name} is empty")
    return tensor


def _check_pair(model: R2Model, video: ArrayLike, query: ArrayLike) -> tuple[Tensor, Tensor]:
    c = model.config
    v = _to_tensor(video, "video features", 4)
    q = _to_tensor(query, "query features", 3)
    if tuple(v.shape[1:]) != (c.num_layers, c.video_tokens, c.video_width):
        raise InputError(
            f"video features must be (T,{c.num_layers},{c.video_tokens},{c.video_width}), "
            f"got {tuple(v.shape)}"
        )
    if tuple(q.shape[1:]) != (c.num_layers, c.query_width):
        raise InputError(
            f"query features must be (L,{c.num_layers},{c.query_width}), got {tuple(q.shape)}"
        )
    return v, q


def _pad(tensors: Sequence[Tensor], device: torch.device) -> tuple[Tensor, Tensor]:
    """Right-padded batch and its mask. A single tensor is not copied (it may be a view of a
    memory-mapped file); the model converts it chunk by chunk."""
    if len(tensors) == 1:
        only = tensors[0].to(device)
        return only[None], torch.ones((1, only.shape[0]), dtype=torch.bool, device=device)
    longest = max(t.shape[0] for t in tensors)
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    out = torch.empty((len(tensors), longest, *tensors[0].shape[1:]), dtype=dtype, device=device)
    mask = torch.zeros((len(tensors), longest), dtype=torch.bool, device=device)
    for row, tensor in enumerate(tensors):
        n = tensor.shape[0]
        out[row, :n] = tensor.to(device)
        out[row, n:] = 0  # only the padding is filled: the rest is overwritten anyway
        mask[row, :n] = True
    return out, mask


def ground(
    model: R2Model,
    pairs: Sequence[tuple[ArrayLike, ArrayLike]],
    *,
    fps: float | None = None,
    raw: bool = False,
    durations_s: Sequence[float] | None = None,
    batch_size: int = 8,
    top_k: int | None = None,
    precision: str | None = None,
) -> list[GroundingResult]:
    """Ground each (video (T,K,P,Wv), query (L,K,Wq)) pair; results in input order.

    `fps` defaults to the model config's. With `raw`, boundaries are the top
    `max_num_moment` moments as decoded (no clamp, rounding or NMS); otherwise they are
    post-processed with the config's defaults against `durations_s` (default T / fps).
    `precision`: see the module docstring. Features may be float16 or memory-mapped arrays:
    they are converted in chunks inside the forward, never copied whole.
    """
    c = model.config
    fps = c.fps if fps is None else float(fps)
    if fps <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    if batch_size < 1:
        raise InputError("batch_size must be at least 1")
    device = next(model.parameters()).device
    resolved = resolve_precision(precision, device)
    checked = [_check_pair(model, v, q) for v, q in pairs]
    if durations_s is not None and len(durations_s) != len(checked):
        raise InputError("durations_s must have one entry per pair")

    jobs: list[_Job] = []
    starts_of: list[list[int]] = []
    for index, (video, query) in enumerate(checked):
        starts = window_starts(video.shape[0], c.buffer_size)
        starts_of.append(starts)
        for start in starts:
            jobs.append(_Job(index, start, video[start : start + c.buffer_size], query))

    decoded = _run_jobs(model, jobs, fps, batch_size, resolved)

    results = []
    for index, (video, _) in enumerate(checked):
        pieces = [(job, out) for job, out in zip(jobs, decoded, strict=True) if job.pair == index]
        moments, saliency = _merge(pieces, video.shape[0], starts_of[index], c.buffer_size, fps)
        moments = moments[: c.max_num_moment]
        if raw:
            boundaries = moments.astype(np.float64)
        else:
            duration = durations_s[index] if durations_s is not None else video.shape[0] / fps
            boundaries = postprocess_for(moments, float(duration), c, top_k=top_k)
        results.append(GroundingResult(boundaries=boundaries, saliency=saliency))
    return results


def _run_jobs(
    model: R2Model, jobs: Sequence[_Job], fps: float, batch_size: int, precision: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Anchored moments and saliency of every job; jobs are batched by similar length."""
    c = model.config
    device = next(model.parameters()).device
    order = sorted(range(len(jobs)), key=lambda j: jobs[j].video.shape[0])
    decoded: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(jobs)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for first in range(0, len(order), batch_size):
                chunk = order[first : first + batch_size]
                video, video_mask = _pad([jobs[j].video for j in chunk], device)
                query, query_mask = _pad([jobs[j].query for j in chunk], device)
                with _precision_context(precision, device):
                    output = model(video, video_mask, query, query_mask, fast=True)
                for row, j in enumerate(chunk):
                    moments = decode_anchored_moments(output, row, fps).cpu().numpy()
                    saliency = decode_saliency(output, row, c.merge_cls_sal).cpu().numpy()
                    decoded[j] = (moments, saliency)
    finally:
        model.train(was_training)
    return [d for d in decoded if d is not None]


def _merge(
    pieces: Sequence[tuple[_Job, tuple[np.ndarray, np.ndarray]]],
    num_clips: int,
    starts: Sequence[int],
    window_clips: int,
    fps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Combine window results by the ownership rule in the module docstring."""
    if len(pieces) == 1:
        ((_, (moments, saliency)),) = pieces
        return moments[:, :3], saliency
    owner = window_owner(num_clips, starts, window_clips)
    saliency = np.zeros(num_clips, dtype=np.float32)
    kept = []
    for w, (job, (moments, window_saliency)) in enumerate(pieces):
        owned = owner == w
        clips = np.arange(job.start_clip, job.start_clip + window_saliency.shape[0])
        saliency[clips[owned[clips]]] = window_saliency[owned[clips]]
        anchors = job.start_clip + moments[:, 3].astype(np.int64)
        mine = moments[owner[anchors] == w].copy()
        mine[:, :2] += job.start_clip / fps
        kept.append(mine[:, :3])
    merged = np.concatenate(kept)
    order = np.argsort(-merged[:, 2], kind="stable")
    return merged[order], saliency
