"""Every way of supplying CLIP weights, and the errors when none can be had."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from safetensors.torch import save_file

from tests.encoder.conftest import TINY_CONFIG, TINY_WEIGHTS
from vsearch.encoder import ClipEncoder, ClipModelSpec
from vsearch.errors import ModelError


@pytest.fixture(scope="module")
def tiny_model() -> CLIP:
    """A tiny open_clip architecture with random weights (not the fixture model)."""
    torch.manual_seed(5)
    return CLIP(**copy.deepcopy(TINY_CONFIG)).eval()


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (3, 3, 64, 64), dtype=np.uint8)


def _normalised(frames: np.ndarray) -> torch.Tensor:
    mean = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(1, 3, 1, 1)
    std = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(1, 3, 1, 1)
    return (torch.from_numpy(frames).float() / 255 - mean) / std


def _assert_same_model(encoder: ClipEncoder, model: CLIP, frames: np.ndarray) -> None:
    """The loaded encoder computes what the in-memory model computes (so weights were loaded)."""
    features = encoder.encode_frames(frames)
    with torch.no_grad():
        expected = model.encode_image(_normalised(frames)).numpy()
        ids = torch.tensor(encoder._tokenizer.tokenize("a red bird").ids).unsqueeze(0)
        expected_text = model.encode_text(ids)[0].numpy()
    np.testing.assert_allclose(features.projections, expected, rtol=0, atol=1e-5)
    text = encoder.encode_texts(["a red bird"])[0]
    np.testing.assert_allclose(text.projection, expected_text, rtol=0, atol=1e-5)
    assert features.tokens.shape == (3, 4, 17, 64)
    # the deepest tap, through ln_post and the projection, is the image embedding
    with torch.no_grad():
        cls_token = torch.from_numpy(features.tokens[:, 3, 0])
        from_tap = (model.visual.ln_post(cls_token) @ model.visual.proj).numpy()
    np.testing.assert_allclose(from_tap, expected, rtol=0, atol=1e-5)


def test_custom_config_with_weights(tmp_path, tiny_model, frames):
    config = tmp_path / "TinyViT-16.json"
    config.write_text(json.dumps(TINY_CONFIG))
    weights = tmp_path / "tiny.pt"
    torch.save(tiny_model.state_dict(), weights)
    spec = ClipModelSpec(config=config, weights=weights)
    encoder = ClipEncoder.load(spec, device="cpu")
    assert encoder.model_id.startswith("TinyViT-16:file:")
    assert (encoder.image_size, encoder.embed_dim, encoder.visual_tokens) == (64, 32, 17)
    _assert_same_model(encoder, tiny_model, frames)


def test_open_clip_config_file_brings_its_own_normalisation(tmp_path, tiny_model, frames):
    config = tmp_path / "open_clip_config.json"
    preprocess = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    config.write_text(json.dumps({"model_cfg": TINY_CONFIG, "preprocess_cfg": preprocess}))
    weights = tmp_path / "tiny.safetensors"
    save_file(tiny_model.state_dict(), weights)
    encoder = ClipEncoder.load(ClipModelSpec(config=config, weights=weights), device="cpu")
    with torch.no_grad():
        pixels = (torch.from_numpy(frames).float() / 255 - 0.5) / 0.25
        expected = tiny_model.encode_image(pixels).numpy()
    projections = encoder.encode_frames(frames).projections
    np.testing.assert_allclose(projections, expected, rtol=0, atol=1e-5)


def test_training_checkpoint_loads_back_with_shapes_inferred(tmp_path, tiny_model, frames):
    weights = tmp_path / "epoch_1.pt"
    state_dict = {f"module.{key}": value for key, value in tiny_model.state_dict().items()}
    torch.save({"epoch": 1, "state_dict": state_dict}, weights)
    encoder = ClipEncoder.load(ClipModelSpec(weights=weights), device="cpu")
    _assert_same_model(encoder, tiny_model, frames)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")
def test_torchscript_archive_loads(tmp_path, tiny_model, frames):
    """OpenAI released its checkpoints as TorchScript archives; their state dict is the layout."""
    weights = tmp_path / "scripted.pt"
    ids = torch.zeros((1, 77), dtype=torch.long)
    torch.jit.save(torch.jit.trace(tiny_model, (_normalised(frames[:1]), ids)), weights)
    encoder = ClipEncoder.load(ClipModelSpec(weights=weights), device="cpu")
    _assert_same_model(encoder, tiny_model, frames)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")
def test_archive_of_an_image_tower_alone_is_refused(tmp_path, tiny_model, frames):
    weights = tmp_path / "visual.pt"
    torch.jit.save(torch.jit.trace(tiny_model.visual, _normalised(frames[:1])), weights)
    with pytest.raises(ModelError, match="not an OpenAI-format CLIP"):
        ClipEncoder.load(ClipModelSpec(weights=weights), device="cpu")


def test_model_id_follows_file_content_not_name(tmp_path):
    copy_path = tmp_path / "renamed.pt"
    copy_path.write_bytes(TINY_WEIGHTS.read_bytes())
    assert ClipModelSpec(weights=copy_path).model_id == ClipModelSpec(weights=TINY_WEIGHTS).model_id
    assert ClipModelSpec().model_id == "ViT-B-32/openai"


def test_weights_that_do_not_fit_the_config(tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY_CONFIG))
    with pytest.raises(ModelError, match="does not fit architecture tiny"):
        ClipEncoder.load(ClipModelSpec(config=config, weights=TINY_WEIGHTS))


def test_config_without_weights_is_refused(tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY_CONFIG))
    with pytest.raises(ModelError, match="--clip-weights"):
        ClipEncoder.load(ClipModelSpec(config=config))


def test_missing_weights_file():
    with pytest.raises(ModelError, match="not found"):
        ClipEncoder.load(ClipModelSpec(weights=Path("/nonexistent/clip.pt")))


def test_unknown_architecture_name(tmp_path):
    with pytest.raises(ModelError, match="unknown open_clip architecture"):
        ClipEncoder.load(ClipModelSpec(name="ViT-Nope", pretrained=None, weights=TINY_WEIGHTS))


def test_offline_without_cached_weights_fails_fast_and_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.cache/clip either
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        ClipEncoder.load(ClipModelSpec(name="ViT-B-32", pretrained="openai"))
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "\n" not in message
    for way in ("--clip-weights FILE", "VSEARCH_CLIP_WEIGHTS", "--clip-config", "online"):
        assert way in message


def test_checkpoint_of_another_named_architecture_is_refused():
    spec = ClipModelSpec(name="ViT-B-32", pretrained=None, weights=TINY_WEIGHTS)
    with pytest.raises(ModelError, match="does not fit architecture ViT-B-32"):
        ClipEncoder.load(spec)


def test_no_weights_and_no_release_tag():
    with pytest.raises(ModelError, match="--clip-weights"):
        ClipEncoder.load(ClipModelSpec(pretrained=None))


def test_bf16_stays_close_to_fp32(tiny_encoder, reference_frames):
    frames = reference_frames["bikes"][:2]
    bf16 = ClipEncoder.load(ClipModelSpec(weights=TINY_WEIGHTS), device="cpu", precision="bf16")
    fp32 = tiny_encoder.encode_frames(frames)
    low = bf16.encode_frames(frames)
    assert low.tokens.dtype == np.float32 and low.embeddings.dtype == np.float32
    cosine = F.cosine_similarity(
        torch.from_numpy(low.embeddings), torch.from_numpy(fp32.embeddings)
    )
    assert cosine.min() > 0.98
