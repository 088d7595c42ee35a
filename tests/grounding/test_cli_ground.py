"""`vsearch ground` through click's CliRunner: JSON parity and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.grounding.conftest import checkpoint_path, load_outputs
from vsearch.cli import main


@pytest.fixture
def s0_files(tmp_path, case_inputs):
    inputs = case_inputs["caseA"]
    video, query = tmp_path / "v.npy", tmp_path / "q.npy"
    np.save(video, inputs["s0_video"])
    np.save(query, inputs["s0_query"])
    return video, query


def invoke(*args):
    return CliRunner().invoke(main, ["ground", *map(str, args)])


def test_raw_json_reproduces_reference(s0_files):
    video, query = s0_files
    result = invoke("--video-features", video, "--query-features", query,
                    "--checkpoint", checkpoint_path("caseA"), "--raw", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    reference = load_outputs("caseA", "s0")
    np.testing.assert_allclose(np.array(payload["boundaries"]), reference["boundary_top"],
                               atol=1e-3, rtol=0)
    np.testing.assert_allclose(payload["saliency"], reference["saliency"], atol=1e-4, rtol=1e-4)


def test_postprocessed_table(s0_files):
    video, query = s0_files
    result = invoke("--video-features", video, "--query-features", query,
                    "--checkpoint", checkpoint_path("caseA"), "--config", "qvhighlights")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["rank", "start_s", "end_s", "score"]
    assert lines[1].split()[:3] == ["1", "0.00", "8.00"]
    assert lines[-1].startswith("saliency: 37 clips")


def test_postprocessed_json_is_clamped_and_rounded(s0_files):
    video, query = s0_files
    result = invoke("--video-features", video, "--query-features", query,
                    "--checkpoint", checkpoint_path("caseA"), "--json")
    assert result.exit_code == 0, result.output
    boundaries = np.array(json.loads(result.output)["boundaries"])
    assert boundaries[:, :2].min() >= 0 and boundaries[:, :2].max() <= 74.0
    assert np.all(np.diff(boundaries[:, 2]) <= 0)


def test_bad_arrays_exit_4(tmp_path, s0_files):
    video, query = s0_files
    ckpt = checkpoint_path("caseA")
    not_npy = tmp_path / "v.txt"
    not_npy.write_text("not an array")
    wrong_width = tmp_path / "w.npy"
    np.save(wrong_width, np.zeros((3, 4, 50, 512), np.float32))
    wrong_rank = tmp_path / "r.npy"
    np.save(wrong_rank, np.zeros((3, 50, 768), np.float32))
    empty = tmp_path / "e.npy"
    np.save(empty, np.zeros((0, 4, 50, 768), np.float32))
    for bad, needle in [(not_npy, "not a .npy"), (wrong_width, "must be (T,4,50,768)"),
                        (wrong_rank, "4 dimensions"), (empty, "empty")]:
        result = invoke("--video-features", bad, "--query-features", query, "--checkpoint", ckpt)
        assert result.exit_code == 4, (bad, result.output)
        assert needle in result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    result = invoke("--video-features", video, "--query-features", wrong_rank,
                    "--checkpoint", ckpt)
    assert result.exit_code == 4


def test_bad_checkpoint_exit_8_and_bad_config_exit_4(tmp_path, s0_files):
    video, query = s0_files
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00\x01junk")
    result = invoke("--video-features", video, "--query-features", query, "--checkpoint", junk)
    assert result.exit_code == 8, result.output
    result = invoke("--video-features", video, "--query-features", query,
                    "--checkpoint", checkpoint_path("caseA"), "--config", "tvsum")
    assert result.exit_code == 8, result.output
    result = invoke("--video-features", video, "--query-features", query,
                    "--checkpoint", checkpoint_path("caseA"), "--config", "nosuchset")
    assert result.exit_code == 4, result.output


def test_missing_option_is_usage_error(s0_files):
    video, _ = s0_files
    assert invoke("--video-features", video).exit_code == 2
