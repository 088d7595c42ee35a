"""Training losses of R2-Tuning and the target assignment they need, outside `forward`.

Losses (each already multiplied by its weight from `R2Config`):

* `loss_cls`: sigmoid focal loss (gamma 2) over valid pyramid positions; on highlight-only
  configs a BCE against the continuous saliency targets instead.
* `loss_reg`: L1 on (t - start, end - t) / stride at positive positions (grounding configs).
* `loss_sal`: sampled saliency NCE between clip features and the pooled query.
* `loss_video_cal`, `loss_layer_cal`: symmetric InfoNCE calibrations of the per-layer mapped
  CLS features against the per-layer pooled query, across the batch and across layers.

Not in the published recipe: `video_contrast_loss`, a cross-entropy over groups of videos
scored against one query, which makes the class score say which video a query holds in.

To reproduce the published numbers on padded batches, run the model with
`reference_padding=True` (that is what the published training did).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vsearch.errors import InputError
from vsearch.grounding.config import R2Config
from vsearch.grounding.model import R2Output


@dataclass(frozen=True)
class LossTargets:
    """Supervision of a batch.

    boundary: (B,M,2) windows in seconds, rows past a sample's windows are +inf.
    saliency: (B,T) per-clip targets, 0 on padding. pos_clip: (B,) the positive clip per
    sample. fps: (B,) clip rate of each sample's features. matched: (B,) bool, False for a
    mismatched pair (a query with a video where it holds nowhere: no windows, zero saliency);
    None when every pair is matched, as in the published recipe.
    """

    boundary: Tensor | None
    saliency: Tensor
    pos_clip: Tensor
    fps: Tensor
    matched: Tensor | None = None

    @classmethod
    def build(
        cls,
        *,
        saliency: Sequence[Tensor | np.ndarray],
        pos_clip: Sequence[int],
        fps: float | Sequence[float],
        boundaries: Sequence[Tensor | np.ndarray] | None = None,
        matched: Sequence[bool] | None = None,
    ) -> LossTargets:
        """Pad per-sample lists: windows (M_i,2) seconds with +inf rows, saliency with 0."""
        if not saliency:
            raise InputError("targets need at least one sample")
        rates = [float(fps)] * len(saliency) if isinstance(fps, int | float) else list(fps)
        t = max(len(s) for s in saliency)
        padded = torch.zeros(len(saliency), t)
        for row, values in enumerate(saliency):
            values = _as_tensor(values).float().reshape(-1)
            padded[row, : values.shape[0]] = values
        boundary = None
        if boundaries is not None:
            windows = [_as_tensor(w).float().reshape(-1, 2) for w in boundaries]
            m = max(1, max(w.shape[0] for w in windows))  # a mismatched pair has no window
            boundary = torch.full((len(windows), m, 2), math.inf)
            for row, w in enumerate(windows):
                boundary[row, : w.shape[0]] = w
        return cls(
            boundary=boundary,
            saliency=padded,
            pos_clip=torch.tensor([int(p) for p in pos_clip], dtype=torch.long),
            fps=torch.tensor(rates, dtype=torch.float32),
            matched=None if matched is None or all(matched) else torch.tensor(list(matched)),
        )


@dataclass(frozen=True)
class TrainingPair:
    """One training pair: features (T,K,P,Wv) and (L,K,Wq) plus its supervision."""

    video: Tensor | np.ndarray
    query: Tensor | np.ndarray
    saliency: Tensor | np.ndarray
    pos_clip: int
    boundary: Tensor | np.ndarray | None = None  # (M,2) seconds
    fps: float = 0.5
    matched: bool = True  # False: the query holds nowhere in this video


@dataclass(frozen=True)
class Batch:
    """Padded inputs with explicit masks, ready for `R2Model.forward` and `compute_losses`."""

    video: Tensor  # (B,T,K,P,Wv), zeros on padding
    video_mask: Tensor  # (B,T) bool
    query: Tensor  # (B,L,K,Wq), zeros on padding
    query_mask: Tensor  # (B,L) bool
    targets: LossTargets


def _as_tensor(value: Tensor | np.ndarray) -> Tensor:
    return value if torch.is_tensor(value) else torch.from_numpy(np.asarray(value))


def pad_with_inf(arrays: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Stack along a new batch axis, padding dim 0 with +inf; mask = padded entry is finite.

    This is the published convention: the mask comes from `isfinite` of the first feature of
    each row, then padding is replaced by zeros.
    """
    longest = max(a.shape[0] for a in arrays)
    first = arrays[0]
    dtype = first.dtype if first.is_floating_point() else torch.float32
    out = torch.full((len(arrays), longest, *first.shape[1:]), math.inf, dtype=dtype)
    for row, array in enumerate(arrays):
        out[row, : array.shape[0]] = array
    mask = out.reshape(len(arrays), longest, -1)[:, :, 0].isfinite()
    out = torch.where(mask.reshape(mask.shape + (1,) * (out.dim() - 2)), out, 0)
    return out, mask


