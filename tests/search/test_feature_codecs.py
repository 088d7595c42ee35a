"""Libraries of each feature codec searched end to end, `vsearch compact` on a real library,
and a library made before codecs existed (fp16, no codec record) read unchanged."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.search.conftest import parse_json
from vsearch.api import model_slug
from vsearch.storage import Catalog
from vsearch.storage.compaction import compact_features
from vsearch.storage.features import FEATURE_STORE_KEY

QUERY = "a red square"


def _moments(payload: dict) -> list[tuple[str, float, float, float]]:
    return [(r["video"], r["start"], r["end"], r["score"]) for r in payload["results"]]


def _search(vsearch, library: Path, checkpoint: Path) -> list[tuple[str, float, float, float]]:
    return _moments(parse_json(vsearch("search", QUERY, "--library", library, "--json",
                                       "--grounding-checkpoint", checkpoint,
                                       "--grounding-precision", "fp32")))  # fmt: skip


def _codec(vsearch, library: Path) -> str:
    return parse_json(vsearch("status", "--library", library, "--json"))["feature_codec"]


def test_every_codec_searches_end_to_end(library: Path, vsearch, r2_checkpoint: Path) -> None:
    assert _codec(vsearch, library) == "int8"  # the default of a new library
    int8 = _search(vsearch, library, r2_checkpoint)

    converted = parse_json(vsearch("compact", "--codec", "fp16", "--library", library, "--json"))
    assert (converted["codec_before"], converted["codec"], converted["videos"]) == (
        "int8", "fp16", 3
    )
    assert converted["bytes_after"] > 1.9 * converted["bytes_before"]
    fp16 = _search(vsearch, library, r2_checkpoint)
    # int8 moves a token by at most half a step of 1/127 of its largest value: same moments
    assert [m[:3] for m in int8] == [m[:3] for m in fp16]
    assert [m[3] for m in int8] == pytest.approx([m[3] for m in fp16], abs=0.01)

    # the tiny CLIP's 31 clips x 50 tokens are far below the pq minimum: kept int8, said why
    refused = vsearch("compact", "--codec", "pq", "--library", library)
    assert refused.exit_code == 0, refused.output
    assert "10,000 tokens per layer" in refused.stderr and "1,550" in refused.stderr
    assert _codec(vsearch, library) == "int8"

    with Catalog.open(library / "catalog.sqlite", create=False) as catalog:
        model = catalog.get_meta("model_id")
        report = compact_features(catalog, library / "features", model_slug(model), "pq",
                                  min_pq_tokens_per_layer=1000)  # fmt: skip
    books = sum(p.stat().st_size for p in (library / "features").rglob("codebook/*.npy"))
    assert report.codec == "pq" and report.bytes_after - books < 0.3 * report.bytes_before
    assert _codec(vsearch, library) == "pq"
    pq = _search(vsearch, library, r2_checkpoint)
    assert pq and {m[0] for m in pq} <= {m[0] for m in fp16}


def test_new_videos_join_a_compacted_library_in_its_codec(
    library: Path, vsearch, tmp_path: Path
) -> None:
    from tests.indexer.conftest import TINY_CLIP, moving_square_frames
    from vsearch.media import write_video

    assert parse_json(vsearch("compact", "--codec", "fp16", "--library", library, "--json"))
    extra = tmp_path / "more"
    extra.mkdir()
    write_video(extra / "garden.mp4", moving_square_frames(8, 10, 9), fps=10)
    status = parse_json(vsearch("status", "--library", library, "--json"))
    assert status["frame_sampling"] == "exact"
    indexed = vsearch("index", extra, "--library", library, "--clip-weights", TINY_CLIP,
                      "--decode", "fast")  # fmt: skip
    assert indexed.exit_code == 0, indexed.output
    status = parse_json(vsearch("status", "--library", library, "--json"))
    assert status["frame_sampling"] == "mixed"  # three videos exact, one fast
    [store] = (library / "features").iterdir()
    assert store.name.split(".")[-2] == "fp16" and len(list(store.glob("*.npy"))) == 4

    wrong = vsearch("index", extra, "--library", library, "--clip-weights", TINY_CLIP,
                    "--feature-codec", "int8")  # fmt: skip
    assert wrong.exit_code == 6 and "vsearch compact --codec int8" in wrong.stderr


def test_a_library_without_a_codec_record_is_read_as_fp16(
    library: Path, vsearch, r2_checkpoint: Path
) -> None:
    """Libraries indexed before codecs existed: fp16 in features/<model>/, no meta row."""
    parse_json(vsearch("compact", "--codec", "fp16", "--library", library, "--json"))
    expected = _search(vsearch, library, r2_checkpoint)
    with sqlite3.connect(library / "catalog.sqlite") as db:
        record = json.loads(db.execute("SELECT value FROM meta WHERE key = ?",
                                       (FEATURE_STORE_KEY,)).fetchone()[0])  # fmt: skip
        model = db.execute("SELECT value FROM meta WHERE key = 'model_id'").fetchone()[0]
        db.execute("DELETE FROM meta WHERE key = ?", (FEATURE_STORE_KEY,))
    features = library / "features"
    shutil.move(features / record["directory"], features / model_slug(model))
    assert _codec(vsearch, library) == "fp16"
    assert _search(vsearch, library, r2_checkpoint) == expected
    converted = parse_json(vsearch("compact", "--codec", "int8", "--library", library, "--json"))
    assert converted["videos"] == 3
    assert [p.name.split(".")[-2] for p in (library / "features").iterdir()] == ["int8"]


def test_an_open_library_searches_on_after_compact_replaces_its_feature_store(
    library: Path, vsearch, r2_checkpoint: Path
) -> None:
    """A long-lived process (`vsearch serve`) keeps its search session; `compact` in another
    process deletes the store that session read, so the session must follow the switch
    (else every window is decoded and encoded again from its source video)."""
    from vsearch.api import Library
    from vsearch.settings import load_settings

    settings = load_settings({"library": library, "grounding_checkpoint": r2_checkpoint,
                              "grounding_precision": "fp32"})  # fmt: skip
    with Library.open(settings=settings) as open_library:
        before = open_library.search(QUERY)
        converted = vsearch("compact", "--codec", "fp16", "--library", library)
        assert converted.exit_code == 0, converted.output
        after = open_library.search(QUERY)
    assert [(m.video_path, m.start_s, m.end_s) for m in after.results] == [
        (m.video_path, m.start_s, m.end_s) for m in before.results
    ]
    # read from the new store, not decoded and encoded again from the source videos
    assert not any("re-extracted" in note for note in after.notes), after.notes
