"""A real site's reports: stepped as soon as their reorder window closes (not on the next
grid tick), and a sensor declared ``reports = "scans"`` has each message taken as a whole look.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service_helpers import SITE_DICT
from skywarden.core.clock import WallClock
from skywarden.core.errors import ConfigError
from skywarden.core.site import parse_site
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.live.feeds import Feed, site_to_dict
from skywarden.runtime.live.source import LiveSource
from skywarden.service.app import create_app
from skywarden.service.sessions import SensorTokens
from skywarden.service.settings import ServiceSettings
from skywarden.store.journal import open_journal

TOKEN = "radar-1-test-token-0123456789"


def _site(reports: str | None) -> Any:
    radar = dict(SITE_DICT["sensors"][0])  # type: ignore[index]
    if reports is not None:
        radar["reports"] = reports
    return parse_site({**SITE_DICT, "sensors": [radar]})


def test_reports_field_decides_whether_a_message_is_a_whole_scan() -> None:
    assert Engine(_site("scans"))._whole("radar-1", "json") is True
    assert Engine(_site("objects"))._whole("radar-1", "sim") is False
    assert Engine(_site(None))._whole("radar-1", "json") is False  # by format
    assert Engine(_site(None))._whole("radar-1", "skybench") is True
    # the journal's copy of the site keeps it, so a replay decides the same way
    assert parse_site(site_to_dict(_site("scans"))).sensors[0].reports == "scans"
    with pytest.raises(ConfigError) as e:
        _site("sweeps")
    assert "sensors[0].reports" in str(e.value) and "sweeps" in str(e.value)


def test_a_report_is_stepped_when_its_reorder_window_closes_not_on_the_grid(
    tmp_path: Path,
) -> None:
    site = _site("scans")
    feed = Feed(site, "live", "test site", None, 0.0, "live", {"site": site_to_dict(site)})
    journal = open_journal(str(tmp_path / "j.sqlite"))
    # a grid tick every 60 s: only the early tick can step the report within this test
    source = LiveSource(feed, WallClock(), journal, tick_s=60.0, lag_s=0.2)
    tokens = SensorTokens()
    tokens.set("radar-1", TOKEN)
    settings = ServiceSettings(admin_user="tester", admin_password="tester-password")
    app = create_app(settings, source, ingest=source.ingest, sensor_tokens=tokens)
    with TestClient(app) as client:
        client.post("/api/auth/login", json={"username": "tester", "password": "tester-password"})
        steps0 = client.get("/api/stats").json()["counters"].get("machine.steps", 0)
        t = time.time()
        body = {
            "t": t,
            "detections": [{"polar": {"range_m": 500, "az_deg": 45, "el_deg": 3, "radial_mps": 1}}],
        }
        r = client.post("/api/ingest/radar-1", json=body, headers={"X-Sensor-Token": TOKEN})
        assert r.status_code == 202, r.text
        counters: dict[str, float] = {}
        for _ in range(100):
            counters = client.get("/api/stats").json()["counters"]
            if counters.get("machine.steps", 0) > steps0:
                break
            time.sleep(0.1)
        assert counters.get("machine.steps", 0) > steps0, counters
        assert counters.get("live.early_ticks", 0) >= 1
        assert counters.get("machine.scans") == 1
        assert counters.get("machine.rejected.too_late", 0) == 0
        assert client.get("/api/stats").json()["picture_t"] >= t
    journal.close()
