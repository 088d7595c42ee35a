"""`vsearch index` / `status` / `ls` end to end on real encoded files and a real tiny CLIP."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vsearch.cli import main
from vsearch.errors import LibraryError, ModelError, PartialFailure
from vsearch.media import clip_count, probe
from vsearch.storage.lock import WriterLock


def run(*args: str) -> tuple[int, dict | list | None, str]:
    result = CliRunner().invoke(main, list(args))
    payload = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None
    return result.exit_code, payload, result.output


def expected_clips(paths: list[Path], fps: float = 0.5) -> int:
    return sum(clip_count(probe(p).duration_s, fps) for p in paths)


def status(library: Path) -> dict:
    code, payload, output = run("status", "--library", str(library), "--json")
    assert code == 0, output
    return payload


@pytest.mark.slow
def test_mixed_folder_lists_each_broken_file_and_exits_partial(
    tmp_path: Path, make_video, broken_files, tiny_clip_args
) -> None:
    good = [
        make_video("videos/a.mp4", seconds=9, seed=1),
        make_video("videos/b.webm", seconds=5, seed=2, codec="libvpx-vp9"),
        make_video("videos/sub/c.mkv", seconds=7, seed=3, codec="mpeg4"),
    ]
    library = tmp_path / "lib"
    code, report, output = run(
        "index", str(tmp_path / "videos"), "--library", str(library), *tiny_clip_args, "--json"
    )
    assert code == PartialFailure.exit_code, output
    assert report["indexed"] == 3
    failed = {Path(item["path"]).name: item["error"] for item in report["failed"]}
    assert set(failed) == {p.name for p in broken_files.values()}
    assert all(reason.strip() for reason in failed.values())
    assert "audio" in failed["voice.mp4"].lower() or "no video" in failed["voice.mp4"].lower()

    state = status(library)
    assert state["videos"] == 3 and state["failed"] == 4
    assert state["clips"] == expected_clips(good) == report["clips_added"]
    assert state["vectors"] == state["clips"]
    assert state["indexing"] is False

    code, listing, _ = run("ls", "--library", str(library), "--status", "failed", "--json")
    assert code == 0 and {Path(v["path"]).name for v in listing} == set(failed)


@pytest.mark.slow
def test_rerun_skips_then_picks_up_changed_and_deleted_files(
    tmp_path: Path, make_video, tiny_clip_args
) -> None:
    a = make_video("videos/a.mp4", seconds=6, seed=1)
    b = make_video("videos/b.mp4", seconds=6, seed=2)
    library = str(tmp_path / "lib")
    folder = str(tmp_path / "videos")
    assert run("index", folder, "--library", library, *tiny_clip_args, "--json")[0] == 0

    code, again, _ = run("index", folder, "--library", library, "--json")  # model remembered
    assert code == 0 and again["indexed"] == 0 and again["skipped"] == 2

    make_video("videos/a.mp4", seconds=10, seed=5)  # changed content and length
    b.unlink()
    code, changed, output = run("index", folder, "--library", library, "--json")
    assert code == 0, output
    assert (changed["indexed"], changed["removed"]) == (1, 1)
    state = status(Path(library))
    assert state["clips"] == expected_clips([a]) == state["vectors"]
    assert state["removed"] == 1


def test_unicode_paths(tmp_path: Path, make_video, tiny_clip_args) -> None:
    video = make_video("vidéos/東京 タワー 🐦.mp4", seconds=4, seed=4)
    library = tmp_path / "bibliothèque"
    code, report, output = run(
        "index", str(video.parent), "--library", str(library), *tiny_clip_args, "--json"
    )
    assert code == 0, output
    assert report["indexed"] == 1
    code, listing, _ = run("ls", "--library", str(library), "--json")
    assert listing[0]["path"] == str(video)


def test_index_refuses_while_another_indexer_holds_the_library(
    tmp_path: Path, make_video, tiny_clip_args
) -> None:
    make_video("videos/a.mp4", seconds=4)
    library = tmp_path / "lib"
    folder = str(tmp_path / "videos")
    assert run("index", folder, "--library", str(library), *tiny_clip_args)[0] == 0
    with WriterLock(library / "index.lock"):
        code, _, output = run("index", str(tmp_path / "videos"), "--library", str(library))
        assert code == 7, output
        assert "another `vsearch index`" in output
        assert status(library)["indexing"] is True
    assert status(library)["indexing"] is False


def test_missing_weights_offline_is_a_model_error_and_writes_nothing(
    tmp_path: Path, make_video
) -> None:
    make_video("videos/a.mp4", seconds=4)
    library = tmp_path / "lib"
    code, _, output = run("index", str(tmp_path / "videos"), "--library", str(library))
    assert code == ModelError.exit_code
    assert "--clip-weights" in output and "Traceback" not in output
    assert not library.exists()


def test_another_model_on_the_same_library_is_refused(
    tmp_path: Path, make_video, tiny_clip_args
) -> None:
    make_video("videos/a.mp4", seconds=4)
    library = str(tmp_path / "lib")
    assert run("index", str(tmp_path / "videos"), "--library", library, *tiny_clip_args)[0] == 0
    code, _, output = run(
        "index", str(tmp_path / "videos"), "--library", library, "--clip-model", "RN50"
    )
    assert code == LibraryError.exit_code, output
    assert "indexed with CLIP model" in output
    code, _, output = run("index", str(tmp_path / "videos"), "--library", library, "--fps", "1")
    assert code == LibraryError.exit_code and "clips/s" in output


def test_no_features_stores_embeddings_only(tmp_path: Path, make_video, tiny_clip_args) -> None:
    make_video("videos/a.mp4", seconds=4)
    library = tmp_path / "lib"
    code, _, output = run(
        "index", str(tmp_path / "videos"), "--library", str(library), *tiny_clip_args,
        "--no-features",
    )  # fmt: skip
    assert code == 0, output
    state = status(library)
    assert state["feature_bytes"] == 0 and state["vectors"] == state["clips"] == 2


def test_stored_features_equal_the_reference_extractor(tmp_path: Path, tiny_clip_args) -> None:
    """Indexing a real video stores exactly the reference R2-Tuning features (fp16)."""
    data = Path(__file__).resolve().parents[1] / "data"
    bikes = data / "media" / "bikes.mp4"
    folder = tmp_path / "videos"
    folder.mkdir()
    os.symlink(bikes, folder / "bikes.mp4")
    library = tmp_path / "lib"
    code, _, output = run(
        "index", str(folder), "--library", str(library), *tiny_clip_args, "--decode", "sequential",
        "--feature-codec", "fp16",
    )  # fmt: skip
    assert code == 0, output
    stored = list((library / "features").rglob("*.npy"))
    assert len(stored) == 1
    reference = np.load(data / "clip" / "features.npz")["bikes__video_feat_fp16"]
    np.testing.assert_allclose(
        np.load(stored[0]).astype(np.float32), reference.astype(np.float32), atol=4e-3
    )


def test_world_clip_on_real_footage_warns(tmp_path: Path, make_video, caplog) -> None:
    make_video("videos/a.mp4", seconds=4)
    code, _, output = run(
        "index", str(tmp_path / "videos"), "--library", str(tmp_path / "lib"),
        "--clip-model", "vsearch-synth",
    )  # fmt: skip
    assert code == 0, output
    assert any("not a generated world" in r.getMessage() for r in caplog.records)
