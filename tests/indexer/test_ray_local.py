"""`vsearch index --ray local` on a Ray instance with 2 CPUs, against local indexing."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vsearch.errors import InputError, PartialFailure
from vsearch.indexer.cluster import INSTALL_HINT
from vsearch.storage.arrays import ArrayStore

from .test_index_cli import run, status

pytestmark = pytest.mark.ray

OBJECT_STORE_BYTES = 100 * 1024 * 1024  # the frames of a few small videos; Ray's floor is 75 MiB


@pytest.fixture(scope="module")
def local_ray():
    """One Ray instance for the module: `--ray local` uses an instance already running here."""
    import ray

    with pytest.MonkeyPatch.context() as env_patch:
        # Ray would otherwise switch this process (and its children) to token authentication
        env_patch.setenv("RAY_AUTH_MODE", "disabled")
        ray.init(
            address="local", num_cpus=2, object_store_memory=OBJECT_STORE_BYTES,
            include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
        )  # fmt: skip
        yield ray
        ray.shutdown()


def stored(library: Path, kind: str) -> dict[str, np.ndarray]:
    """Every array of one store ("embeddings" or "features") of a library, by key."""
    (directory,) = (library / kind).iterdir()
    store = ArrayStore(directory)
    return {key: np.array(store.get(key)) for key in store.keys()}


def test_ray_run_reports_and_stores_what_local_indexing_does(
    local_ray, tmp_path: Path, make_video, broken_files, tiny_clip_args
) -> None:
    make_video("videos/a.mp4", seconds=9, seed=1)
    make_video("videos/b.webm", seconds=5, seed=2, codec="libvpx-vp9")
    make_video("videos/sub/c.mkv", seconds=7, seed=3, codec="mpeg4")
    folder = str(tmp_path / "videos")
    reports = {}
    for name, extra in (("local", []), ("ray", ["--ray", "local"])):
        code, reports[name], output = run(
            "index", folder, "--library", str(tmp_path / name), *tiny_clip_args,
            "--batch-size", "4", "--feature-codec", "fp16", "--json", *extra,
        )  # fmt: skip
        assert code == PartialFailure.exit_code, output
    local, distributed = reports["local"], reports["ray"]

    def failures(report: dict) -> dict[str, str]:
        return {item["path"]: item["error"] for item in report["failed"]}

    assert distributed["indexed"] == local["indexed"] == 3
    assert failures(distributed) == failures(local)  # same files, same reason text
    assert len(failures(local)) == len(broken_files)
    assert distributed["clips_added"] == local["clips_added"]

    # fp16 features (the exact codec) so the stored arrays compare directly.
    # Same decode function, same weights, same fp32 CPU kernels, so the frames are identical.
    # What differs is the grouping of frames into CLIP batches (local batches cross video
    # boundaries, actor batches also carry each video's closing row) and torch's thread count
    # (an actor runs one thread): both change the fp32 summation order in the matmuls.
    # Measured: embeddings differ by at most 6e-8 (one float32 step), fp16 features come out
    # bit-equal. Held to 1e-6 and to one fp16 step (a 1e-7 difference can flip one rounding).
    for kind, tolerance in (("embeddings", 1e-6), ("features", 2**-10)):
        want, got = stored(tmp_path / "local", kind), stored(tmp_path / "ray", kind)
        assert sorted(got) == sorted(want) and len(want) == 3
        for key, array in want.items():
            assert got[key].dtype == array.dtype and got[key].shape == array.shape
            np.testing.assert_allclose(got[key], array, rtol=tolerance, atol=tolerance)

    state = status(tmp_path / "ray")
    assert state["vectors"] == state["clips"] == local["clips_added"]
    assert local["workers"] == []
    roles = {(w["role"], w["worker"]): w for w in distributed["workers"]}
    assert {role for role, _ in roles} == {"decode", "encode"}
    decoded = sum(w["videos"] for w in distributed["workers"] if w["role"] == "decode")
    encoded = sum(w["frames"] for w in distributed["workers"] if w["role"] == "encode")
    assert decoded == 3 + len(broken_files)
    assert encoded >= distributed["clips_added"]


def test_ray_without_ray_installed_says_how_to_install_it(tmp_path: Path, make_video) -> None:
    make_video("videos/a.mp4", seconds=2)
    script = "import sys; sys.modules['ray'] = None; from vsearch.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", script, "index", str(tmp_path / "videos"),
         "--library", str(tmp_path / "lib"), "--ray", "local"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == InputError.exit_code, result.stderr
    assert result.stderr.count("\n") == 1 and INSTALL_HINT in result.stderr
    assert not (tmp_path / "lib").exists()  # refused before the library was touched
