"""Parity with the published implementation on the fixture cases (atol = rtol = 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.grounding.conftest import case_dir, load_outputs
from vsearch.grounding import TrainingPair, collate, compute_losses, ground
from vsearch.grounding.decoding import decode_moments, decode_saliency
from vsearch.grounding.losses import compute_targets
from vsearch.grounding.model import R2Output

ATOL = RTOL = 1e-4
BOUNDARY_ATOL_S = 1e-3
SOLO = [(case, s) for case in ("caseA", "caseC") for s in ("s0", "s1", "s2")]


def intermediates(output: R2Output) -> dict[str, torch.Tensor]:
    """Our output under the fixture array names."""
    named: dict[str, torch.Tensor] = {}
    for i in range(len(output.tem_in)):
        named[f"adapter_L{i}_query_map_out"] = output.query_map_out[i]
        named[f"adapter_L{i}_tem_in"] = output.tem_in[i]
        named[f"adapter_L{i}_tem_out"] = output.tem_out[i]
        named[f"coll_v_L{i}"] = output.coll_v[i]
        named[f"coll_q_pooled_L{i}"] = output.coll_q_pooled[i]
    if output.tef is not None:
        named["adapter_tef"] = output.tef
    named["adapter_pos_enc"] = output.pos_enc
    named["adapter_video_out_prerelu"] = output.video_out_prerelu
    named["video_emb"] = output.video_emb
    named["query_emb_pooled"] = output.query_emb_pooled
    for j, level in enumerate(output.pyramid):
        named[f"pyramid_level{j}"] = level
        named[f"class_head_logits_level{j}"] = output.class_logits[j]
        if output.coord_raw is not None:
            named[f"coord_head_raw_level{j}"] = output.coord_raw[j]
    named["out_class_logits"] = output.out_class_logits
    if output.out_coord is not None:
        named["out_coord"] = output.out_coord
    named["points"] = output.points
    named["pymid_msk"] = output.pymid_mask.long()
    named["video_msk"] = output.video_mask.long()
    return named


def assert_intermediates(output: R2Output, reference: dict[str, np.ndarray]) -> int:
    ours = intermediates(output)
    fixture_keys = {k for k in reference if not k.startswith(("loss_", "target_"))}
    fixture_keys -= {"saliency", "boundary_top", "boundary_all_sorted", "boundary_sort_index",
                     "saliency_cls_only", "out_score_cosine"}
    missing = fixture_keys - set(ours)
    assert not missing, f"intermediates not produced: {sorted(missing)}"
    for key in sorted(fixture_keys):
        np.testing.assert_allclose(ours[key].detach().numpy(), reference[key],
                                   atol=ATOL, rtol=RTOL, err_msg=key)
    return len(fixture_keys)


def solo_forward(model, inputs, sample):
    video = torch.from_numpy(inputs[f"{sample}_video"].astype(np.float32))[None]
    query = torch.from_numpy(inputs[f"{sample}_query"].astype(np.float32))[None]
    with torch.no_grad():
        return model(video, torch.ones(video.shape[:2], dtype=torch.bool),
                     query, torch.ones(query.shape[:2], dtype=torch.bool))


@pytest.mark.parametrize(("case", "sample"), SOLO)
def test_every_intermediate_matches_reference(case, sample, case_models, case_inputs):
    output = solo_forward(case_models[case], case_inputs[case], sample)
    checked = assert_intermediates(output, load_outputs(case, sample))
    assert checked >= 25


@pytest.mark.parametrize(("case", "sample"), SOLO)
def test_saliency_and_raw_boundaries_match_reference(case, sample, case_models, case_inputs):
    model = case_models[case]
    reference = load_outputs(case, sample)
    output = solo_forward(model, case_inputs[case], sample)
    config = model.config
    saliency = decode_saliency(output, 0, config.merge_cls_sal).numpy()
    np.testing.assert_allclose(saliency, reference["saliency"], atol=ATOL, rtol=RTOL)
    cls_only = decode_saliency(output, 0, False).numpy()
    np.testing.assert_allclose(cls_only, reference["saliency_cls_only"], atol=ATOL, rtol=RTOL)
    cosine = torch.nn.functional.cosine_similarity(output.video_emb, output.query_emb_pooled, -1)
    np.testing.assert_allclose(cosine.numpy(), reference["out_score_cosine"], atol=ATOL, rtol=RTOL)
    if "boundary_top" in reference:
        moments = decode_moments(output, 0, config.fps, config.max_num_moment).numpy()
        assert moments.shape == reference["boundary_top"].shape
        np.testing.assert_allclose(moments[:, :2], reference["boundary_top"][:, :2],
                                   atol=BOUNDARY_ATOL_S, rtol=0)
        np.testing.assert_allclose(moments[:, 2], reference["boundary_top"][:, 2],
                                   atol=ATOL, rtol=RTOL)
        everything = decode_moments(output, 0, config.fps, 10**6).numpy()
        np.testing.assert_allclose(everything[:, :2], reference["boundary_all_sorted"][:, :2],
                                   atol=BOUNDARY_ATOL_S, rtol=0)


@pytest.mark.parametrize(("case", "sample"), SOLO)
def test_ground_raw_matches_reference(case, sample, case_models, case_inputs):
    inputs = case_inputs[case]
    reference = load_outputs(case, sample)
    result = ground(case_models[case], [(inputs[f"{sample}_video"], inputs[f"{sample}_query"])],
                    raw=True)[0]
    np.testing.assert_allclose(result.saliency, reference["saliency"], atol=ATOL, rtol=RTOL)
    if "boundary_top" in reference:
        np.testing.assert_allclose(result.boundaries, reference["boundary_top"],
                                   atol=BOUNDARY_ATOL_S, rtol=0)
    else:
        assert result.boundaries.shape == (0, 3)


def fixture_batch(case, inputs):
    samples = [
        TrainingPair(
            video=inputs[f"{s}_video"].astype(np.float32),
            query=inputs[f"{s}_query"].astype(np.float32),
            saliency=inputs[f"{s}_saliency"],
            pos_clip=int(inputs[f"{s}_pos_clip"][0]),
            boundary=inputs.get(f"{s}_boundary"),
            fps=0.5,
        )
        for s in ("s0", "s2")
    ]
    return collate(samples)


@pytest.mark.parametrize("case", ["caseA", "caseC"])
def test_collate_reproduces_reference_batch(case, case_inputs):
    batch = fixture_batch(case, case_inputs[case])
    collated = dict(np.load(case_dir(case) / "batch_collated.npz"))
    np.testing.assert_array_equal(batch.video_mask.long().numpy(), collated["video_msk"])
    np.testing.assert_array_equal(batch.query_mask.long().numpy(), collated["query_msk"])
    np.testing.assert_array_equal(batch.targets.saliency.numpy(), collated["saliency"])
    np.testing.assert_array_equal(batch.targets.pos_clip.numpy(), collated["pos_clip"][:, 0])
    if "boundary" in collated:
        np.testing.assert_array_equal(batch.targets.boundary.numpy(), collated["boundary"])


@pytest.mark.parametrize("case", ["caseA", "caseC"])
def test_padded_batch_intermediates_losses_and_targets(case, case_models, case_inputs):
    model = case_models[case]
    reference = load_outputs(case, "batch")
    batch = fixture_batch(case, case_inputs[case])
    with torch.no_grad():
        output = model(batch.video, batch.video_mask, batch.query, batch.query_mask,
                       reference_padding=True)
        losses = compute_losses(output, batch.targets, model.config)
    assert_intermediates(output, reference)
    expected = sorted(k for k in reference if k.startswith("loss_"))
    assert sorted(losses) == expected
    for key in expected:
        np.testing.assert_allclose(losses[key].item(), reference[key], atol=ATOL, rtol=RTOL,
                                   err_msg=key)
    if model.config.use_coord_head:
        cls_tgt, reg_tgt = compute_targets(output, batch.targets, model.config)
        np.testing.assert_array_equal(cls_tgt.numpy(), reference["target_cls"])
        np.testing.assert_allclose(reg_tgt.numpy(), reference["target_reg"], atol=ATOL,
                                   rtol=RTOL)
        assert cls_tgt.sum() > 0


@pytest.mark.parametrize("case", ["caseA", "caseC"])
def test_single_sample_losses_match_reference(case, case_models, case_inputs):
    model = case_models[case]
    inputs = case_inputs[case]
    for sample in ("s0", "s1", "s2"):
        reference = load_outputs(case, sample)
        batch = collate([TrainingPair(
            video=inputs[f"{sample}_video"], query=inputs[f"{sample}_query"],
            saliency=inputs[f"{sample}_saliency"], pos_clip=int(inputs[f"{sample}_pos_clip"][0]),
            boundary=inputs.get(f"{sample}_boundary"), fps=0.5)])
        with torch.no_grad():
            output = model(batch.video, batch.video_mask, batch.query, batch.query_mask,
                           reference_padding=True)
            losses = compute_losses(output, batch.targets, model.config)
        assert losses["loss_video_cal"].item() == pytest.approx(0.0, abs=1e-7)
        for key in (k for k in reference if k.startswith("loss_")):
            np.testing.assert_allclose(losses[key].item(), reference[key], atol=ATOL, rtol=RTOL,
                                       err_msg=f"{sample} {key}")


def test_reference_padding_differs_from_exact_padding(case_models, case_inputs):
    """The reference's padding leaks into shorter samples; exact mode must not."""
    model = case_models["caseA"]
    batch = fixture_batch("caseA", case_inputs["caseA"])
    with torch.no_grad():
        ref = model(batch.video, batch.video_mask, batch.query, batch.query_mask,
                    reference_padding=True)
        exact = model(batch.video, batch.video_mask, batch.query, batch.query_mask)
    solo = solo_forward(model, case_inputs["caseA"], "s2")
    t = solo.video_emb.shape[1]
    assert (ref.video_emb[1, :t] - solo.video_emb[0]).abs().max() > 1e-2
    np.testing.assert_allclose(exact.video_emb[1, :t].numpy(), solo.video_emb[0].numpy(),
                               atol=1e-5, rtol=1e-5)
