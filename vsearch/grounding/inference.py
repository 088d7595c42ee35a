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
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vsearch.errors import InputError
from vsearch.grounding.decoding import decode_anchored_moments, decode_saliency, postprocess_for
from vsearch.grounding.model import R2Model

ArrayLike = np.ndarray | Tensor


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


def _to_tensor(value: ArrayLike, name: str, rank: int) -> Tensor:
    tensor = value if torch.is_tensor(value) else torch.from_numpy(np.asarray(value))
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
    longest = max(t.shape[0] for t in tensors)
    first = tensors[0]
    out = torch.zeros((len(tensors), longest, *first.shape[1:]), dtype=first.dtype, device=device)
    mask = torch.zeros((len(tensors), longest), dtype=torch.bool, device=device)
    for row, tensor in enumerate(tensors):
        out[row, : tensor.shape[0]] = tensor.to(device)
        mask[row, : tensor.shape[0]] = True
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
) -> list[GroundingResult]:
    """Ground each (video (T,K,P,Wv), query (L,K,Wq)) pair; results in input order.

    `fps` defaults to the model config's. With `raw`, boundaries are the top
    `max_num_moment` moments as decoded (no clamp, rounding or NMS); otherwise they are
    post-processed with the config's defaults against `durations_s` (default T / fps).
    """
    c = model.config
    fps = c.fps if fps is None else float(fps)
    if fps <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    if batch_size < 1:
        raise InputError("batch_size must be at least 1")
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

    decoded = _run_jobs(model, jobs, fps, batch_size)

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
    model: R2Model, jobs: Sequence[_Job], fps: float, batch_size: int
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
                precision = (
                    torch.autocast("cuda") if device.type == "cuda" else contextlib.nullcontext()
                )
                with precision:
                    output = model(video, video_mask, query, query_mask)
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
