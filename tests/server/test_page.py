"""The page in a real headless Chromium (Debian's package) against a real server.

Screenshots of the search and library views are written to docs/images/ for the docs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import AVI_NAME, BROKEN_NAME
from vsearch.media import probe, sample_frames

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
QUERY = "a red circle"
PLAYING = ("() => { const v = document.querySelector('#player');"
           " return !v.paused && v.currentTime > 0; }")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install "
    "chromium); .ci/run installs it"
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser, served):
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, base_url=served.url)
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def _search(page, query: str = QUERY) -> None:
    page.goto("/")
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_selector(".card")


def _shown_result(page, client: httpx.Client) -> dict:
    result_id = page.get_attribute("#cards", "data-result-id")
    return client.get(f"/api/v1/results/{result_id}").json()


def _player(page) -> dict:
    return page.evaluate("""() => { const v = document.querySelector('#player');
        return { time: v.currentTime, paused: v.paused, offset: Number(v.dataset.offset),
                 start: Number(v.dataset.start), end: Number(v.dataset.end),
                 rank: Number(v.dataset.rank) }; }""")


def test_typing_a_query_shows_cards_and_keeps_the_search_in_the_url(page, client) -> None:
    _search(page)
    cards = page.locator(".card")
    result = _shown_result(page, client)
    assert cards.count() == len(result["results"]) > 0
    first = result["results"][0]
    assert Path(first["video"]).name in cards.first.inner_text()
    assert cards.first.locator(".saliency span").count() == len(first["saliency"])
    page.wait_for_function("() => [...document.querySelectorAll('.card img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")  # fmt: skip
    assert "q=a+red+circle" in page.url
    page.wait_for_selector("#ready[data-state=ready]")
    cards.first.click()
    page.wait_for_function(PLAYING)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "search.png"))


def test_a_search_url_shows_its_results_without_typing(page, client) -> None:
    page.goto("/?q=a+blue+square&top=4&per_video=2")
    page.wait_for_selector(".card")
    assert page.input_value("#q") == "a blue square" and page.input_value("#top") == "4"
    assert 0 < page.locator(".card").count() <= 4
    assert _shown_result(page, client)["query"] == "a blue square"


def _stoppable_rank(result: dict, durations: dict[str, float]) -> int:
    """A moment that ends at least a second before its video does (so stopping is visible)."""
    for rank, moment in enumerate(result["results"]):
        if moment["end"] < durations[moment["video"]] - 1.0:
            return rank
    raise AssertionError("every moment runs to the end of its video")


def _plays_inside_and_stops_at_the_end(page, rank: int, moment: dict) -> None:
    page.locator(".card").nth(rank).click()
    page.wait_for_function("() => { const v = document.querySelector('#player');"
                           " return !v.paused && v.currentTime > 0 && v.dataset.rank === "
                           f"'{rank}'; }}")  # fmt: skip
    playing = _player(page)
    assert (playing["start"], playing["end"]) == (moment["start"], moment["end"])
    assert moment["start"] - 0.05 <= playing["time"] + playing["offset"] <= moment["end"]
    page.evaluate("() => { const v = document.querySelector('#player');"
                  " v.currentTime = Number(v.dataset.end) - Number(v.dataset.offset) - 0.7; }")
    page.wait_for_function("() => document.querySelector('#player').paused", timeout=15_000)
    stopped = _player(page)
    assert stopped["time"] + stopped["offset"] == pytest.approx(moment["end"], abs=0.1)


def test_playing_a_moment_stays_inside_it_and_stops_at_its_end(page, client) -> None:
    _search(page)
    result = _shown_result(page, client)
    durations = {v["path"]: v["duration_s"] for v in client.get("/api/v1/videos").json()}
    rank = _stoppable_rank(result, durations)
    _plays_inside_and_stops_at_the_end(page, rank, result["results"][rank])
    assert page.locator(".card.current").get_attribute("data-rank") == str(rank)


def test_a_moment_of_a_source_the_browser_cannot_play_is_transcoded_and_plays(page, client):
    page.goto(f"/?q=a+square&top=3&in=*/{AVI_NAME}")
    page.wait_for_selector(".card")
    result = _shown_result(page, client)
    durations = {v["path"]: v["duration_s"] for v in client.get("/api/v1/videos").json()}
    rank = _stoppable_rank(result, durations)
    _plays_inside_and_stops_at_the_end(page, rank, result["results"][rank])
    assert _player(page)["offset"] > 0 or result["results"][rank]["start"] <= 5.0


def test_keyboard_moves_between_cards_and_space_plays(page) -> None:
    _search(page)
    assert page.evaluate("() => document.activeElement.id") == "q"  # Enter searched from here
    page.locator(".card").first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.dataset.rank") == "1"
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('#player').dataset.rank === '1'")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("() => document.activeElement.dataset.rank") == "0"


def test_two_selected_cards_export_to_a_reel_that_decodes(page, client, tmp_path) -> None:
    from tests.server.test_api import _apart

    _search(page)
    result = _shown_result(page, client)
    ranks = _apart(result["results"])
    for rank in ranks:
        page.locator(".card").nth(rank).locator("input[type=checkbox]").check()
    assert page.inner_text("#selection-count") == "2 selected"
    page.select_option("#export-format", "mp4")
    page.click("#export")
    page.wait_for_selector("#export-download:not([hidden])", timeout=120_000)
    assert page.evaluate("() => document.querySelector('#export-progress').value") == 1
    with page.expect_download() as download_info:
        page.click("#export-download")
    reel = tmp_path / "reel.mp4"
    download_info.value.save_as(reel)
    expected_s = sum(result["results"][r]["end"] - result["results"][r]["start"] for r in ranks)
    info = probe(reel)
    assert info.codec == "h264" and info.duration_s == pytest.approx(expected_s, abs=0.3)
    frames = list(sample_frames(reel, fps=1.0, size=64))
    assert len(frames) == pytest.approx(info.duration_s, abs=1)


def test_library_view_shows_why_a_file_failed(page, client) -> None:
    page.goto("/#library")
    page.wait_for_selector("#video-rows tr")
    [broken] = client.get("/api/v1/videos", params={"status": "failed"}).json()
    row = page.locator("#video-rows tr", has_text=BROKEN_NAME)
    assert row.locator(".status").inner_text() == "failed"
    assert row.locator(".reason").inner_text() == broken["error"]
    assert "failed" in page.inner_text("#library-summary")
    page.screenshot(path=str(IMAGES / "library.png"))


def test_history_reopens_a_past_search(page) -> None:
    _search(page, "a green triangle")
    page.goto("/#history")
    page.click("#history-list a >> nth=0")
    page.wait_for_selector(".card")
    assert "result=" in page.url and page.input_value("#q") == "a green triangle"


def test_phone_width_stacks_the_player_above_the_cards(browser, served) -> None:
    context = browser.new_context(viewport=PHONE, base_url=served.url, is_mobile=True)
    phone = context.new_page()
    try:
        _search(phone)
        phone.wait_for_function("() => [...document.querySelectorAll('.card img')]"
                                ".every(img => img.complete && img.naturalWidth > 0)")  # fmt: skip
        phone.locator(".card").first.click()
        phone.wait_for_function(PLAYING)
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the page scrolls sideways at phone width"
        phone.wait_for_selector("#ready[data-state=ready]")
        phone.screenshot(path=str(IMAGES / "search-phone.png"))
    finally:
        context.close()
