"""Who may use a server: loopback by default, a token everywhere else, checked on every call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from tests.server.conftest import TOKEN, video_id, wait_for_job
from vsearch.cli import main as vsearch_main
from vsearch.server import ServerConfig, check_exposure, is_loopback
from vsearch.server.guards import COOKIE_NAME, presented_token

PROTECTED = [
    ("GET", "/api/v1/ready"),
    ("GET", "/api/v1/status"),
    ("GET", "/api/v1/videos"),
    ("GET", "/api/v1/history"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/videos/1/thumbnail?t=1"),
    ("GET", "/api/v1/videos/1/media?start=0&end=2"),
    ("GET", "/api/v1/videos/1/playback?start=0&end=2"),
    ("GET", "/api/v1/nothing-here"),
    ("POST", "/api/v1/search"),
    ("POST", "/api/v1/exports"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_api_and_media_request_needs_the_token(guarded, method: str, path: str) -> None:
    body = {"query": "a red circle"} if method == "POST" else None
    with guarded.client() as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                        {"Authorization": f"Bearer {TOKEN[:-1]}"},
                        {"Cookie": f"{COOKIE_NAME}=nope"}):  # fmt: skip
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (headers, response.text)
            assert response.json() == {"error": "a valid token is required"}
            assert response.headers["www-authenticate"] == "Bearer"
        good = client.request(method, path, json=body,
                              headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert good.status_code != 401, good.text


def test_the_page_itself_holds_no_data_and_needs_no_token(guarded) -> None:
    with guarded.client() as client:
        page = client.get("/")
        assert page.status_code == 200 and "<title>vsearch</title>" in page.text
        assert client.get("/static/app.js").status_code == 200


def test_a_typed_token_becomes_a_strict_http_only_cookie(guarded) -> None:
    with guarded.client() as client:
        wrong = client.post("/api/v1/session", json={"token": "guess"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert client.get("/api/v1/ready").status_code == 401
        right = client.post("/api/v1/session", json={"token": TOKEN})
        assert right.status_code == 200 and right.json() == {"token_required": True}
        cookie = right.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert client.get("/api/v1/ready").status_code == 200  # the cookie is sent back
        vid = video_id(client, sorted(v["path"].rsplit("/", 1)[1] for v in
                                      client.get("/api/v1/videos").json())[0])  # fmt: skip
        assert client.get(f"/api/v1/videos/{vid}/playback",
                          params={"start": 1, "end": 2}).status_code in (200, 400)  # fmt: skip


def test_presented_token_reads_bearer_then_cookie() -> None:
    assert presented_token({"authorization": "Bearer abc"}) == "abc"
    assert presented_token({"authorization": "Basic abc"}) is None
    assert presented_token({"cookie": f"x=1; {COOKIE_NAME}=t0k"}) == "t0k"
    assert presented_token({"cookie": "garbage=\x00;;"}) is None


def test_concurrent_exports_are_limited(guarded) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with guarded.client(headers=headers) as client:
        found = client.post("/api/v1/search", json={"query": "a red circle", "top": 10,
                                                    "per_video": 10}).json()  # fmt: skip
        body = {"result_id": found["id"], "padding": 10, "format": "mp4"}  # a long reel
        first = client.post("/api/v1/exports", json=body)
        second = client.post("/api/v1/exports", json=body)
        assert first.status_code == 202
        assert second.status_code == 429, second.text
        assert "already running" in second.json()["error"]
        assert wait_for_job(client, first.json())["state"] == "done"
        third = client.post("/api/v1/exports", json={**body, "format": "csv"})
        assert third.status_code == 202  # room again once the first finished
        wait_for_job(client, third.json())


def test_loopback_addresses() -> None:
    for host in ("127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.4", "example.org", ""):
        assert not is_loopback(host), host


def test_other_hosts_need_a_token() -> None:
    check_exposure(ServerConfig(host="127.0.0.1"))
    check_exposure(ServerConfig(host="0.0.0.0", token="s"))
    with pytest.raises(Exception, match="--token"):
        check_exposure(ServerConfig(host="0.0.0.0"))
    with pytest.raises(Exception, match="empty"):
        check_exposure(ServerConfig(host="127.0.0.1", token=" "))


def test_serve_refuses_a_public_address_without_a_token(world) -> None:
    library = str(world.library_dir)
    result = CliRunner().invoke(vsearch_main, ["serve", "--library", library, "--host", "0.0.0.0"])
    assert result.exit_code == 4, result.output
    assert "--token" in result.output and "Traceback" not in result.output
    absent = str(world.library_dir / "no")
    missing = CliRunner().invoke(vsearch_main, ["serve", "--library", absent])
    assert missing.exit_code == 6 and "no library" in missing.output


def test_serve_starts_fast_loads_models_in_the_background_and_stops_on_ctrl_c(world) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VSEARCH_TOKEN": TOKEN}
    command = [sys.executable, "-c", "from vsearch.cli import main; main()", "serve",
               "--library", str(world.library_dir), "--port", "0"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        assert line.startswith("serving http://127.0.0.1:"), line
        url = line.split()[1]
        headers = {"Authorization": f"Bearer {TOKEN}"}  # the token came from the environment
        assert httpx.get(url + "api/v1/ready").status_code == 401
        states = []
        deadline = time.monotonic() + 120
        while not states or states[-1] == "loading":
            assert time.monotonic() < deadline
            states.append(httpx.get(url + "api/v1/ready", headers=headers).json()["state"])
            time.sleep(0.05)
        assert states[-1] == "ready"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130  # interrupted, as every command
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
