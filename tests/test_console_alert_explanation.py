"""The console shows why an alert was raised (issue 19), in real headless Chromium.

A ScriptedServer (uvicorn in-process, real threat assessment and alert manager) serves an
inbound drone: the alert list offers a "Why" disclosure with the evidence (rule, class
probabilities, sensors, time to zone, closest approach, identity) and one explanation line
per event; when the track is reclassified as a bird the explanation says so.
"""

from __future__ import annotations

from typing import Any

from service_helpers import PASSWORDS, track
from test_console_browser import ARTIFACTS, ScriptedServer, browser  # noqa: F401 (fixture)


def test_alert_explanation_is_shown_and_follows_a_change_of_class(browser: Any) -> None:  # noqa: F811
    with ScriptedServer() as srv:
        srv.push([track("T1", 400.0, 0.0, -10.0, 0.0, 101.0)], 101.0)  # enters in 25 s
        page = browser.new_page(viewport={"width": 1300, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://127.0.0.1:{srv.port}/?range=1500")
        page.click("#login-btn")
        page.fill("#login input[name=username]", "olga")
        page.fill("#login input[name=password]", PASSWORDS["olga"])
        page.click("#login button[type=submit]")
        page.wait_for_selector("body[data-role=operator]")
        page.wait_for_selector("#alerts details.why")
        why = page.locator("#alerts details.why").first
        assert not why.locator(".evidence").is_visible()  # folded until asked
        why.locator("summary").click()
        ev = why.locator(".evidence")
        ev.wait_for(state="visible")
        text = ev.inner_text()
        assert "rule imminent" in text and "drone 80%" in text and "bird 20%" in text
        assert "sensors radar-1" in text and "to zone" in text and "identity none" in text
        assert "alert raised: imminent" in why.locator("ol").inner_text()

        bird = track("T1", 300.0, 0.0, -10.0, 0.0, 102.0, cls="bird")
        srv.push([bird], 102.0)
        page.wait_for_selector("#alerts details.why li:has-text('class changed drone -> bird')")
        line = page.locator("#alerts details.why li").last.inner_text()
        assert "classified bird (90%)" in line and "resolves in 10 s" in line
        page.screenshot(path=str(ARTIFACTS / "console-alert-explanation.png"))
        assert errors == []
        page.close()
