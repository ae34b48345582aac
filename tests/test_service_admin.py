"""Zones (GeoJSON), whitelist, sensors with health, sensor tokens and the audit trail, over the
real app with a ScriptedSource; the journal audit sink against a real SQLite journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from service_helpers import (
    PictureMaker,
    depot_feature,
    fast_users,
    login,
    make_site,
    standard_tracks,
    track,
)
from skywarden.core.clock import ManualClock
from skywarden.sensors.links.health import SensorHealth
from skywarden.service.app import create_app
from skywarden.service.audit import JournalAudit, MemoryAudit
from skywarden.service.auth import require_sensor_token
from skywarden.service.settings import ServiceSettings
from skywarden.store.journal import open_journal
from skywarden.store.records import ConfigChange, OperatorAction
from support.scripted import ScriptedSource

NOW = 1_700_000_000.0


def _feature(zid: str, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"id": zid, "kind": "protected", **props}}


@pytest.fixture
def env() -> Iterator[tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI]]:
    source = ScriptedSource(make_site(), now=NOW)
    sink = MemoryAudit()
    app = create_app(ServiceSettings(), source, ManualClock(NOW), users=fast_users(), audit=sink)
    with TestClient(app) as c:
        login(c, "admin")
        yield c, source, sink, app


def test_zone_created_as_geojson_reaches_the_source_and_threat(
    env: tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI],
) -> None:
    c, source, sink, _ = env
    # a polygon drawn in lon/lat around a point 1 km east of the origin
    body = depot_feature(source.site.origin)
    r = c.post("/api/zones", json=body)
    assert r.status_code == 201, r.text
    poly = r.json()["properties"]["polygon_enu"]
    assert len(poly) == 4 and min(p[0] for p in poly) == pytest.approx(1000 - 186, abs=5)
    assert [z.id for z in source.site.zones] == ["residence", "perimeter", "depot"]
    assert source.site_updates == 1
    ids = [f["id"] for f in c.get("/api/zones").json()["features"]]
    assert ids == ["residence", "perimeter", "depot"]
    # the real threat assessor, built on the edited site, sees the new zone
    pm = PictureMaker(source.site)
    pic = pm.make([track("T9", 1000.0, 0.0, 0.0, 0.0)])
    assert pic.assessments["T9"].zone_id == "depot"
    assert c.post("/api/zones", json=body).status_code == 409
    last = sink.entries()[-1]
    assert isinstance(last, ConfigChange) and last.key == "zones.depot" and last.actor == "admin"
    assert last.old is None and last.new["properties"]["id"] == "depot"


def test_zone_round_trip_edit_and_delete(
    env: tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI],
) -> None:
    c, source, sink, _ = env
    fc = c.get("/api/zones").json()
    residence = next(f for f in fc["features"] if f["id"] == "residence")
    residence["properties"]["radius_m"] = 250
    r = c.put("/api/zones/residence", json=residence)
    assert r.status_code == 200, r.text
    z = next(z for z in source.site.zones if z.id == "residence")
    assert z.radius_m == 250 and z.center_enu == (0.0, 0.0) and z.ceiling_m == 300
    assert (
        c.put("/api/zones/nope", json=_feature("nope", radius_m=5, center_enu=[0, 0])).status_code
        == 404
    )
    assert (
        c.put(
            "/api/zones/residence", json=_feature("other", radius_m=5, center_enu=[0, 0])
        ).status_code
        == 422
    )
    assert c.delete("/api/zones/perimeter").status_code == 204
    assert [z.id for z in source.site.zones] == ["residence"]
    assert c.delete("/api/zones/perimeter").status_code == 404
    assert [getattr(e, "key", None) for e in sink.entries()[-2:]] == [
        "zones.residence",
        "zones.perimeter",
    ]


@pytest.mark.parametrize(
    ("props", "geometry", "reason"),
    [
        ({"polygon_enu": [[0, 0], [10, 10], [0, 10], [10, 0]]}, None, "cross"),
        ({"polygon_enu": [[0, 0], [1, 0], [2, 0]]}, None, "area"),
        ({"polygon_enu": [[0, 0], [0, 0], [0, 0]]}, None, "3 distinct"),
        ({"center_enu": [500_000, 0], "radius_m": 10}, None, "km"),
        ({"center_enu": [0, 0], "radius_m": 10, "floor_m": 100, "ceiling_m": 50}, None, "floor"),
        ({}, {"type": "Polygon", "coordinates": [[[200, 0], [0, 1], [1, 1], [200, 0]]]}, "lon"),
        ({}, None, "give a Polygon"),
    ],
)
def test_bad_zones_are_refused_with_a_reason(
    env: tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI],
    props: dict[str, Any],
    geometry: Any,
    reason: str,
) -> None:
    c, source, _, _ = env
    body: dict[str, Any] = _feature("bad", **props)
    if geometry is not None:
        body["geometry"] = geometry
    r = c.post("/api/zones", json=body)
    assert r.status_code == 422 and reason in r.text, r.text
    assert source.site_updates == 0


def test_whitelist_add_and_remove(
    env: tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI],
) -> None:
    c, source, sink, _ = env
    assert [w["identity"] for w in c.get("/api/whitelist").json()] == ["FRIEND1"]
    r = c.post("/api/whitelist", json={"icao": "4CA123", "note": "air ambulance"})
    assert r.status_code == 201 and r.json()["identity"] == "icao:4ca123"
    assert "icao:4ca123" in source.site.whitelisted_identities
    assert c.post("/api/whitelist", json={"icao": "4ca123"}).status_code == 409
    assert c.post("/api/whitelist", json={"icao": "4ca123", "remote_id": "X"}).status_code == 422
    assert c.post("/api/whitelist", json={"icao": "zzz"}).status_code == 422
    assert c.delete("/api/whitelist/FRIEND1").status_code == 204
    assert c.delete("/api/whitelist/FRIEND1").status_code == 404
    assert source.site.whitelisted_identities == frozenset({"icao:4ca123"})
    assert [getattr(e, "key", None) for e in sink.entries()[-2:]] == [
        "whitelist.icao:4ca123",
        "whitelist.FRIEND1",
    ]


def test_sensors_render_health_defensively(
    env: tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI],
) -> None:
    c, source, _, app = env
    (s,) = c.get("/api/sensors").json()
    assert s["id"] == "radar-1" and s["status"] == "unknown" and s["last_report_t"] is None
    health = SensorHealth(
        "radar-1", "json", "http", "receiving", None, NOW - 1.0, 2.5, 40, 80, (("bad_json", 2),)
    )
    source.health = {"radar-1": health}
    (s,) = c.get("/api/sensors").json()
    assert s["status"] == "ok" and s["rate_hz"] == 2.5 and s["age_s"] == 1.0
    assert s["detail"]["accepted"] == 40 and s["detail"]["state"] == "receiving"
    app.state.skywarden.clock.advance(60.0)
    assert c.get("/api/sensors").json()[0]["status"] == "lost"
    source.health = {"radar-1": {"state": "disconnected", "rate_hz": float("nan")}}
    (s,) = c.get("/api/sensors").json()
    assert s["status"] == "lost" and s["rate_hz"] is None


def test_sensor_tokens_authenticate_ingest_and_are_audited(
    env: tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI],
) -> None:
    c, _, sink, app = env

    @app.post("/test/ingest/{sensor_id}")
    def probe(sensor_id: str, who: str = Depends(require_sensor_token)) -> dict[str, str]:
        return {"who": who}

    app.router.routes.insert(0, app.router.routes.pop())  # before the static mount
    assert c.post("/test/ingest/radar-1").status_code == 401  # no token registered
    assert c.post("/api/sensors/nope/token").status_code == 404
    tok = c.post("/api/sensors/radar-1/token").json()["token"]
    assert c.get("/api/sensors").json()[0]["token"] is True
    assert c.post("/test/ingest/radar-1").status_code == 401  # none sent
    bad = {"Authorization": "Bearer swt_wrong"}
    assert c.post("/test/ingest/radar-1", headers=bad).status_code == 401
    good = {"Authorization": f"Bearer {tok}"}
    assert c.post("/test/ingest/radar-1", headers=good).json() == {"who": "radar-1"}
    assert c.post("/test/ingest/radar-1", headers={"X-Sensor-Token": tok}).status_code == 200
    assert all(tok not in repr(e) for e in sink.entries())  # secrets never audited
    assert c.delete("/api/sensors/radar-1/token").status_code == 204
    assert c.post("/test/ingest/radar-1", headers=good).status_code == 401
    assert app.state.skywarden.security.counters.get("auth.sensor_refused") == 4


def test_ingest_rate_limit_per_sensor() -> None:
    source = ScriptedSource(make_site())
    settings = ServiceSettings(ingest_burst=3, ingest_per_s=1.0)
    app = create_app(settings, source, ManualClock(NOW), users=fast_users())

    @app.post("/probe/{sensor_id}")
    def probe(sensor_id: str, who: str = Depends(require_sensor_token)) -> str:
        return who

    app.router.routes.insert(0, app.router.routes.pop())
    tok = app.state.skywarden.security.sensor_tokens.issue("radar-1")
    with TestClient(app) as c:
        h = {"X-Sensor-Token": tok}
        codes = [c.post("/probe/radar-1", headers=h).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        app.state.skywarden.clock.advance(1.0)
        assert c.post("/probe/radar-1", headers=h).status_code == 200


def test_operator_actions_and_logins_are_audited(
    env: tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI],
) -> None:
    c, source, sink, _ = env
    source.push(PictureMaker(source.site).make(standard_tracks()))
    with TestClient(c.app) as olga:
        login(olga, "olga")
        aid = olga.get("/api/alerts").json()[0]["id"]
        assert olga.post(f"/api/alerts/{aid}/ack").status_code == 200
        assert olga.post(f"/api/alerts/{aid}/resolve").status_code == 200
    bad = c.post("/api/auth/login", json={"username": "olga", "password": "not-her-password"})
    assert bad.status_code == 401
    acts = [
        (e.operator, e.action, e.target) for e in sink.entries() if isinstance(e, OperatorAction)
    ]
    assert acts == [
        ("admin", "login", None),
        ("olga", "login", None),
        ("olga", "ack", aid),
        ("olga", "resolve", aid),
        ("olga", "login_failed", None),
    ]
    audit = c.get("/api/audit").json()
    assert [a["what"] for a in audit][-3:] == ["ack", "resolve", "login_failed"]


def test_journal_audit_appends_to_a_real_journal(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite://{tmp_path}/audit.sqlite")
    source = ScriptedSource(make_site(), now=NOW)
    app = create_app(
        ServiceSettings(), source, ManualClock(NOW), users=fast_users(), audit=JournalAudit(journal)
    )
    with TestClient(app) as c:
        login(c, "admin")
        assert c.delete("/api/zones/perimeter").status_code == 204
    recs = list(journal.records(kinds=["operator", "config"]))
    assert [type(r).__name__ for r in recs] == ["OperatorAction", "ConfigChange"]
    assert isinstance(recs[1], ConfigChange) and recs[1].key == "zones.perimeter"
    assert recs[1].old["properties"]["id"] == "perimeter" and recs[1].new is None
    assert journal.verify().ok
    journal.close()


def test_a_zone_edit_keeps_the_zones_policy(
    env: tuple[TestClient, ScriptedSource, MemoryAudit, FastAPI],
) -> None:
    """A site file's [zones.policy] is not in the GeoJSON the console edits: changing a
    zone's shape must not silently drop its warning settings."""
    import asyncio
    import dataclasses

    c, source, _, _ = env
    site = source.site
    zones = tuple(
        dataclasses.replace(z, policy=(("warning_s", 300.0),)) if z.id == "residence" else z
        for z in site.zones
    )
    asyncio.run(source.update_site(dataclasses.replace(site, zones=zones)))  # as the file had it
    r = c.put("/api/zones/residence", json=_feature("residence", radius_m=80, center_enu=[0, 0]))
    assert r.status_code == 200, r.text
    (z,) = [z for z in source.site.zones if z.id == "residence"]
    assert z.radius_m == 80 and z.policy == (("warning_s", 300.0),)
