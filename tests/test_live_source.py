"""The live loop behind the service: real pipeline, simulated residence, sped up, in-process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service_helpers import depot_feature, make_site
from skywarden.core.clock import WallClock
from skywarden.core.site import Site
from skywarden.runtime.live.feeds import Feed, LineClock, simulated_feed, skybench_feed
from skywarden.runtime.live.source import LiveSource
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from skywarden.store.journal import Journal, open_journal

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def _line(t: float) -> dict[str, Any]:
    return {"type": "detections", "t": t, "sensor": "radar-1", "detections": []}


def test_line_clock_plays_passes_back_to_back() -> None:
    def passes(k: int) -> Iterator[dict[str, Any]]:
        return iter([_line(0.0), _line(5.0)])

    feed = Feed(simulated_site(), "simulation", "test", passes, pass_duration_s=10.0)
    sc = LineClock(feed, t0=1000.0)
    assert [s["t"] for s in sc.take_until(1004.0)] == [1000.0]
    assert [s["t"] for s in sc.take_until(1012.0)] == [1005.0, 1010.0]
    assert [s["t"] for s in sc.take_until(1020.0)] == [1015.0, 1020.0]
    assert sc.passes_started == 3


def simulated_site() -> Site:
    return make_site()


def _poll(
    client: TestClient, path: str, ok: Callable[[Any], bool], deadline_s: float = 60.0
) -> Any:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        body = client.get(path).json()
        if ok(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{path}: condition not met in {deadline_s} s")


def _serve(feed: Feed, speed: float, journal: Journal) -> TestClient:
    source = LiveSource(feed, WallClock(), journal, speed=speed, tick_s=0.2)
    settings = ServiceSettings(admin_user="tester", admin_password="tester-password")
    client = TestClient(create_app(settings, source))
    r = client.post("/api/auth/login", json={"username": "tester", "password": "tester-password"})
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def test_simulated_site_gives_tracks_alerts_and_operator_actions(tmp_path: Path) -> None:
    journal = open_journal(str(tmp_path / "j.sqlite"))
    with _serve(simulated_feed(seed=1), 8.0, journal) as client:
        assert client.get("/api/site").json()["name"] == "residence"
        _poll(client, "/api/tracks?confirmed_only=true", bool)
        alerts = _poll(client, "/api/alerts?state=raised", bool)
        aid = alerts[0]["id"]
        r = client.post(f"/api/alerts/{aid}/ack", json={"by": "tester"})
        assert r.status_code == 200 and r.json()["acknowledged_by"] == "tester"
        assert client.post(f"/api/alerts/{aid}/ack").status_code in (200, 409)
        assert client.post("/api/alerts/A999999/ack").status_code == 404
        with client.websocket_connect("/ws/picture") as ws:
            first = ws.receive_json()
            assert first["resync"] and first["tracks"]
            ids = {a["id"]: a["state"] for a in first["alerts"]}
            assert ids.get(aid) in ("acknowledged", "resolved")
            assert ws.receive_json()["seq"] > first["seq"]
        trails = client.get("/api/history").json()["trails"]
        assert any(len(v) > 3 for v in trails.values())
        stats = client.get("/api/stats").json()["counters"]
        assert stats["machine.scans"] > 0 and stats["alerts.acknowledged_by_operator"] >= 1
    kinds = {e.record.kind for e in journal.read()}
    assert {"raw", "tick", "track", "alert", "operator", "config"} <= kinds
    acks = [r for r in journal.records(kinds=["operator"]) if r.target == aid]
    assert acks and acks[0].operator == "tester"
    assert journal.verify().ok
    journal.close()


@pytest.mark.skipif(
    not (BENCH / "multisensor_attack.scenario.jsonl").exists(),
    reason="needs ../shared/bench/multisensor_attack.scenario.jsonl",
)
def test_skybench_replay_feed_tracks_in_real_time(tmp_path: Path) -> None:
    feed = skybench_feed(BENCH / "multisensor_attack.scenario.jsonl")
    assert feed.mode == "replay" and feed.pass_duration_s == 300
    with _serve(feed, 8.0, open_journal(str(tmp_path / "j.sqlite"))) as client:
        _poll(client, "/api/tracks?confirmed_only=true", bool)


def test_live_app_journals_the_audit_trail_and_each_ack_once(tmp_path: Path) -> None:
    """`skywarden run`'s app (runtime.live.RuntimeAudit): logins, failed logins and tokens go
    to the journal; an acknowledgement is there once, as the input the runtime applied."""
    from skywarden.runtime.live.run import RuntimeAudit

    journal = open_journal(str(tmp_path / "a.sqlite"))
    source = LiveSource(simulated_feed(seed=1), WallClock(), journal, speed=8.0, tick_s=0.2)
    settings = ServiceSettings(admin_user="tester", admin_password="tester-password")
    app = create_app(settings, source, audit=RuntimeAudit(journal), ingest=source.ingest)
    with TestClient(app) as client:
        bad = client.post("/api/auth/login", json={"username": "tester", "password": "wrong-one!"})
        assert bad.status_code == 401
        r = client.post(
            "/api/auth/login", json={"username": "tester", "password": "tester-password"}
        )
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        aid = _poll(client, "/api/alerts?state=raised", bool)[0]["id"]
        assert client.post(f"/api/alerts/{aid}/ack").status_code == 200
    ops = list(journal.records(kinds=["operator"]))
    actions = [o.action for o in ops]
    assert "login" in actions and "login_failed" in actions
    assert [o.action for o in ops if o.target == aid] == ["acknowledge"]
    assert journal.verify().ok
    journal.close()


def test_zone_edit_on_the_live_runtime_is_journaled_and_replayed(tmp_path: Path) -> None:
    """An admin adds a zone to the running system: the runtime serves it at once, journals
    it as an input, and a record machine fed the journal ends with the same zones."""
    from skywarden.runtime.engine.engine import Engine
    from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY

    journal = open_journal(str(tmp_path / "z.sqlite"))
    feed = simulated_feed(seed=1)
    source = LiveSource(feed, WallClock(), journal, speed=8.0, tick_s=0.2)
    settings = ServiceSettings(admin_user="tester", admin_password="tester-password")
    with TestClient(create_app(settings, source, ingest=source.ingest)) as client:
        r = client.post(
            "/api/auth/login", json={"username": "tester", "password": "tester-password"}
        )
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        _poll(client, "/api/tracks?confirmed_only=true", bool)
        r = client.post("/api/zones", json=depot_feature(source.site.origin))
        assert r.status_code == 201, r.text
        assert "depot" in [f["id"] for f in client.get("/api/zones").json()["features"]]
        _poll(client, "/api/stats", lambda s: s["counters"].get("machine.site_edits", 0) >= 1)
        assert "depot" in [z.id for z in source.machine.pipeline.site.zones]
    edits = [c for c in journal.records(kinds=["config"]) if c.key == SITE_EDIT_KEY]
    assert len(edits) == 1 and "depot" in [z["id"] for z in edits[0].new["zones"]]
    machine = Engine(feed.site)
    machine.feed_all(e.record for e in journal.read())
    assert [z.id for z in machine.pipeline.site.zones] == [
        z.id for z in source.machine.pipeline.site.zones
    ]
    journal.close()
