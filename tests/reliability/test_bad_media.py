"""A corpus of bad media, generated here, indexed in one run: every file ends up indexed or
failed with a reason, the run never exits 1, and the odd shapes that do index export sanely."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.indexer.conftest import TINY_CLIP, moving_square_frames
from tests.reliability.conftest import index, run_cli
from vsearch.errors import PartialFailure
from vsearch.media import probe, write_audio, write_video
from vsearch.media.cutting import write_png


def flat_frames(width: int, height: int, count: int = 40) -> list[np.ndarray]:
    return [np.full((height, width, 3), (i * 5) % 256, np.uint8) for i in range(count)]


def build_corpus(folder: Path) -> dict[str, Path]:
    """Name -> path of every case; each name is a file a user could really have."""
    folder.mkdir(parents=True)
    files: dict[str, Path] = {}

    def video(name: str, frames, **kwargs) -> Path:
        files[name] = folder / name
        write_video(files[name], frames, fps=10, **kwargs)
        return files[name]

    good = video("good.mp4", moving_square_frames(6, 10, 1))
    video("rotated.mp4", moving_square_frames(4, 10, 2), rotation=90)
    video("tiny.mkv", flat_frames(1, 1), pix_fmt="yuv444p")
    video("wide.mp4", flat_frames(4000, 10))
    video("new\nline.mp4", moving_square_frames(4, 10, 3))
    video("-dash.mp4", moving_square_frames(4, 10, 4))
    files["truncated.mp4"] = folder / "truncated.mp4"
    files["truncated.mp4"].write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    files["half-copied.mp4"] = folder / "half-copied.mp4"
    files["half-copied.mp4"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    files["empty.mov"] = folder / "empty.mov"
    files["empty.mov"].write_bytes(b"")
    files["notes.mkv"] = folder / "notes.mkv"
    files["notes.mkv"].write_text("this is not a video\n")
    files["voice.mp4"] = folder / "voice.mp4"
    write_audio(files["voice.mp4"], 3.0)
    files["photo.mp4"] = folder / "photo.mp4"
    write_png(files["photo.mp4"], flat_frames(32, 24, 1)[0])
    (folder / "loop-a.mp4").symlink_to(folder / "loop-b.mp4")
    (folder / "loop-b.mp4").symlink_to(folder / "loop-a.mp4")
    (folder / "dangling.mp4").symlink_to(folder / "gone" / "nowhere.mp4")
    return files


@pytest.fixture()
def corpus(tmp_path: Path) -> dict[str, Path]:
    if not TINY_CLIP.exists():
        pytest.skip("tiny CLIP weights missing from tests/data/clip")
    return build_corpus(tmp_path / "media")


def test_one_run_over_the_bad_media_corpus_indexes_or_fails_each_file_with_a_reason(
    corpus, tmp_path
):
    library = tmp_path / "library"
    result = index(library, corpus["good.mp4"].parent)
    assert result.exit_code == PartialFailure.exit_code, result.output
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    failed = {Path(item["path"]).name: item["error"] for item in report["failed"]}
    assert all(reason.strip() for reason in failed.values())
    listing = json.loads(run_cli("ls", "--library", library, "--status", "indexed",
                                 "--json").stdout)  # fmt: skip
    indexed = {Path(v["path"]).name for v in listing}
    should_index = {"good.mp4", "rotated.mp4", "tiny.mkv", "wide.mp4", "new\nline.mp4",
                    "-dash.mp4"}  # fmt: skip
    assert indexed == should_index
    assert report["indexed"] == len(should_index)
    assert set(failed) == (set(corpus) - should_index) | {"loop-a.mp4", "loop-b.mp4",
                                                         "nowhere.mp4"}  # fmt: skip
    assert "symbolic link" in failed["loop-a.mp4"]

    # the half-copied download finishes: the next run indexes it normally
    corpus["half-copied.mp4"].write_bytes(corpus["good.mp4"].read_bytes())
    again = index(library, corpus["good.mp4"].parent)
    assert again.exit_code == PartialFailure.exit_code, again.output
    assert json.loads(again.stdout)["indexed"] == 1
    retried = run_cli("index", corpus["good.mp4"].parent, "--library", library,
                      "--retry-failed", "--json")  # fmt: skip
    assert retried.exit_code == PartialFailure.exit_code and "Traceback" not in retried.output


@pytest.mark.parametrize("name", ["tiny.mkv", "wide.mp4"])
def test_tiny_and_extreme_aspect_videos_export_at_a_sane_even_size(corpus, tmp_path, name):
    library = tmp_path / "library"
    source = corpus[name]
    assert index(library, source).exit_code == 0
    out = tmp_path / "highlights.mp4"
    result = run_cli("highlights", source, "-o", out, "--library", library, "--json")
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert info.width >= 2 and info.height >= 2
    assert info.width % 2 == 0 and info.height % 2 == 0


def test_an_absurd_thumbnail_width_is_a_usage_error(corpus, tmp_path):
    library = tmp_path / "library"
    assert index(library, corpus["good.mp4"]).exit_code == 0
    searched = run_cli("search", "a square", "--grounding", "zero-shot", "--library", library,
                       "--json")  # fmt: skip
    result_id = json.loads(searched.stdout)["id"]
    result = run_cli("thumbs", result_id, "-o", tmp_path / "sheet.png", "--library", library,
                     "--thumb-width", "100000")  # fmt: skip
    assert result.exit_code == 2 and "thumb-width" in result.output
    assert not (tmp_path / "sheet.png").exists()


@pytest.mark.parametrize("kind", ["file", "proc"])
def test_a_library_path_that_cannot_be_a_directory_is_a_library_error(tmp_path, kind):
    if kind == "file":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        library = blocker / "library"
    else:
        library = Path(f"/proc/{os.getpid()}/vsearch-library")
    for command in (["status"], ["index", str(tmp_path), "--clip-weights", str(TINY_CLIP)]):
        result = run_cli(*command, "--library", library)
        assert result.exit_code == 6, result.output
        assert "Traceback" not in result.output and "library" in result.stderr
