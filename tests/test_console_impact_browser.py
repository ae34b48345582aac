"""A rocket on the operator's map (issue 22): the predicted impact with its 95 % ellipse and
a countdown, and the point of origin, drawn from the fields ``/api/tracks`` carries; in
headless Chromium, every request on the machine."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from typing import Any

import numpy as np
import pytest

from map_helpers import scene_picture
from skywarden.core.track import TrackState, TrackStatus
from test_console_browser import ARTIFACTS
from test_console_map_browser import MapServer, _guarded_page, _off_machine, browser  # noqa: F401

T = 1_700_000_100.0


def _with_rocket(pic: Any) -> Any:
    """The map scene plus R1, a rocket 900 m west of the house falling towards it."""
    rocket = TrackState(
        id="R1",
        t=T,
        x=np.array([-900.0, 200.0, 600.0, 300.0, -60.0, -80.0]),
        P=np.diag([25.0, 25.0, 25.0, 4.0, 4.0, 4.0]),
        status=TrackStatus.CONFIRMED,
        class_probs={"rocket": 0.95, "unknown": 0.05},
        sensors=("radar-1",),
        hits=12,
        score=20.0,
        first_t=T - 6.0,
    )
    ground = {
        "R1": {
            "impact_enu_m": [40.0, -20.0],
            "impact_t": T + 7.6,
            "impact_ellipse_m": [60.0, 25.0, 100.0],
            "launch_enu_m": [-3200.0, 660.0],
            "launch_ellipse_m": [90.0, 40.0, 100.0],
        }
    }
    return dataclasses.replace(pic, tracks=(*pic.tracks, rocket), ground=ground)


def test_rocket_impact_ellipse_countdown_and_origin(browser: Any) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    with MapServer(None) as srv:
        srv.source.push(_with_rocket(scene_picture(srv.source.site)))
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/api/tracks") as r:
            tracks = {t["id"]: t for t in json.loads(r.read())}
        assert tracks["R1"]["impact_enu_m"] == [40.0, -20.0]
        assert tracks["R1"]["impact_t"] == pytest.approx(T + 7.6)
        assert "impact_enu_m" not in tracks["H1"] or tracks["H1"]["impact_enu_m"] is None
        page, seen, errors = _guarded_page(browser, 1600, 1000)
        page.goto(f"http://127.0.0.1:{srv.port}/?range=3500")
        page.wait_for_selector("#tracks tbody tr[data-id=R1]")
        page.wait_for_function("Number(document.getElementById('map').dataset.impactsDrawn) > 0")
        assert int(page.evaluate("document.getElementById('map').dataset.impactsDrawn")) == 1
        # the impact point is painted in the impact colour where the picture puts it
        px = page.evaluate(
            """() => { const m = window.skywarden.map, g = m.canvas.getContext('2d');
                       const [x, y] = m.toScreen(40, -20), d = window.devicePixelRatio || 1;
                       const p = g.getImageData(Math.round((x + 3) * d), Math.round(y * d), 1, 1)
                         .data;
                       return [p[0], p[1], p[2]]; }"""
        )
        assert px[0] > 150 and px[1] < 120 and px[2] < 120, px
        assert "rocket/mortar impact" in page.inner_text("#legend")
        page.screenshot(path=str(ARTIFACTS / "map-impact.png"))
        assert not _off_machine(seen) and not errors, (_off_machine(seen), errors)
