"""Post-processing on hand-made moments with answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vsearch.grounding import R2Config, postprocess
from vsearch.grounding.decoding import nms, postprocess_for, temporal_iou


def test_temporal_iou():
    iou = temporal_iou(np.array([0.0, 10.0]), np.array([[0, 10], [5, 15], [10, 20], [2, 4]]))
    np.testing.assert_allclose(iou, [1.0, 5 / 15, 0.0, 0.2])


MOMENTS = np.array([
    [0.0, 10.0, 0.9],
    [1.0, 10.0, 0.8],   # IoU 0.9 with the first
    [20.0, 30.0, 0.7],  # disjoint
    [5.0, 15.0, 0.6],   # IoU 1/3 with the first
])


def test_hard_nms_zeroes_overlaps_above_threshold():
    out = nms(MOMENTS, "normal", threshold=0.7)
    np.testing.assert_allclose(out, [[0, 10, 0.9], [20, 30, 0.7], [5, 15, 0.6], [1, 10, 0.0]])


def test_hard_nms_threshold_is_inclusive():
    moments = np.array([[0.0, 10.0, 0.9], [0.0, 7.0, 0.5]])  # IoU exactly 0.7
    out = nms(moments, "normal", threshold=0.7)
    assert out[1, 2] == 0.0


def test_linear_soft_nms():
    out = nms(MOMENTS, "linear")
    # after [0,10]: [1,10] -> 0.8*0.1=0.08, [20,30] stays 0.7, [5,15] -> 0.6*(2/3)=0.4
    # after [20,30] (disjoint from all), after [5,15]: [1,10] has IoU 5/14 -> 0.08*(9/14)
    expected = [[0, 10, 0.9], [20, 30, 0.7], [5, 15, 0.4], [1, 10, 0.08 * 9 / 14]]
    np.testing.assert_allclose(out, expected)


def test_gaussian_soft_nms():
    out = nms(MOMENTS[[0, 3]], "gaussian", sigma=0.5)
    np.testing.assert_allclose(out[1, 2], 0.6 * math.exp(-(1 / 3) ** 2 / 0.5))


def test_clamp_and_round_only_before_video_end():
    moments = np.array([
        [-3.2, 7.1, 0.9],   # start clamps to 0, end rounds to 8 (unit 2)
        [60.9, 80.0, 0.8],  # end beyond duration: clamped to 74, not rounded
        [33.0, 40.9, 0.7],  # rounds to [32, 40] (half to even for 33/2 = 16.5)
    ])
    out = postprocess(moments, 74.0, unit_s=2.0, nms_kind=None)
    np.testing.assert_allclose(out, [[0, 8, 0.9], [60.9, 74, 0.8], [32, 40, 0.7]])


def test_postprocess_orders_and_truncates():
    out = postprocess(MOMENTS, 100.0, unit_s=None, nms_kind="normal", nms_threshold=0.7,
                      top_k=2)
    np.testing.assert_allclose(out, [[0, 10, 0.9], [20, 30, 0.7]])


def test_postprocess_without_nms_keeps_order_and_rows():
    out = postprocess(MOMENTS, 100.0, unit_s=None, nms_kind=None)
    np.testing.assert_allclose(out, MOMENTS)


def test_empty_input():
    assert postprocess(np.zeros((0, 3)), 10.0, unit_s=2.0, nms_kind="normal").shape == (0, 3)


@pytest.mark.parametrize(("name", "unit", "kind"), [
    ("qvhighlights", 2.0, "normal"), ("charades", 0.1, "linear"), ("tacos", None, "linear"),
    ("ego4d", None, "linear"), ("tvsum", None, None), ("youtube", None, None),
])
def test_dataset_defaults(name, unit, kind):
    config = R2Config.preset(name)
    assert config.unit_s == unit
    assert config.nms == kind
    out = postprocess_for(np.array([[0.04, 3.06, 0.5]]), 10.0, config)
    expected_end = 3.06 if unit is None else round(3.06 / unit) * unit
    assert out[0, 1] == pytest.approx(expected_end)


def test_config_json_round_trip(tmp_path):
    config = R2Config.preset("charades")
    path = tmp_path / "c.json"
    import json

    path.write_text(json.dumps(config.to_dict()))
    assert R2Config.from_json(path) == config
    path.write_text(json.dumps({"base": "tvsum", "max_num_moment": 10}))
    loaded = R2Config.resolve(str(path))
    assert loaded.strides == (1,) and loaded.max_num_moment == 10 and not loaded.use_tef


def test_bad_config_names_and_keys(tmp_path):
    from vsearch.errors import InputError

    with pytest.raises(InputError, match="unknown grounding config"):
        R2Config.preset("nope")
    with pytest.raises(InputError, match="unknown grounding config keys"):
        R2Config.from_dict({"widht": 3})
    with pytest.raises(InputError, match="power of two"):
        R2Config(strides=(1, 3))
