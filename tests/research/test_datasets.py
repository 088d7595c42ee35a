"""Annotation readers of every supported benchmark format, and the cached-feature dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vsearch.errors import InputError
from vsearch.research.datasets import FeatureDataset, GroundingSample, read_annotations

QVH_VAL = Path(__file__).resolve().parents[1] / "data" / "qvh_eval" / "highlight_val_release.jsonl"


def test_qvhighlights_saliency_is_spread_over_every_clip() -> None:
    samples = read_annotations(QVH_VAL, "qvhighlights")
    assert len(samples) == 1550
    first = samples[0]
    assert (first.qid, first.vid, first.duration_s, first.num_clips) == (
        2579, "NUsG9BgSes0_210.0_360.0", 150.0, 75)
    assert first.windows_s == ((82.0, 150.0),)
    assert len(first.saliency) == 75 and len(first.clip_scores) == 75
    assert first.saliency[40] == 0.0
    assert first.saliency[41] == pytest.approx((1 + 1 + 2) / 12)  # clip 41 scored [1, 1, 2]
    assert first.clip_scores[41] == (1.0, 1.0, 2.0)


def test_qvhighlights_test_release_has_no_ground_truth(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps({"qid": 5, "query": "q", "duration": 150, "vid": "v"}) + "\n")
    (sample,) = read_annotations(path, "qvhighlights")
    assert sample.windows_s == () and sample.saliency == ()


def test_charades_text_form(tmp_path: Path) -> None:
    path = tmp_path / "charades_sta_test.txt"
    path.write_text("3MSZA 24.3 30.4##person turn a light on.\n\nAO8RW 0.0 6.9##a person "
                    "is putting a book on a shelf.\n")
    first, second = read_annotations(path, "charades")
    assert (first.qid, first.vid, first.query) == (0, "3MSZA", "person turn a light on.")
    assert first.windows_s == ((24.3, 30.4),) and first.duration_s is None
    assert first.clip_length_s == 1.0
    assert [i for i, v in enumerate(first.saliency) if v] == list(range(25, 31))
    assert second.qid == 1


def test_charades_jsonl_form(tmp_path: Path) -> None:
    path = tmp_path / "charades.jsonl"
    record = {"qid": 7, "vid": "AO8RW", "query": "a book", "duration": 10.5,
              "relevant_windows": [[0.0, 2.5]]}
    path.write_text(json.dumps(record) + "\n")
    (sample,) = read_annotations(path, "charades")
    assert sample.num_clips == 10 and sample.saliency[:4] == (1.0, 1.0, 1.0, 0.0)


def test_tvsum_object_keyed_by_video(tmp_path: Path) -> None:
    path = tmp_path / "tvsum.json"
    anno = [[1] * 20, [5] * 20, [3] * 20]
    path.write_text(json.dumps({"vidA": {"anno": anno, "title": "changing a tire",
                                         "domain": "VT"}}))
    (sample,) = read_annotations(path, "tvsum")
    assert (sample.qid, sample.vid, sample.query, sample.domain) == (
        "vidA", "vidA", "changing a tire", "VT")
    assert sample.saliency == (0.0, 1.0, 0.5)
    assert np.array(sample.clip_scores).shape == (3, 20)


def test_youtube_jsonl_with_query_in_info(tmp_path: Path) -> None:
    path = tmp_path / "youtube.jsonl"
    entry = {"vid": "x1", "match": [-1, 1, 0], "info": ["a", "b", "c", "d", "e", "dog show"],
             "domain": "dog"}
    path.write_text(json.dumps(entry) + "\n")
    (sample,) = read_annotations(path, "youtube")
    assert sample.query == "dog show" and sample.saliency == (0.0, 1.0, 0.5)


@pytest.mark.parametrize(
    ("dataset", "text", "message"),
    [
        ("qvhighlights", '{"qid": 1, "query": "q", "vid": "v"}', "missing key 'duration'"),
        ("qvhighlights", '{"qid": 1, "query": "q", "vid": "v", "duration": 10, '
         '"relevant_windows": [[5, 2]]}', "a relevant window ends before"),
        ("charades", "vid 1.0##no end", "expected 'vid start end##sentence'"),
        ("tvsum", '{"vid": "a", "anno": "none"}', "key 'anno' must be list"),
        ("youtube", '{"vid": "a", "match": [1]}', "missing key 'query'"),
    ],
)
def test_malformed_annotations_name_the_line(tmp_path: Path, dataset: str, text: str,
                                             message: str) -> None:
    path = tmp_path / ("x.txt" if dataset == "charades" else "x")
    path.write_text(text + "\n")
    with pytest.raises(InputError) as caught:
        read_annotations(path, dataset)  # type: ignore[arg-type]
    assert f"{path}:1: {message}" in str(caught.value)


def make_features(root: Path, vid: str, qid: int, clips: int) -> None:
    (root / "video").mkdir(parents=True, exist_ok=True)
    (root / "query").mkdir(parents=True, exist_ok=True)
    np.save(root / "video" / f"{vid}.npy", np.ones((clips, 4, 3, 8), np.float16))
    np.save(root / "query" / f"{qid}.npy", np.ones((5, 4, 6), np.float16))


def sample(duration_s: float | None = 20.0, saliency=(0.0, 1.0)) -> GroundingSample:
    return GroundingSample(qid=3, vid="v", query="q", duration_s=duration_s, clip_length_s=2.0,
                           windows_s=((2.0, 4.0),), saliency=saliency)


def test_feature_dataset_loads_fp16_as_float32_and_trims(tmp_path: Path) -> None:
    make_features(tmp_path, "v", 3, clips=12)  # the annotation implies 10 clips
    item = FeatureDataset([sample()], tmp_path)[0]
    assert item.video.shape == (10, 4, 3, 8) and item.video.dtype == np.float32
    assert item.query.shape == (5, 4, 6)
    assert item.saliency.tolist() == [0.0, 1.0] + [0.0] * 8


def test_feature_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected 'video/' and 'query/'"):
        FeatureDataset([sample()], tmp_path)
    make_features(tmp_path, "v", 3, clips=30)
    with pytest.raises(InputError, match="features hold 30 clips, annotation implies 10"):
        FeatureDataset([sample()], tmp_path)[0]
    missing = GroundingSample(qid=4, vid="v", query="q", duration_s=60.0, clip_length_s=2.0)
    with pytest.raises(InputError, match="4.npy: feature file not found"):
        FeatureDataset([missing], tmp_path)[0]
