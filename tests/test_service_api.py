"""REST and WebSocket contract of the service, over a ScriptedSource (no pipeline, no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service_helpers import PictureMaker, fast_users, login, make_site, standard_tracks
from skywarden.core.clock import ManualClock
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from support.scripted import ScriptedSource


@pytest.fixture
def source() -> ScriptedSource:
    return ScriptedSource(make_site(), now=1_700_000_100.0)


@pytest.fixture
def client(source: ScriptedSource) -> Iterator[TestClient]:
    app = create_app(
        ServiceSettings(), source, clock=ManualClock(1_700_000_003.5), users=fast_users()
    )
    with TestClient(app) as c:
        login(c, "olga")
        yield c


def _push_standard(source: ScriptedSource) -> PictureMaker:
    pm = PictureMaker(source.site)
    source.push(pm.make(standard_tracks()))
    return pm


def test_lifespan_starts_and_stops_the_source(source: ScriptedSource) -> None:
    with TestClient(create_app(ServiceSettings(), source, users=fast_users())):
        assert source.started and not source.stopped
    assert source.stopped


def test_health_before_and_after_first_picture(client: TestClient, source: ScriptedSource) -> None:
    h = client.get("/api/health").json()
    assert h["status"] == "starting" and h["seq"] == 0
    _push_standard(source)
    h = client.get("/api/health").json()
    assert h == {
        "status": "ok",
        "mode": "simulation",
        "seq": 1,
        "picture_t": 100.0,
        "picture_age_s": 2.5,
    }


def test_site_is_geojson_friendly(client: TestClient) -> None:
    s = client.get("/api/site").json()
    assert s["name"] == "test-residence"
    assert s["sensors"][0]["id"] == "radar-1"
    assert s["sensors"][0]["position"]["lat"] == pytest.approx(33.3128, abs=0.001)
    fc = s["zones"]
    assert fc["type"] == "FeatureCollection"
    kinds = {f["properties"]["id"]: f["properties"]["kind"] for f in fc["features"]}
    assert kinds == {"residence": "protected", "perimeter": "warning"}
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 73
    assert fc["features"][0]["properties"]["radius_m"] == 150
    assert s["whitelist"] == ["FRIEND1"]


def test_tracks_carry_position_velocity_class_and_threat(
    client: TestClient, source: ScriptedSource
) -> None:
    _push_standard(source)
    tracks = {t["id"]: t for t in client.get("/api/tracks").json()}
    assert set(tracks) == {"T1", "T2", "T3", "T4", "T5"}
    t1 = tracks["T1"]
    assert t1["enu"] == [400.0, 0.0, 60.0]
    assert t1["velocity_enu"] == [-10.0, 0.0, 0.0]
    assert t1["heading_deg"] == 270.0
    assert t1["object_class"] == "drone" and t1["class_probs"]["drone"] == 0.8
    assert t1["threat"]["level"] in ("warning", "alert")
    assert t1["threat"]["zone_id"] == "residence"
    assert t1["threat"]["time_to_enter_s"] is not None
    assert t1["threat"]["reasons"]
    assert t1["sensors"] == ["radar-1"]
    assert tracks["T4"]["threat"] is None and not tracks["T4"]["confirmed"]
    assert tracks["T5"]["coasting"] and tracks["T5"]["confirmed"]
    confirmed = client.get("/api/tracks", params={"confirmed_only": True}).json()
    assert {t["id"] for t in confirmed} == {"T1", "T2", "T3", "T5"}


def test_history_gives_trails(client: TestClient, source: ScriptedSource) -> None:
    _push_standard(source)
    h = client.get("/api/history").json()
    assert len(h["trails"]["T1"]) == 5
    assert h["trails"]["T1"][-1]["coasting"] is True


def test_acknowledge_then_resolve_an_alert(client: TestClient, source: ScriptedSource) -> None:
    _push_standard(source)
    alerts = client.get("/api/alerts").json()
    assert [a["track_id"] for a in alerts] == ["T1"]
    aid = alerts[0]["id"]
    r = client.post(f"/api/alerts/{aid}/ack", json={"by": "alice"})
    assert r.status_code == 200
    # the logged-in operator is recorded, whatever the body claims
    assert r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "olga"
    assert client.get("/api/alerts", params={"state": "acknowledged"}).json()[0]["id"] == aid
    r = client.post(f"/api/alerts/{aid}/resolve")
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    assert client.post(f"/api/alerts/{aid}/ack").status_code == 409
    assert client.post("/api/alerts/nope/ack").status_code == 404


def test_stats_counts_tracks_alerts_and_clients(client: TestClient, source: ScriptedSource) -> None:
    _push_standard(source)
    s = client.get("/api/stats").json()
    assert s["tracks"] == 5 and s["confirmed_tracks"] == 4 and s["active_alerts"] == 1
    assert s["counters"]["source.pictures"] == 1.0


def test_openapi_lists_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p in (
        "/api/health",
        "/api/site",
        "/api/tracks",
        "/api/alerts",
        "/api/stats",
        "/api/alerts/{alert_id}/ack",
        "/api/alerts/{alert_id}/resolve",
        "/api/history",
        "/api/auth/login",
        "/api/auth/token",
        "/api/auth/me",
        "/api/zones",
        "/api/zones/{zone_id}",
        "/api/whitelist",
        "/api/sensors",
        "/api/sensors/{sensor_id}/token",
        "/api/users",
        "/api/audit",
        "/api/replay",
    ):
        assert p in paths


def test_console_is_served(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "skywarden" in r.text


def test_websocket_first_message_is_a_resync_then_a_delta_per_update(
    client: TestClient, source: ScriptedSource
) -> None:
    pm = _push_standard(source)
    with client.websocket_connect("/ws/picture") as ws:
        first = json.loads(ws.receive_text())
        assert first["type"] == "picture" and first["resync"] is True and first["seq"] == 1
        assert len(first["tracks"]) == 5 and first["alerts"][0]["track_id"] == "T1"
        source.push(pm.make(standard_tracks(101.0), 101.0))
        second = json.loads(ws.receive_text())
        assert second["type"] == "delta" and second["base_seq"] == 1
        assert second["seq"] == 2 and second["t"] == 101.0
        assert {tr["id"] for tr in second["upsert"]} == {tr["id"] for tr in first["tracks"]}
        aid = second["alerts"][0]["id"]
        assert client.post(f"/api/alerts/{aid}/ack").status_code == 200
        third = json.loads(ws.receive_text())
        assert third["type"] == "delta" and third["base_seq"] == 2
        assert third["alerts"][0]["state"] == "acknowledged"


def test_metrics_in_prometheus_text_format(client: TestClient, source: ScriptedSource) -> None:
    _push_standard(source)
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = dict(line.split(" ") for line in r.text.strip().splitlines())
    assert samples["skywarden_picture_tracks"] == "5.0"
    assert samples["skywarden_picture_open_alerts"] == "1.0"
    assert samples["skywarden_source_pictures"] == "1.0"
    assert all(k.startswith("skywarden_") and k.replace("_", "").isalnum() for k in samples)
