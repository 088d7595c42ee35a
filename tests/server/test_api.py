"""The HTTP API against a real server on loopback, a real library and real models."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import pytest
from click.testing import CliRunner

from tests.server.conftest import AVI_NAME, BROKEN_NAME, video_id, wait_for_job
from vsearch.cli import main as vsearch_main
from vsearch.media import probe
from vsearch.preview.moments import CLIP_MARGIN_S

QUERY = "a red circle"


def _search(client, query: str = QUERY, **options) -> dict:
    response = client.post("/api/v1/search", json={"query": query, **options})
    assert response.status_code == 200, response.text
    return response.json()


def _cli_json(*args: str):
    result = CliRunner().invoke(vsearch_main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_models_are_ready_and_readiness_says_so(client) -> None:
    ready = client.get("/api/v1/ready").json()
    assert ready["state"] == "ready" and ready["error"] is None
    assert ready["load_seconds"] is not None


def test_search_answers_with_the_json_of_the_cli(client, world) -> None:
    found = _search(client, top=5)
    library = str(world.library_dir)
    shown = _cli_json("show", found["id"], "--library", library, "--json")
    assert found == shown
    searched = _cli_json("search", QUERY, "--top", "5", "--library", library, "--json")
    assert searched.keys() == found.keys()
    assert searched["results"] == found["results"] and len(found["results"]) == 5


def test_search_options_reach_the_library(client) -> None:
    only_avi = _search(client, top=3, per_video=2, **{"in": f"*/{AVI_NAME}"})
    assert only_avi["results"] and len(only_avi["results"]) <= 2
    assert {Path(m["video"]).name for m in only_avi["results"]} == {AVI_NAME}
    zero_shot = _search(client, top=2, grounding="zero-shot", whole_query=True)
    assert zero_shot["grounding"] == "zero-shot"


def test_history_and_stored_results(client, world) -> None:
    found = _search(client, "a blue square moves right", top=3)
    history = client.get("/api/v1/history", params={"limit": 5}).json()
    assert history[0]["id"] == found["id"] and history[0]["results"] == 3
    cli = _cli_json("history", "--limit", "5", "--library", str(world.library_dir), "--json")
    assert history == cli
    assert client.get(f"/api/v1/results/{found['id']}").json() == found
    missing = client.get("/api/v1/results/0123456789")
    assert missing.status_code == 404 and "0123456789" in missing.json()["error"]


def test_status_and_videos_match_the_cli(client, world) -> None:
    status = client.get("/api/v1/status").json()
    assert status.pop("index_progress") is None
    cli_status = _cli_json("status", "--library", str(world.library_dir), "--json")
    assert status.keys() == cli_status.keys()
    assert status["videos"] >= 4 and status["failed"] == 1  # another test may index one more
    videos = client.get("/api/v1/videos").json()
    assert videos == _cli_json("ls", "--library", str(world.library_dir), "--json")
    [broken] = client.get("/api/v1/videos", params={"status": "failed"}).json()
    assert Path(broken["path"]).name == BROKEN_NAME and broken["error"]
    one = client.get(f"/api/v1/videos/{broken['id']}").json()
    assert one == broken


def test_thumbnail_is_a_cached_jpeg_of_the_moment(client, world) -> None:
    vid = video_id(client, AVI_NAME)
    response = client.get(f"/api/v1/videos/{vid}/thumbnail", params={"t": 3.0, "width": 200})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    body = response.content
    assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
    cached = list((world.library_dir / "cache" / "thumbs").glob("*-3000-200.jpg"))
    assert len(cached) == 1 and cached[0].read_bytes() == body
    with av.open(str(cached[0])) as image:
        frame = next(image.decode(video=0))
    assert (frame.width, frame.height) == (200, 150)  # 160x120 kept in aspect
    again = client.get(f"/api/v1/videos/{vid}/thumbnail", params={"t": 3.0, "width": 200})
    assert again.content == body
    too_wide = client.get(f"/api/v1/videos/{vid}/thumbnail", params={"t": 3.0, "width": 5000})
    assert too_wide.status_code == 400 and "width" in too_wide.json()["error"]
    outside = client.get(f"/api/v1/videos/{vid}/thumbnail", params={"t": 999})
    assert outside.status_code == 400 and "outside" in outside.json()["error"]


def test_a_browser_playable_source_is_served_whole_with_ranges(client, world) -> None:
    mp4 = sorted(world.videos_dir.glob("synth*.mp4"))[0]
    vid = video_id(client, mp4.name)
    playback = client.get(f"/api/v1/videos/{vid}/playback", params={"start": 4, "end": 10}).json()
    assert playback["transcoded"] is False and playback["offset_s"] == 0
    assert playback["mime"] == "video/mp4"
    part = client.get(playback["url"], headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{mp4.stat().st_size}"
    assert part.content == mp4.read_bytes()[100:1100]


def test_other_sources_get_the_moment_transcoded_to_h264_and_cached(client, world) -> None:
    vid = video_id(client, AVI_NAME)
    playback = client.get(f"/api/v1/videos/{vid}/playback", params={"start": 8, "end": 12}).json()
    assert playback["transcoded"] is True and playback["mime"] == "video/mp4"
    assert playback["offset_s"] == pytest.approx(8 - CLIP_MARGIN_S)
    media = client.get(playback["url"])
    assert media.status_code == 200 and media.headers["accept-ranges"] == "bytes"
    [cached] = (world.library_dir / "cache" / "clips").glob("*-3000-17000.mp4")
    assert cached.read_bytes() == media.content
    info = probe(cached)
    assert info.codec == "h264" and info.has_audio
    assert info.duration_s == pytest.approx(14.0, abs=0.15)  # 12 + 5 - (8 - 5)
    part = client.get(playback["url"], headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == media.content[:10]


def test_a_video_deleted_from_disk_answers_404_with_a_message(client, world) -> None:
    mp4 = sorted(world.videos_dir.glob("synth*.mp4"))[1]
    vid = video_id(client, mp4.name)
    aside = mp4.with_name(mp4.name + ".aside")
    shutil.move(mp4, aside)
    try:
        for path, params in (("thumbnail", {"t": 1.5}), ("playback", {"start": 1, "end": 3}),
                             ("media", {"start": 1, "end": 3})):  # fmt: skip
            response = client.get(f"/api/v1/videos/{vid}/{path}", params=params)
            assert response.status_code == 404, (path, response.text)
            assert "gone from disk" in response.json()["error"]
    finally:
        shutil.move(aside, mp4)


def _apart(moments: list[dict]) -> tuple[int, int]:
    """Ranks of two moments that do not overlap (so export keeps them as two segments)."""
    for i, first in enumerate(moments):
        for j, second in enumerate(moments[i + 1 :], start=i + 1):
            if first["video"] != second["video"] or first["end"] <= second["start"] \
                    or second["end"] <= first["start"]:  # fmt: skip
                return i, j
    raise AssertionError("every moment overlaps another")


def test_export_job_writes_a_reel_of_the_chosen_moments_inside_the_library(client, world) -> None:
    found = _search(client, top=6, per_video=2)
    ranks = _apart(found["results"])
    job = client.post("/api/v1/exports", json={"result_id": found["id"], "moments": list(ranks),
                                               "format": "mp4"})  # fmt: skip
    assert job.status_code == 202, job.text
    done = wait_for_job(client, job.json())
    assert done["state"] == "done" and done["progress"] == 1.0
    chosen = [found["results"][rank] for rank in ranks]
    assert [(s["video"], s["start"]) for s in done["report"]["segments"]] == [
        (m["video"], m["start"]) for m in chosen
    ]
    written = world.library_dir / "exports" / done["file_name"]
    download = client.get(done["download"])
    assert download.status_code == 200 and download.content == written.read_bytes()
    assert "attachment" in download.headers["content-disposition"]
    expected_s = sum(m["end"] - m["start"] for m in chosen)
    assert probe(written).duration_s == pytest.approx(expected_s, abs=0.3)
    timeline = wait_for_job(client, client.post("/api/v1/exports", json={
        "result_id": found["id"], "format": "edl"}).json())  # fmt: skip
    assert timeline["state"] == "done" and timeline["file_name"].endswith(".edl")
    assert "TITLE:" in client.get(timeline["download"]).text
    listed = client.get("/api/v1/exports").json()
    assert {done["id"], timeline["id"]} <= {j["id"] for j in listed}


def test_export_refuses_bad_requests(client) -> None:
    found = _search(client, top=2)
    cases = [
        ({"result_id": found["id"], "moments": [5]}, 400, "no moment 5"),
        ({"result_id": found["id"], "format": "exe"}, 400, "unknown export format"),
        ({"result_id": "abcdef0123"}, 404, "no stored search"),
        ({"result_id": found["id"], "out": "/tmp/evil.mp4"}, 422, "out"),
        ({"result_id": "../../etc"}, 422, "result_id"),
        ({"result_id": found["id"], "padding": 1e9}, 422, "padding"),
    ]
    for body, status, words in cases:
        response = client.post("/api/v1/exports", json=body)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["error"], (body, response.text)
    unknown = client.get("/api/v1/exports/" + "0" * 32)
    assert unknown.status_code == 404 and "no export job" in unknown.json()["error"]


def test_limits_answer_4xx_json(client) -> None:
    cases = [
        ({"query": "x" * 1001}, 400, "limit is 1000"),
        ({"query": QUERY, "top": 101}, 400, "limit is 100"),
        ({"query": QUERY, "candidates": 10_000}, 400, "limit is 200"),
        ({"query": QUERY, "top": 0}, 400, "--top must be at least 1"),
        ({"query": "   "}, 400, "empty"),
        ({"query": QUERY, "grounding": "magic"}, 422, "grounding"),
        ({"query": QUERY, "extra": 1}, 422, "extra"),
    ]
    for body, status, words in cases:
        response = client.post("/api/v1/search", json=body)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["error"], (body, response.text)
    huge = client.post("/api/v1/search", json={"query": QUERY, "pad": "x" * 70_000})
    assert huge.status_code == 413 and "bytes" in huge.json()["error"]


def test_state_changes_need_a_json_post(client) -> None:
    form = client.post("/api/v1/search", data={"query": QUERY})
    assert form.status_code == 415 and "JSON" in form.json()["error"]
    plain = client.post("/api/v1/exports", content=b'{"result_id": "ab"}',
                        headers={"Content-Type": "text/plain"})  # fmt: skip
    assert plain.status_code == 415
    get = client.get("/api/v1/search", params={"query": QUERY})
    assert get.status_code == 405 and get.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/videos/..%2F..%2Fetc%2Fpasswd/media?start=0&end=1",
        "/api/v1/videos/%2Fetc%2Fpasswd/thumbnail?t=1",
        "/api/v1/videos/1%2F..%2F..%2Fcatalog.sqlite/media?start=0&end=1",
        "/api/v1/videos/0/media?start=0&end=1",
        "/api/v1/videos/-1/thumbnail?t=1",
        "/api/v1/videos/99999/media?start=0&end=1",
        "/api/v1/videos/abcdef0123/thumbnail?t=1",
        "/api/v1/results/..%2F..%2Fcatalog.sqlite",
        "/api/v1/exports/..%2F..%2Fcatalog.sqlite/download",
        "/api/v1/exports/abcdef0123/download",
        "/static/..%2F..%2Fapi.py",
        "/static/%2e%2e/%2e%2e/api.py",
    ],
)
def test_traversal_attempts_reach_no_file(client, path: str) -> None:
    response = client.get(path)
    assert 400 <= response.status_code < 500, response.text
    assert b"Library" not in response.content and b"SQLite" not in response.content
    assert response.headers["content-type"].startswith("application/json")


def test_media_ignore_paths_given_in_the_request(client, world) -> None:
    mp4 = sorted(world.videos_dir.glob("synth*.mp4"))[0]
    vid = video_id(client, mp4.name)
    url = f"/api/v1/videos/{vid}/media"
    response = client.get(url, params={"start": 1, "end": 2, "path": "/etc/passwd"})
    assert response.status_code == 200 and response.content == mp4.read_bytes()


def test_a_loopback_server_refuses_other_host_names(client) -> None:
    rebound = client.get("/api/v1/ready", headers={"Host": "attacker.example:8765"})
    assert rebound.status_code == 421 and "loopback" in rebound.json()["error"]
    assert client.get("/api/v1/ready", headers={"Host": "localhost:8765"}).status_code == 200


def test_many_clients_get_their_own_answers(client) -> None:
    queries = ["a red circle", "a blue square", "a green triangle moves left",
               "a yellow star", "a red circle, then a blue square", "a small purple circle"]
    alone = {q: _search(client, q, top=3)["results"] for q in queries}
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda q: (q, _search(client, q, top=3)), queries * 2))
    for query, answer in answers:
        assert answer["query"] == query and answer["results"] == alone[query]
    assert len({answer["id"] for _, answer in answers}) == len(answers)


def test_the_openapi_page_documents_the_api(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/search", "/api/v1/exports", "/api/v1/videos/{video_id}/media"):
        assert path in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/v1/nothing").status_code == 404
