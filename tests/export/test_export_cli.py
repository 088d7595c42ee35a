"""`vsearch export`, `highlights` and `thumbs` end to end: generated videos indexed with the tiny
CLIP, searched (zero-shot), exported, and the outputs decoded or parsed back."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.indexer.conftest import TINY_CLIP, moving_square_frames
from vsearch.api import Library
from vsearch.cli import main
from vsearch.cli.export import parse_seconds
from vsearch.errors import InputError
from vsearch.export import read_chapters, read_edl
from vsearch.export.contact_sheet import LABEL_BAND_PX
from vsearch.export.from_results import ExportOptions, output_format
from vsearch.media import probe, write_video
from vsearch.settings import load_settings
from vsearch.storage.results import ResultStore

SOURCE_FPS = 10
CLIP_S = 2.0  # the library's default 0.5 clips per second
VIDEOS = {"trips/beach.mp4": (8, 1), "trips/hills.mp4": (6, 2), "home/kitchen.mp4": (6, 3)}


def run(*args: object, root: Path) -> Result:
    env = {"VSEARCH_CONFIG": str(root / "no-config.toml"), "HF_HUB_OFFLINE": "1"}
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def payload_of(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A library of three indexed videos and one stored zero-shot search over it."""
    if not TINY_CLIP.exists():
        pytest.skip("tiny CLIP weights missing from tests/data/clip")
    root = tmp_path_factory.mktemp("export-cli")
    for relative, (seconds, seed) in VIDEOS.items():
        path = root / "videos" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, moving_square_frames(seconds, SOURCE_FPS, seed), fps=SOURCE_FPS)
    library = root / "library"
    indexed = run("index", root / "videos", "--library", library, "--clip-weights", TINY_CLIP,
                  root=root)  # fmt: skip
    assert indexed.exit_code == 0, indexed.output
    searched = payload_of(run("search", "a coloured square", "--grounding", "zero-shot",
                              "--library", library, "--json", root=root))  # fmt: skip
    assert searched["results"], "the stored search needs moments to export"
    return {"root": root, "library": library, "id": searched["id"], "search": searched}


@pytest.fixture()
def vs(world: dict, tmp_path: Path):
    """Run a command against the world's library: vs("export", id, "-o", out)."""

    def invoke(*args: object) -> Result:
        return run(*args, "--library", world["library"], root=world["root"])

    return invoke


