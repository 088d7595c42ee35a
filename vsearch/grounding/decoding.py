"""Turning a forward output into moments and per-clip saliency, and post-processing moments.

Raw decoding follows the published inference exactly (top-`max_num_moment` moments, no
clamping). `postprocess` then applies what evaluation does: clamp to [0, duration], round to
the clip unit when the end lies before the video end, and NMS (hard, linear or gaussian).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vsearch.grounding.config import NmsKind, R2Config
from vsearch.grounding.model import R2Output


def _level_slices(output: R2Output, row: int) -> list[tuple[int, int, int]]:
    """(offset into N, valid length, stride) of each level for one sample."""
    slices = []
    offset = 0
    mask = output.pymid_mask[row]
    for level, stride in zip(output.pyramid, output.strides, strict=True):
        n = level.shape[1]
        valid = int(mask[offset : offset + n].sum()) if not output.reference_padding else n
        slices.append((offset, valid, stride))
        offset += n
    return slices


def decode_moments(output: R2Output, row: int, fps: float, max_num_moment: int) -> Tensor:
    """(M,3) rows [start_s, end_s, score] of one sample, best first, at most `max_num_moment`.

    start = (t - d_start * stride) / fps and end = (t + d_end * stride) / fps; not clamped.
    """
    return decode_anchored_moments(output, row, fps)[:max_num_moment, :3]


def decode_anchored_moments(output: R2Output, row: int, fps: float) -> Tensor:
    """All (M,4) rows [start_s, end_s, score, anchor_clip] of one sample, best first."""
    if output.out_coord is None:
        return torch.zeros(0, 4)
    keep = []
    for offset, valid, _ in _level_slices(output, row):
        keep.append(torch.arange(offset, offset + valid, device=output.points.device))
    idx = torch.cat(keep)
    points = output.points[idx]
    coord = output.out_coord[row, idx].float()
    score = output.out_class_logits[row, idx, 0].float().sigmoid()
    start = (points[:, 0] - coord[:, 0] * points[:, 3]) / fps
    end = (points[:, 0] + coord[:, 1] * points[:, 3]) / fps
    moments = torch.stack((start, end, score, points[:, 0]), dim=1)
    order = score.sort(descending=True).indices
    return moments[order]


def decode_saliency(output: R2Output, row: int, merge_cls_sal: bool) -> Tensor:
    """(T,) per-clip saliency of one sample: max over levels of the class score expanded back
    to clips (each score repeated int(T / T_level) times, the last one filling up), times the
    clip-query cosine when `merge_cls_sal`."""
    t = int(output.video_mask[row].sum())
    scores = output.out_class_logits[row, :, 0].float().sigmoid()
    per_level = []
    for offset, valid, _ in _level_slices(output, row):
        if valid == 0:
            continue
        score = scores[offset : offset + valid]
        if t >= valid:
            score = score.repeat_interleave(t // valid)
            score = torch.cat((score, score[-1:].repeat(t - score.shape[0])))
        else:
            step = valid // t
            score = F.max_pool1d(score[None], step, stride=step)[0]
        per_level.append(score)
    saliency = torch.stack(per_level).amax(dim=0)
    if merge_cls_sal:
        video = output.video_emb[row, :t].float()
        query = output.query_emb_pooled[row].float()
        saliency = saliency * F.cosine_similarity(video, query, dim=-1)
    return saliency


def temporal_iou(one: np.ndarray, many: np.ndarray) -> np.ndarray:
    """IoU of one window [start, end] with each row of `many` (K,2)."""
    inter = np.clip(np.minimum(one[1], many[:, 1]) - np.maximum(one[0], many[:, 0]), 0, None)
    union = np.maximum(one[1], many[:, 1]) - np.minimum(one[0], many[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


def nms(
    moments: np.ndarray, kind: NmsKind, *, threshold: float = 0.7, sigma: float = 0.5
) -> np.ndarray:
    """Greedy (soft-)NMS over rows [start, end, score]; returns rows re-sorted by score.

    normal: later rows with IoU >= threshold to a kept row get score 0 (kept, not dropped, as
    the published evaluation does); linear: score *= 1 - IoU; gaussian: score *=
    exp(-IoU^2 / sigma).
    """
    out = np.array(moments, dtype=np.float64, copy=True)
    for i in range(out.shape[0]):
        best = i + int(np.argmax(out[i:, 2]))
        out[[i, best]] = out[[best, i]]
        if i + 1 >= out.shape[0]:
            break
        iou = temporal_iou(out[i, :2], out[i + 1 :, :2])
        if kind == "normal":
            out[i + 1 :, 2][iou >= threshold] = 0.0
        elif kind == "linear":
            out[i + 1 :, 2] *= 1 - iou
        elif kind == "gaussian":
            out[i + 1 :, 2] *= np.exp(-(iou**2) / sigma)
        else:
            raise ValueError(f"unknown NMS kind {kind!r}")
    order = np.argsort(-out[:, 2], kind="stable")
    return out[order]


def postprocess(
    moments: np.ndarray | Tensor,
    duration_s: float,
    *,
    unit_s: float | None,
    nms_kind: NmsKind | None,
    nms_threshold: float = 0.7,
    nms_sigma: float = 0.5,
    top_k: int | None = None,
) -> np.ndarray:
    """Evaluation-time cleanup of raw moments (M,3) -> (M',3) float64.

    1. clamp start/end to [0, duration_s]; 2. round to `unit_s` the rows whose (unclamped)
    end lies before the video end; 3. NMS; 4. keep the first `top_k`.
    """
    out = np.array(moments.detach().cpu() if torch.is_tensor(moments) else moments, np.float64)
    out = out.reshape(-1, 3)
    before_end = out[:, 1] < duration_s
    out[:, :2] = np.clip(out[:, :2], 0.0, duration_s)
    if unit_s is not None and unit_s > 0:
        out[before_end, :2] = np.round(out[before_end, :2] / unit_s) * unit_s
    if nms_kind is not None and out.shape[0]:
        out = nms(out, nms_kind, threshold=nms_threshold, sigma=nms_sigma)
    if top_k is not None:
        out = out[:top_k]
    return out


def postprocess_for(
    moments: np.ndarray | Tensor, duration_s: float, config: R2Config, top_k: int | None = None
) -> np.ndarray:
    """`postprocess` with the defaults of `config` (unit, NMS kind, threshold, sigma)."""
    return postprocess(
        moments,
        duration_s,
        unit_s=config.unit_s,
        nms_kind=config.nms,
        nms_threshold=config.nms_threshold,
        nms_sigma=config.nms_sigma,
        top_k=top_k,
    )
