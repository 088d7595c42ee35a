"""Training losses beyond parity: hand-checked targets and gradients reaching every weight."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsearch.errors import InputError
from vsearch.grounding import (
    LossTargets,
    R2Config,
    R2Model,
    TrainingPair,
    collate,
    compute_losses,
    video_contrast_loss,
)
from vsearch.grounding.losses import assign_targets


def test_targets_on_a_hand_made_window():
    # stride-1 level with 8 points, range (0, 2); stride-2 level with 4 points, range (2, inf)
    points = torch.tensor(
        [[t, 0.0, 2.0, 1.0] for t in range(8)] + [[2.0 * t, 2.0, float("inf"), 2.0]
                                                  for t in range(4)]
    )
    boundary = torch.tensor([[[4.0, 8.0], [float("inf"), float("inf")]]])  # seconds
    cls_tgt, reg_tgt = assign_targets(points, boundary, torch.tensor([0.5]), 1.5)
    # window in clips: [2, 4], centre 3. Stride 1: points 2..4 are inside and within 1.5 of
    # the centre, but their largest distance must be <= 2: points 2 (2), 3 (1), 4 (2).
    # Stride 2: radius 3 -> [2, 4]; points 2 and 4 have largest distance 2, inside (2, inf)
    # only at equality, which the range includes.
    assert cls_tgt[0, :8].tolist() == [0, 0, 1, 1, 1, 0, 0, 0]
    assert cls_tgt[0, 8:].tolist() == [0, 1, 1, 0]
    np.testing.assert_allclose(reg_tgt[0, 3].numpy(), [1.0, 1.0])
    np.testing.assert_allclose(reg_tgt[0, 9].numpy(), [0.0, 1.0])


def tiny_batch(config: R2Config, seed: int):
    rng = np.random.default_rng(seed)
    samples = []
    for t, length in [(12, 4), (7, 6)]:
        video = rng.normal(size=(t, 4, config.video_tokens, config.video_width))
        query = rng.normal(size=(length, 4, config.query_width))
        saliency = np.zeros(t, np.float32)
        saliency[2:5] = [0.5, 1.0, 0.25]
        samples.append(TrainingPair(video=video.astype(np.float32),
                                       query=query.astype(np.float32), saliency=saliency,
                                       pos_clip=3, boundary=np.array([[4.0, 10.0]]), fps=0.5))
    return collate(samples)


def test_gradients_reach_every_parameter():
    config = R2Config(video_width=8, query_width=6, video_tokens=3, dims=16, heads=2)
    torch.manual_seed(0)
    model = R2Model(config).train()
    batch = tiny_batch(config, 0)
    output = model(batch.video, batch.video_mask, batch.query, batch.query_mask,
                   reference_padding=True)
    losses = compute_losses(output, batch.targets, config)
    assert set(losses) == {"loss_cls", "loss_reg", "loss_sal", "loss_video_cal",
                           "loss_layer_cal"}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert no_grad == []


def test_highlight_only_losses():
    config = R2Config.from_dict({"base": "tvsum", "video_width": 8, "query_width": 6,
                                 "video_tokens": 3, "dims": 16, "heads": 2})
    model = R2Model(config).eval()
    batch = tiny_batch(config, 1)
    output = model(batch.video, batch.video_mask, batch.query, batch.query_mask)
    losses = compute_losses(output, batch.targets, config)
    assert set(losses) == {"loss_cls", "loss_sal", "loss_video_cal", "loss_layer_cal"}
    assert all(torch.isfinite(v) for v in losses.values())


def test_loss_targets_build_pads_like_collate():
    targets = LossTargets.build(
        saliency=[np.ones(3), np.ones(5)], pos_clip=[0, 4], fps=0.5,
        boundaries=[np.array([[0.0, 2.0]]), np.array([[0.0, 2.0], [4.0, 6.0]])],
    )
    assert targets.saliency.shape == (2, 5) and targets.saliency[0, 3:].sum() == 0
    assert targets.boundary.shape == (2, 2, 2) and torch.isinf(targets.boundary[0, 1]).all()
    assert targets.fps.tolist() == [0.5, 0.5] and targets.pos_clip.tolist() == [0, 4]


def test_masks_must_be_right_padding():
    config = R2Config(video_width=8, query_width=6, video_tokens=3, dims=16, heads=2)
    model = R2Model(config).eval()
    video = torch.zeros(1, 4, 4, 3, 8)
    query = torch.zeros(1, 2, 4, 6)
    holey = torch.tensor([[True, False, True, True]])
    with pytest.raises(InputError, match="prefix"):
        model(video, holey, query, torch.ones(1, 2, dtype=torch.bool))


def test_a_mismatched_pair_is_all_negative_and_anchors_nothing():
    config = R2Config(video_width=8, query_width=6, video_tokens=3, dims=16, heads=2)
    torch.manual_seed(0)
    model = R2Model(config).eval()
    matched = tiny_batch(config, 0)
    rng = np.random.default_rng(5)
    samples = [
        TrainingPair(video=matched.video[i, : int(matched.video_mask[i].sum())],
                        query=matched.query[i, : int(matched.query_mask[i].sum())],
                        saliency=matched.targets.saliency[i, : int(matched.video_mask[i].sum())],
                        pos_clip=int(matched.targets.pos_clip[i]),
                        boundary=np.array([[4.0, 10.0]]), fps=0.5)
        for i in range(2)
    ]  # fmt: skip
    stranger = TrainingPair(
        video=rng.normal(size=(9, 4, 3, 8)).astype(np.float32),
        query=samples[0].query, saliency=np.zeros(9, np.float32), pos_clip=0,
        boundary=np.zeros((0, 2)), fps=0.5, matched=False,
    )  # fmt: skip
    mixed = collate([*samples, stranger])
    assert mixed.targets.matched.tolist() == [True, True, False]
    assert collate(samples).targets.matched is None  # the published path is untouched

    def losses(batch):
        output = model(batch.video, batch.video_mask, batch.query, batch.query_mask)
        return output, compute_losses(output, batch.targets, config)

    output, with_stranger = losses(mixed)
    _, alone = losses(collate(samples))
    cls_tgt, _ = assign_targets(output.points, mixed.targets.boundary, mixed.targets.fps,
                                config.sample_radius)  # fmt: skip
    assert cls_tgt[2].sum() == 0 and cls_tgt[:2].sum() > 0
    # calibration pairs a clip with its own query: the stranger takes no part
    for key in ("loss_video_cal", "loss_layer_cal"):
        torch.testing.assert_close(with_stranger[key], alone[key])
    # it is a negative for the saliency contrast across videos, and for the focal loss
    assert not torch.isclose(with_stranger["loss_sal"], alone["loss_sal"])
    assert torch.isfinite(with_stranger["loss_cls"])


def test_video_contrast_loss_is_the_cross_entropy_of_each_groups_best_moments():
    config = R2Config(video_width=8, query_width=6, video_tokens=3, dims=16, heads=2)
    torch.manual_seed(0)
    model = R2Model(config).eval()
    batch = tiny_batch(config, 1)  # two rows of different lengths: one group of two
    with torch.no_grad():
        output = model(batch.video, batch.video_mask, batch.query, batch.query_mask)
    logits = output.out_class_logits.squeeze(-1)
    best = [float(logits[row][output.pymid_mask[row]].max()) for row in range(2)]
    expected = float(torch.log1p(torch.exp(torch.tensor(3.0 * (best[1] - best[0])))))
    loss = video_contrast_loss(output, group_size=2, scale=3.0)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(InputError, match="groups of 3"):
        video_contrast_loss(output, group_size=3, scale=3.0)