def collate(samples: Sequence[TrainingPair]) -> Batch:
    """Pad a list of samples into one batch (features +inf-padded then masked, boundaries
    +inf-padded rows, saliency 0-padded)."""
    if not samples:
        raise InputError("cannot collate an empty list of samples")
    video, video_mask = pad_with_inf([_as_tensor(s.video) for s in samples])
    query, query_mask = pad_with_inf([_as_tensor(s.query) for s in samples])
    has_windows = all(s.boundary is not None for s in samples)
    targets = LossTargets.build(
        saliency=[_as_tensor(s.saliency) for s in samples],
        pos_clip=[int(s.pos_clip) for s in samples],
        fps=[float(s.fps) for s in samples],
        boundaries=[_as_tensor(s.boundary) for s in samples] if has_windows else None,
        matched=[s.matched for s in samples],
    )
    return Batch(video, video_mask, query, query_mask, targets)


def assign_targets(
    points: Tensor, boundary: Tensor, fps: Tensor, sample_radius: float
) -> tuple[Tensor, Tensor]:
    """Classification (B,N) and regression (B,N,2) targets per output position.

    A position is positive when it lies inside a window, within `sample_radius` strides of the
    window centre and the window's extent from it fits the level's regression range; among
    several windows the shortest wins. Regression targets are in stride units; rows of
    `boundary` that are +inf are padding and never match.
    """
    cls_rows, reg_rows = [], []
    for row in range(boundary.shape[0]):
        gt = boundary[row].to(points) * fps[row].to(points)
        c_tgt, r_tgt = _targets_single(points, gt, sample_radius)
        cls_rows.append(c_tgt)
        reg_rows.append(r_tgt)
    return torch.stack(cls_rows), torch.stack(reg_rows)


def _targets_single(points: Tensor, gt: Tensor, sample_radius: float) -> tuple[Tensor, Tensor]:
    n, m = points.shape[0], gt.shape[0]
    pos, low, high, stride = (
        points[:, 0, None],
        points[:, 1, None],
        points[:, 2, None],
        points[:, 3, None],
    )
    lens = (gt[:, 1] - gt[:, 0])[None].repeat(n, 1)
    start, end = gt[None, :, 0].expand(n, m), gt[None, :, 1].expand(n, m)
    reg = torch.stack((pos - start, end - pos), dim=-1)  # N,M,2
    if sample_radius > 0:
        centre = (start + end) / 2
        t_min = centre - stride * sample_radius
        t_max = centre + stride * sample_radius
        dist_s = pos - torch.maximum(t_min, start)
        dist_e = torch.minimum(t_max, end) - pos
        inside = torch.minimum(dist_s, dist_e) >= 0
    else:
        inside = reg.min(-1).values >= 0
    extent = reg.max(-1).values
    in_range = (extent >= low) & (extent <= high)
    lens = lens.masked_fill(~inside, math.inf).masked_fill(~in_range, math.inf)
    min_len, min_idx = lens.min(dim=1)
    chosen = (lens <= min_len[:, None] + 1e-3) & (lens < math.inf)
    c_tgt = chosen.any(dim=1).to(points.dtype)
    r_tgt = reg[torch.arange(n), min_idx] / stride
    return c_tgt, r_tgt


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 2.0) -> Tensor:
    """Element-wise sigmoid focal loss without class balancing."""
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    return ce * (1 - p_t) ** gamma


def sampled_nce_loss(
    video_emb: Tensor,
    query_pooled: Tensor,
    video_mask: Tensor,
    saliency: Tensor,
    pos_clip: Tensor,
    temperature: float,
    directions: Sequence[str],
    anchors: Tensor | None = None,
) -> Tensor:
    """Saliency NCE: the positive clip against clips no more salient than it (row), and
    against the other videos at the same clip index (col).

    `anchors` (B,) bool limits the terms to matched pairs; mismatched pairs still take part
    as negatives in the column direction.
    """
    every_row = torch.arange(video_emb.shape[0], device=video_emb.device)
    rows = every_row if anchors is None else every_row[anchors.to(every_row.device)]
    b = max(1, rows.shape[0])
    pos_score = saliency[every_row, pos_clip].unsqueeze(-1)
    keep = (saliency <= pos_score) & video_mask
    scale = video_emb.new_tensor([math.log(1 / temperature)]).exp().clamp(max=100)
    sim = F.cosine_similarity(video_emb, query_pooled, dim=-1) * scale
    sim = sim.masked_fill(~keep, float("-inf"))
    loss = video_emb.new_zeros(())
    if "row" in directions:
        loss = loss - F.log_softmax(sim, dim=1)[rows, pos_clip[rows]].sum() / b
    if "col" in directions:
        loss = loss - F.log_softmax(sim.t(), dim=1)[pos_clip[rows], rows].sum() / b
    return loss