def test_reel_duration_is_the_sum_of_its_segments(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "reel.mp4"
    report = payload_of(vs("export", world["id"], "-o", out, "--padding", "0.5,0:01", "--json"))
    segments = report["segments"]
    assert report["output"] == str(out) and segments and out.is_file()
    durations = {str(world["root"] / "videos" / k): v[0] for k, v in VIDEOS.items()}
    for item in segments:
        assert 0 <= item["start"] < item["end"] <= durations[item["video"]] + 1e-6
    expected_s = sum(s["out_end"] - s["out_start"] for s in segments)
    assert segments[-1]["out_end"] == pytest.approx(expected_s, abs=1e-6)
    assert probe(out).duration_s == pytest.approx(expected_s, abs=len(segments) / SOURCE_FPS)


def test_padding_and_merging_reach_the_segments(world, vs, tmp_path: Path) -> None:
    plain = payload_of(vs("export", world["id"], "-o", tmp_path / "a.json", "--json"))
    padded = payload_of(vs("export", world["id"], "-o", tmp_path / "b.json", "--json",
                           "--padding", "1", "--merge-gap", "30"))  # fmt: skip
    # a 30 s gap merges every video's moments into one segment per video
    assert len(padded["segments"]) == len({s["video"] for s in plain["segments"]})
    plain_s = sum(s["end"] - s["start"] for s in plain["segments"])
    assert sum(s["end"] - s["start"] for s in padded["segments"]) >= plain_s


def test_existing_output_needs_force(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "reel.mp4"
    out.write_bytes(b"an earlier reel")
    refused = vs("export", world["id"], "-o", out)
    assert refused.exit_code == 9 and "exists" in refused.stderr
    assert out.read_bytes() == b"an earlier reel"
    forced = vs("export", world["id"], "-o", out, "--force", "--top", "1")
    assert forced.exit_code == 0, forced.output
    assert probe(out).duration_s > 0


def test_edl_parses_back_to_the_json_ranges(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "cuts.edl"
    report = payload_of(vs("export", world["id"], "-o", out, "--json", "--padding", "0.25"))
    assert report["format"] == "edl"
    parsed = read_edl(out, fps=SOURCE_FPS)
    assert len(parsed) == len(report["segments"])
    for segment, item in zip(parsed, report["segments"], strict=True):
        assert segment.video == item["video"]
        for got, want in [(segment.start_s, item["start"]), (segment.end_s, item["end"]),
                          (segment.out_start_s, item["out_start"])]:  # fmt: skip
            assert got == pytest.approx(want, abs=0.5 / SOURCE_FPS + 1e-9)


def test_chapters_parse_back_to_the_json_ranges(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "chapters.txt"
    report = payload_of(vs("export", world["id"], "-o", out, "--format", "chapters", "--json"))
    chapters = read_chapters(out)
    assert [(c.start_s, c.end_s) for c in chapters] == [
        pytest.approx((s["out_start"], s["out_end"]), abs=1e-3) for s in report["segments"]
    ]
    assert Path(report["segments"][0]["video"]).name in chapters[0].title


def test_query_runs_and_stores_a_search(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "q.csv"
    result = vs("export", "--query", "a small square", "--grounding", "zero-shot", "-o", out,
                "--json")  # fmt: skip
    report = payload_of(result)
    assert report["result_id"] in result.stderr and out.is_file()
    shown = payload_of(vs("show", report["result_id"], "--json"))
    assert shown["query"] == "a small square"
    assert out.read_text().splitlines()[0].startswith("video,start_s,end_s")


def test_zero_results_exit_4_and_write_nothing(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "none.mp4"
    too_long = vs("export", world["id"], "-o", out, "--min-length", "1:00")
    assert too_long.exit_code == 4 and "no results" in too_long.stderr
    with ResultStore.open(world["library"] / "catalog.sqlite") as store:
        store.save("emptyresult", "nothing at all", "zero-shot", [])
    empty = vs("export", "emptyresult", "-o", out)
    assert empty.exit_code == 4 and "no results" in empty.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.fixture()
def moved_source(world: dict) -> Iterator[Path]:
    """The first video of the stored search, moved away for the test and put back after."""
    source = Path(world["search"]["results"][0]["video"])
    away = source.with_name(source.name + ".moved")
    source.rename(away)
    yield source
    away.rename(source)


def test_missing_source_exit_5_unless_skipped(world, vs, moved_source, tmp_path: Path) -> None:
    out = tmp_path / "reel.mp4"
    failed = vs("export", world["id"], "-o", out)
    assert failed.exit_code == 5 and str(moved_source) in failed.stderr and not out.exists()
    if len({item["video"] for item in world["search"]["results"]}) == 1:
        pytest.skip("every moment comes from the moved video")
    report = payload_of(vs("export", world["id"], "-o", out, "--skip-missing", "--json"))
    assert report["skipped"] == [str(moved_source)]
    assert report["segments"] and all(s["video"] != str(moved_source) for s in report["segments"])
    assert probe(out).duration_s > 0
    # missing sources are dropped before planning: they do not use up --top
    first = payload_of(vs("export", world["id"], "-o", tmp_path / "one.json", "--top", "1",
                          "--skip-missing", "--json"))  # fmt: skip
    assert [s["video"] for s in first["segments"]] == [report["segments"][0]["video"]]


def test_library_export_takes_a_result_or_its_id(world, tmp_path: Path) -> None:
    options = ExportOptions(padding=(0.0, 0.5), order="time")
    with Library.open(world["library"], load_settings()) as library:
        by_id = library.export(world["id"], tmp_path / "a.json", options=options)
        result = library.result(world["id"])
        by_result = library.export(result, tmp_path / "b.json", options=options)
    assert by_id.segments == by_result.segments and by_id.result_id == world["id"]
    written = json.loads((tmp_path / "a.json").read_text())
    assert written["segments"] == by_id.to_json()["segments"]
    assert written["title"] == f"vsearch: {result.query}"


def test_unwritable_output_is_an_output_error(world, vs, tmp_path: Path) -> None:
    result = vs("export", world["id"], "-o", tmp_path / "missing-dir" / "reel.mp4")
    assert result.exit_code == 9, result.output


def test_thumbs_grid_size(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    report = payload_of(vs("thumbs", world["id"], "-o", out, "--columns", "2",
                           "--thumb-width", "48", "--json"))  # fmt: skip
    count = len(world["search"]["results"])
    # 96x64 sources scaled to 48 wide are 32 high, with a label band under each
    cell_h = 32 + LABEL_BAND_PX
    assert (report["width"], report["height"]) == (48 * min(2, count), cell_h * -(-count // 2))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", out.read_bytes()[16:24]) == (report["width"], report["height"])


def test_thumbs_writes_the_format_its_extension_names(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "sheet.jpg"
    assert vs("thumbs", world["id"], "-o", out).exit_code == 0
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG
    refused = vs("thumbs", world["id"], "-o", tmp_path / "sheet.bmp")
    assert refused.exit_code == 4 and ".png, .jpg or .jpeg" in refused.output
    assert not (tmp_path / "sheet.bmp").exists()
    assert vs("thumbs", world["id"], "-o", out).exit_code == 9


@pytest.mark.parametrize("query", [None, "a bright square"])
def test_highlights_fit_the_duration_and_name_the_prompt(world, vs, tmp_path, query) -> None:
    video = world["root"] / "videos" / "trips" / "beach.mp4"
    out = tmp_path / "best.mp4"
    asked = ["--query", query] if query else []
    result = vs("highlights", video, "--duration", "3", "-o", out, "--json", *asked)
    report = payload_of(result)
    if query is None:
        assert "no query: ranked clips by similarity to 'an interesting moment'" in result.stderr
    else:
        assert f"ranked clips by similarity to {query!r}" in result.stderr
    assert report["prompt"] == (query or "an interesting moment")
    assert report["segments"] and probe(out).duration_s <= 3 + CLIP_S


def test_highlights_of_a_video_outside_the_library(world, vs, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.mp4"
    write_video(stranger, moving_square_frames(2, SOURCE_FPS, 5), fps=SOURCE_FPS)
    result = vs("highlights", stranger, "-o", tmp_path / "out.mp4")
    assert result.exit_code == 6 and "not in the library" in result.stderr


def test_copy_mode_reports_the_snapped_ranges(world, vs, tmp_path: Path) -> None:
    out = tmp_path / "copied.mkv"
    report = payload_of(vs("export", world["id"], "-o", out, "--copy", "--json", "--order",
                           "time"))  # fmt: skip
    assert report["format"] == "mkv" and report["mode"] == "copy"
    written_s = report["segments"][-1]["out_end"]
    # each copied segment may run a frame or two past its end to stay decodable
    assert probe(out).duration_s == pytest.approx(
        written_s, abs=3 * len(report["segments"]) / SOURCE_FPS
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2", 2.0), ("2.5", 2.5), ("2.5s", 2.5), (".5", 0.5), ("1:02.5", 62.5), ("1:00:02", 3602.0)],
)
def test_parse_seconds(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "-1", "1:75", "1::2", "2m"])
def test_parse_seconds_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_seconds(text)


def test_bad_times_are_usage_errors(world, vs, tmp_path: Path) -> None:
    for option, value in [("--padding", "1,2,3"), ("--padding", "x"), ("--merge-gap", "1:99")]:
        result = vs("export", world["id"], "-o", tmp_path / "x.mp4", option, value)
        assert result.exit_code == 2 and option in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("name", "asked", "chosen"),
    [("a.MP4", None, "mp4"), ("a.mov", None, "mov"), ("a.vtt", None, "webvtt"),
     ("a.ffmeta", None, "ffmetadata"), ("a.txt", "chapters", "chapters"), ("a.otio", None, "otio"),
     ("a.mkv", "mkv", "mkv")],
)  # fmt: skip
def test_output_format(name: str, asked: str | None, chosen: str) -> None:
    assert output_format(Path(name), asked) == chosen


@pytest.mark.parametrize(("name", "asked"), [("a.txt", None), ("a.mov", "mp4"), ("a.mp4", "avi")])
def test_output_format_refuses(name: str, asked: str | None) -> None:
    with pytest.raises(InputError):
        output_format(Path(name), asked)
