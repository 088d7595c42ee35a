"""contact_sheet: a PNG grid of the middle frame of every segment."""

from __future__ import annotations

import pytest

from tests.export.conftest import psnr_db
from vsearch.errors import InputError
from vsearch.export import Segment, contact_sheet
from vsearch.export.contact_sheet import LABEL_BAND_PX
from vsearch.media.cutting import grab_frame, probe_source


def test_grid_has_the_expected_size_and_frames(sources, tmp_path):
    tone, wide = sources["tone"], sources["wide"]
    segments = [
        Segment(str(tone.path), 0.5, 1.5, 0, 1),
        Segment(str(wide.path), 1.0, 2.0, 1, 2),
        Segment(str(tone.path), 2.0, 3.0, 2, 3),
    ]
    out = tmp_path / "sheet.png"
    assert contact_sheet(segments, out, columns=2, thumb_width=160) == (320, 240)
    sheet = grab_frame(out, 0.0)
    assert sheet.shape == (240, 320, 3)
    assert probe_source(out).video_codec == "png"
    first = grab_frame(tone.path, 1.0, width=160, height=120)
    assert psnr_db(sheet[:120, :160], first) > 40
    # The 2:1 source is 160x80, centred in its 120-pixel-high cell.
    second = grab_frame(wide.path, 1.5, width=160, height=80)
    assert psnr_db(sheet[20:100, 160:320], second) > 40
    assert sheet[:20, 160:].max() == 0
    assert sheet[120:, 160:].max() == 0  # the empty last cell


def test_fewer_segments_than_columns_make_a_narrower_sheet(sources, tmp_path):
    segments = [Segment(str(sources["tone"].path), 0.5, 1.5, 0, 1)]
    assert contact_sheet(segments, tmp_path / "one.png", columns=4, thumb_width=64) == (64, 48)
    assert grab_frame(tmp_path / "one.png", 0.0).shape == (48, 64, 3)


def test_no_segments_write_no_sheet(tmp_path):
    with pytest.raises(InputError):
        contact_sheet([], tmp_path / "none.png")
    assert list(tmp_path.iterdir()) == []


def test_labels_sit_in_a_band_under_each_thumbnail(sources, tmp_path):
    tone = sources["tone"]
    segments = [Segment(str(tone.path), 0.5, 1.5, 0, 1), Segment(str(tone.path), 2.0, 3.0, 2, 3)]
    out = tmp_path / "labelled.png"
    size = contact_sheet(segments, out, columns=2, thumb_width=160, labels=["#1 a", "#2 b"])
    assert size == (320, 120 + LABEL_BAND_PX)
    sheet = grab_frame(out, 0.0)
    first = grab_frame(tone.path, 1.0, width=160, height=120)
    assert psnr_db(sheet[:120, :160], first) > 40  # the label does not cover the picture
    assert sheet[120:, :160].max() > 150 and sheet[120:, 160:].max() > 150  # text in each band
    with pytest.raises(InputError, match="2 labels for 1 segments"):
        contact_sheet(segments[:1], tmp_path / "x.png", labels=["a", "b"])


def test_the_extension_picks_the_format(sources, tmp_path):
    segments = [Segment(str(sources["tone"].path), 0.5, 1.5, 0, 1)]
    assert contact_sheet(segments, tmp_path / "sheet.jpg", thumb_width=64) == (64, 48)
    assert probe_source(tmp_path / "sheet.jpg").video_codec == "mjpeg"
    with pytest.raises(InputError, match=r"\.png, \.jpg or \.jpeg"):
        contact_sheet(segments, tmp_path / "sheet.gif")
    assert not (tmp_path / "sheet.gif").exists()
