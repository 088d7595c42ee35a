"""Loading official checkpoints (key mapping, strictness, config inference) and saving them."""

from __future__ import annotations

import math

import pytest
import torch

from tests.grounding.conftest import checkpoint_path
from vsearch.errors import ModelError
from vsearch.grounding import R2Config, R2Model, load_checkpoint, save_checkpoint
from vsearch.grounding.checkpoint import official_to_ours, ours_to_official, read_state_dict


def official_state(case: str) -> dict[str, torch.Tensor]:
    return torch.load(checkpoint_path(case), weights_only=True)["state_dict"]


@pytest.mark.parametrize("case", ["caseA", "caseC"])
def test_every_official_tensor_lands_in_the_model(case):
    official = official_state(case)
    model, _ = load_checkpoint(checkpoint_path(case))
    ours = model.state_dict()
    network_keys = [k for k in official if not k.startswith("loss.")]
    assert len(network_keys) == len(ours)
    for key in network_keys:
        assert torch.equal(ours[official_to_ours(key)], official[key]), key
        assert ours_to_official(official_to_ours(key)) == key


def test_key_mapping_examples():
    assert official_to_ours("pyramid.blocks.3.11.weight") == "pyramid.3.2.conv.weight"
    assert official_to_ours("pyramid.blocks.2.8.bias") == "pyramid.2.1.norm.bias"
    assert official_to_ours("class_head.module.1.weight") == "class_head.hidden.weight"
    assert official_to_ours("coord_head.module.3.bias") == "coord_head.out.bias"
    same = "adapter.tem.ffn.mapping.2.weight"
    assert official_to_ours(same) == same
    assert ours_to_official("pyramid.1.0.norm.weight") == "pyramid.blocks.1.3.weight"


def test_config_inferred_from_shapes():
    _, qvh = load_checkpoint(checkpoint_path("caseA"))
    assert qvh.strides == (1, 2, 4, 8) and qvh.use_tef and qvh.use_coord_head
    assert qvh.merge_cls_sal and qvh.dims == 256 and qvh.video_width == 768
    _, tvsum = load_checkpoint(checkpoint_path("caseC"))
    assert tvsum.strides == (1,) and not tvsum.use_tef and not tvsum.use_coord_head
    assert not tvsum.merge_cls_sal


def test_module_prefix_and_bare_dict(tmp_path):
    official = official_state("caseA")
    bare = tmp_path / "bare.pth"
    torch.save({f"module.{k}": v for k, v in official.items()}, bare)
    model, config = load_checkpoint(bare, R2Config.preset("qvhighlights"))
    assert torch.equal(model.adapter.gate, official["adapter.gate"])
    assert config.name == "qvhighlights"


def test_save_writes_official_format_and_round_trips(tmp_path):
    model, config = load_checkpoint(checkpoint_path("caseA"))
    path = save_checkpoint(model, tmp_path / "out" / "ckpt.pth", {"epoch": 3})
    blob = torch.load(path, weights_only=True)
    assert set(blob) == {"state_dict", "meta"}
    assert blob["meta"]["epoch"] == 3
    official = official_state("caseA")
    assert set(blob["state_dict"]) == set(official)
    for key, value in official.items():
        assert torch.allclose(blob["state_dict"][key], value), key
    assert blob["state_dict"]["loss._loss_sal.scale"].item() == pytest.approx(math.log(1 / 0.07))
    reloaded, reloaded_config = load_checkpoint(path)
    assert reloaded_config == config
    for key, value in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[key], value)


def test_tiny_model_round_trip_keeps_config(tmp_path):
    config = R2Config(video_width=8, query_width=6, video_tokens=3, dims=16, heads=2,
                      strides=(1, 2), name="tiny")
    model = R2Model(config)
    reloaded, reloaded_config = load_checkpoint(save_checkpoint(model, tmp_path / "t.pth"))
    assert reloaded_config == config
    assert all(torch.equal(a, b) for a, b in
               zip(model.state_dict().values(), reloaded.state_dict().values(), strict=True))


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(ModelError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(text)
    with pytest.raises(ModelError, match="not found"):
        load_checkpoint(tmp_path / "missing.pth")
    other = tmp_path / "other.pth"
    torch.save({"state_dict": {"weight": torch.zeros(2)}}, other)
    with pytest.raises(ModelError, match="lacks R2-Tuning parameter"):
        load_checkpoint(other)
    with pytest.raises(ModelError, match="state dict of tensors"):
        torch.save([1, 2], other)
        load_checkpoint(other)


def test_checkpoint_that_does_not_fit_the_config():
    with pytest.raises(ModelError, match="does not fit config 'tvsum'"):
        load_checkpoint(checkpoint_path("caseA"), R2Config.preset("tvsum"))
    wider = R2Config(dims=128, heads=8)
    with pytest.raises(ModelError, match="does not fit"):
        load_checkpoint(checkpoint_path("caseA"), wider)


def test_loss_buffers_are_ignored():
    state, _ = read_state_dict(checkpoint_path("caseA"))
    assert not any(key.startswith("loss.") for key in state)
