"""The folded inference forward equals the published one; precision choice and its effect."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tests.grounding.test_batching import random_pair, tiny_config, tiny_model
from tests.grounding.test_parity import intermediates
from vsearch.errors import InputError, ModelError
from vsearch.grounding import R2Config, R2Model, ground
from vsearch.grounding import model as model_module
from vsearch.grounding.inference import cpu_has_native_bf16, resolve_precision
from vsearch.search.grounders import R2Grounder

TOL = 1e-5


def padded_batch(config: R2Config, lengths: list[int], tokens: list[int], seed: int):
    """Random float16 video and float32 query batches with garbage (inf) in the padding."""
    gen = torch.Generator().manual_seed(seed)
    b, t, n = len(lengths), max(lengths), max(tokens)
    video = torch.randn(b, t, config.num_layers, config.video_tokens, config.video_width,
                        generator=gen).half()  # fmt: skip
    query = torch.randn(b, n, config.num_layers, config.query_width, generator=gen)
    video_mask = torch.arange(t)[None] < torch.tensor(lengths)[:, None]
    query_mask = torch.arange(n)[None] < torch.tensor(tokens)[:, None]
    video[~video_mask] = float("inf")
    query[~query_mask] = float("inf")
    return video, video_mask, query, query_mask


def assert_outputs_equal(fast, published) -> None:
    ours, reference = intermediates(fast), intermediates(published)
    assert ours.keys() == reference.keys()
    for key, value in reference.items():
        np.testing.assert_allclose(ours[key].numpy(), value.numpy(), atol=TOL, rtol=TOL,
                                   err_msg=key)  # fmt: skip


@pytest.mark.parametrize("reference_padding", [False, True])
@pytest.mark.parametrize("chunk_tokens", [7, 1024, None])
def test_folded_forward_equals_published_on_padded_batches(
    reference_padding, chunk_tokens, monkeypatch
):
    """Every intermediate, at padded positions too; small chunks split clips across chunks,
    and None runs the whole-batch pass GPUs take."""
    if chunk_tokens is None:
        monkeypatch.setattr(model_module, "CHUNKED_DEVICES", frozenset())
    else:
        monkeypatch.setattr(model_module, "CHUNK_TOKENS", chunk_tokens)
    config = tiny_config(buffer_size=64)
    model = tiny_model(config, seed=3)
    batch = padded_batch(config, lengths=[13, 29, 1], tokens=[4, 2, 6], seed=5)
    with torch.inference_mode():
        published = model(*batch, reference_padding=reference_padding)
        fast = model(*batch, reference_padding=reference_padding, fast=True)
    assert_outputs_equal(fast, published)


def test_folded_forward_equals_published_at_published_size():
    """The published widths (770-wide LayerNorm input, 256 dims, 50 tokens)."""
    torch.manual_seed(0)
    model = R2Model(R2Config()).eval()
    with torch.no_grad():
        model.adapter.scale.normal_()
        model.adapter.gate.normal_()
    batch = padded_batch(model.config, lengths=[30, 11], tokens=[7, 12], seed=1)
    with torch.inference_mode():
        published = model(*batch)
        fast = model(*batch, fast=True)
    assert_outputs_equal(fast, published)


def test_folded_forward_refuses_training_mode():
    config = tiny_config(buffer_size=64)
    model = tiny_model(config).train()
    batch = padded_batch(config, lengths=[5], tokens=[3], seed=0)
    with pytest.raises(ModelError, match="eval"):
        model(*batch, fast=True)


def test_memory_mapped_float16_features_ground_like_float32(tmp_path):
    config = tiny_config(buffer_size=16)
    model = tiny_model(config)
    video, query = random_pair(40, 5, config, seed=2)
    np.save(tmp_path / "video.npy", video.astype(np.float16))
    mapped = np.load(tmp_path / "video.npy", mmap_mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_map = ground(model, [(mapped[3:33], query)], raw=True)[0]
    in_memory = ground(model, [(mapped[3:33].astype(np.float32), query)], raw=True)[0]
    np.testing.assert_allclose(from_map.saliency, in_memory.saliency, atol=TOL, rtol=TOL)
    np.testing.assert_allclose(from_map.boundaries, in_memory.boundaries, atol=TOL, rtol=TOL)


def test_precision_names():
    cpu = torch.device("cpu")
    assert resolve_precision(None, cpu) == "fp32"
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", cpu) == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision("auto", torch.device("cuda")) == "fp16"
    assert resolve_precision(None, torch.device("cuda")) == "fp16"
    with pytest.raises(InputError, match="CUDA"):
        resolve_precision("fp16", cpu)
    with pytest.raises(InputError, match="precision"):
        resolve_precision("int8", cpu)
    assert R2Grounder(None).precision == "auto"


@pytest.mark.parametrize("sample", ["s0", "s1", "s2"])
def test_bf16_ranks_moments_like_fp32(sample, case_models, case_inputs):
    """bf16 moves saliency by about 1e-3 here; the best moment and clip stay the same."""
    inputs = case_inputs["caseA"]
    pair = (inputs[f"{sample}_video"], inputs[f"{sample}_query"])
    exact = ground(case_models["caseA"], [pair], precision="fp32")[0]
    fast = ground(case_models["caseA"], [pair], precision="bf16")[0]
    assert np.abs(fast.saliency - exact.saliency).max() < 1e-2
    assert int(fast.saliency.argmax()) == int(exact.saliency.argmax())
    np.testing.assert_allclose(fast.boundaries[0, :2], exact.boundaries[0, :2])
    assert fast.boundaries[0, 2] == pytest.approx(exact.boundaries[0, 2], abs=1e-2)


def test_r2_grounder_defaults_match_ground_with_auto_precision():
    """One window per forward on CPU and "auto" precision: same moments as `ground` itself."""
    from vsearch.search.grounders import GroundingJob
    from vsearch.search.query import EncodedQuery

    config = tiny_config(buffer_size=64)
    model = tiny_model(config)
    pairs = [random_pair(n, 4, config, seed=n) for n in (20, 33)]
    jobs = [
        GroundingJob(EncodedQuery("q", np.zeros(4, np.float32), query, False, 4),
                     np.zeros(len(video), np.float32), video, start_s=10.0,
                     duration_s=len(video) / 0.5)
        for video, query in pairs
    ]  # fmt: skip
    found = R2Grounder(model).ground(jobs, fps=0.5)
    expected = ground(model, pairs, fps=0.5, precision="auto", batch_size=1)
    for window, result in zip(found, expected, strict=True):
        np.testing.assert_allclose(window.boundaries[:, :2], result.boundaries[:, :2] + 10.0)
        np.testing.assert_allclose(window.saliency, result.saliency)
