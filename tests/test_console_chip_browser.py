"""The camera chip of a cued track in the operator console, in real headless Chromium
(Playwright), against a real ``skywarden run`` (its built-in simulated site has a PTZ camera
under slew-to-cue). The chip is served by ``GET /api/tracks/{id}/chip`` and shown beside
the track's details; a screenshot goes to ``docs/img/console_chip.png``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_console_browser import chromium
from test_live_run import _interrupt, _start, _wait_for

playwright_api = pytest.importorskip("playwright.sync_api")
SHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "console_chip.png"


def _chip(port: int, tid: str) -> tuple[bytes, dict[str, str]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tracks/{tid}/chip") as r:
            return r.read(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        assert e.code == 404
        return None


@pytest.fixture()
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_console_shows_the_camera_chip_of_a_cued_track(browser: Any) -> None:
    proc, port = _start("--speed", "4")
    try:
        cued = _wait_for(
            port,
            "/api/tracks?confirmed_only=true",
            proc,
            90.0,
            lambda ts: [t for t in ts if "ptz-1" in t["sensors"]],
        )
        tid = ""
        end = time.monotonic() + 30.0
        while not tid and time.monotonic() < end:
            for t in cued:
                got = _chip(port, t["id"])
                if got is not None:
                    jpeg, headers = got
                    assert jpeg[:2] == b"\xff\xd8"  # a JPEG
                    assert headers["x-chip-synthetic"] == "true"  # the simulated camera's
                    assert headers["x-chip-camera"] == "ptz-1"
                    tid = t["id"]
                    break
            time.sleep(0.5)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tracks") as r:
                cued = [t for t in json.loads(r.read()) if "ptz-1" in t["sensors"]]
        assert tid, "no cued track with a chip"
        assert _chip(port, "no-such-track") is None
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://127.0.0.1:{port}/?range=2500")
        page.wait_for_selector(f"#tracks tbody tr[data-id='{tid}']", timeout=20_000)
        page.click(f"#tracks tbody tr[data-id='{tid}']")
        page.wait_for_selector(f"#details table[data-track='{tid}']")
        page.wait_for_selector("#details img.chip", timeout=15_000)
        page.wait_for_function(
            "document.querySelector('#details img.chip') && "
            "document.querySelector('#details img.chip').naturalWidth === 64"
        )
        text = page.inner_text("#details")
        assert "ptz-1" in text and "synthetic" in text
        # no scroll to the chip: the details pane re-renders on every picture, so a located
        # element can be replaced before the scroll acts; the pane already shows it
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOT))
        assert not errors, errors
    finally:
        if proc.poll() is None:
            _interrupt(proc)