def info_nce_loss(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """Symmetric InfoNCE over the second-to-last axis: row k of `a` matches row k of `b`."""
    a = F.normalize(a, dim=-1)
    b = F.normalize(b, dim=-1)
    scale = a.new_tensor([math.log(1 / temperature)]).exp().clamp(max=100)
    n = a.shape[-2]
    labels = torch.arange(n, device=a.device)
    a_sim = torch.matmul(a, b.transpose(-1, -2)) * scale
    b_sim = a_sim.transpose(-1, -2)
    a_sim = a_sim.reshape(-1, n)
    b_sim = b_sim.reshape(-1, n)
    reps = a_sim.shape[0] // n
    return (
        F.cross_entropy(a_sim, labels.repeat(reps)) + F.cross_entropy(b_sim, labels.repeat(reps))
    ) / 2


def compute_losses(output: R2Output, targets: LossTargets, config: R2Config) -> dict[str, Tensor]:
    """The weighted training losses of one batch; the training objective is their sum.

    Keys: loss_cls, loss_reg (grounding configs only), loss_sal, loss_video_cal,
    loss_layer_cal.
    """
    c = config
    saliency = targets.saliency.to(output.video_emb)
    pos_clip = targets.pos_clip.to(output.video_emb.device).long().reshape(-1)
    weight = output.pymid_mask.to(output.out_class_logits.dtype)
    logits = output.out_class_logits.squeeze(-1)
    losses: dict[str, Tensor] = {}
    if c.use_coord_head:
        if targets.boundary is None or output.out_coord is None:
            raise InputError("grounding losses need boundary targets and a coordinate head")
        fps = targets.fps.reshape(-1).to(output.points)
        cls_tgt, reg_tgt = assign_targets(output.points, targets.boundary, fps, c.sample_radius)
        reg_mask = cls_tgt.bool().unsqueeze(-1).expand_as(output.out_coord)
        l1 = torch.where(reg_mask, (output.out_coord - reg_tgt).abs(), 0.0)
        losses["loss_reg"] = l1.sum() / reg_mask.sum().clamp(min=1) * c.loss_reg_weight
        cls_loss = focal_loss(logits, cls_tgt)
    else:
        cls_loss = F.binary_cross_entropy_with_logits(logits, saliency, reduction="none")
    losses["loss_cls"] = (cls_loss * weight).sum() / weight.sum() * c.loss_cls_weight
    losses["loss_sal"] = (
        sampled_nce_loss(
            output.video_emb,
            output.query_emb_pooled,
            output.video_mask,
            saliency,
            pos_clip,
            c.temperature,
            c.sal_directions,
            anchors=targets.matched,
        )
        * c.loss_sal_weight
    )
    rows = torch.arange(pos_clip.shape[0], device=pos_clip.device)
    if targets.matched is not None:  # calibration pairs a clip with its own query: matched only
        rows = rows[targets.matched.to(rows.device)]
    v_pos = torch.stack([v[rows, pos_clip[rows]] for v in output.coll_v])  # K,B,D
    q_pos = torch.stack([q[rows, 0] for q in output.coll_q_pooled])  # K,B,D
    losses["loss_video_cal"] = info_nce_loss(v_pos, q_pos, c.temperature) * c.loss_video_cal_weight
    losses["loss_layer_cal"] = (
        info_nce_loss(v_pos.transpose(0, 1), q_pos.transpose(0, 1), c.temperature)
        * c.loss_layer_cal_weight
    )
    return losses


def video_contrast_loss(output: R2Output, group_size: int, scale: float) -> Tensor:
    """Cross-entropy that asks each query's own video to score above its other videos.

    Rows come in groups of `group_size` (the query with its own video first, then others, see
    `vsearch.research.negatives.contrast_groups`). A video's score is its highest class logit
    over valid pyramid positions: the confidence of its best moment, which is what search ranks
    videos by. `scale` sharpens the softmax over a group's scores.
    """
    rows = output.out_class_logits.shape[0]
    if group_size < 2 or rows % group_size:
        raise InputError(f"{rows} rows do not form groups of {group_size} (at least 2)")
    logits = output.out_class_logits.squeeze(-1).float()
    best = logits.masked_fill(~output.pymid_mask, float("-inf")).amax(dim=1)
    groups = best.view(-1, group_size) * scale
    own = torch.zeros(groups.shape[0], dtype=torch.long, device=groups.device)
    return F.cross_entropy(groups, own)


def compute_targets(
    output: R2Output, targets: LossTargets, config: R2Config
) -> tuple[Tensor, Tensor]:
    """`assign_targets` on a forward output (exposed for inspection and tests)."""
    if targets.boundary is None:
        raise InputError("target assignment needs boundary targets")
    fps = targets.fps.reshape(-1).to(output.points)
    return assign_targets(output.points, targets.boundary, fps, config.sample_radius)
