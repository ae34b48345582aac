"""The map's API (issue 20): launch estimates in ``/api/tracks``, bearing lines in the picture,
raster tiles from an MBTiles file, per-sensor health of an HTTP sensor after it posts, the
resolve reason, and the household endpoint with its own token."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from map_helpers import make_dem_mbtiles, make_mbtiles, map_site, scene_picture
from service_helpers import bearer, fast_users, login
from skywarden.alerts.wording import compass
from skywarden.core.bearing import bearing_hits
from skywarden.core.clock import ManualClock
from skywarden.core.errors import ConfigError
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.runtime.engine.pipeline import Pipeline
from skywarden.runtime.live.ingest import JournalingIngest
from skywarden.sensors.skybench import Scan
from skywarden.service.app import create_app
from skywarden.service.audit import MemoryAudit
from skywarden.service.household import household_view
from skywarden.service.sessions import SensorTokens
from skywarden.service.settings import ServiceSettings
from skywarden.service.tiles import MBTiles
from skywarden.store.journal import open_journal
from support.scripted import ScriptedSource

T0 = 1_700_000_100.0
HOUSEHOLD = "house-token-abc"


def _client(
    basemap: Path | None = None, ingest: object = None, clock: ManualClock | None = None
) -> tuple[TestClient, ScriptedSource, MemoryAudit]:
    src = ScriptedSource(map_site(), now=T0)
    src.push(scene_picture(src.site, t=T0))
    tokens = SensorTokens()
    tokens.set("http-1", "http-1-sensor-token-0123456789")
    audit = MemoryAudit()
    settings = ServiceSettings(basemap=str(basemap) if basemap else None, household_token=HOUSEHOLD)
    app = create_app(
        settings,
        src,
        clock=clock,
        users=fast_users(),
        sensor_tokens=tokens,
        audit=audit,
        ingest=ingest,  # type: ignore[arg-type]
    )
    return TestClient(app), src, audit


def _token(client: TestClient, name: str) -> str:
    return bearer(client, name)["Authorization"].split()[1]


def test_tracks_carry_the_launch_estimate_with_its_ellipse_and_the_operator() -> None:
    client, _, _ = _client()
    with client:
        login(client, "victor")
        tracks = {t["id"]: t for t in client.get("/api/tracks").json()}
    h1 = tracks["H1"]["launch"]
    assert h1["method"] == "ground"
    # climbing at 2 m/s, at 60 m AGL now: 30 s of flight back along the velocity (6, -7, 2)
    e, n = h1["enu_m"]
    assert e == pytest.approx(-260 - 6 * 30, abs=1.0)
    assert n == pytest.approx(300 + 7 * 30, abs=1.0)
    el = h1["ellipse"]
    assert el["confidence"] == 0.95 and el["semi_major_m"] > el["semi_minor_m"] > 0
    # the major axis lies along the flight path (course 139 deg: axis 139 or its opposite)
    assert abs(((el["orientation_deg"] - 139.4) + 90) % 180 - 90) < 5
    assert h1["operator_enu_m"] == [-620.0, 540.0, 1.5]
    assert h1["operator_position"]["lat"] > h1["position"]["lat"] - 1  # a geodetic point
    assert tracks["F1"]["launch"] is None  # friendly, not a warning: no estimate
    assert tracks["B1"]["launch"] is None


def test_the_picture_carries_bearing_lines() -> None:
    client, _, _ = _client()
    with client:
        login(client, "victor")
        with client.websocket_connect("/ws/picture") as ws:
            msg = ws.receive_json()
    b = {(x["sensor_id"], x["track_id"]): x for x in msg["bearings"]}
    assert b[("rf-1", None)]["azimuth_deg"] == pytest.approx(310.0)
    assert b[("rf-1", None)]["sigma_deg"] == pytest.approx(math.degrees(0.05), abs=0.01)
    assert b[("acoustic-1", None)]["azimuth_deg"] == pytest.approx(205.0)
    assert ("rf-1", "H1") in b


def test_the_pipeline_reports_bearing_only_detections_with_their_track() -> None:
    site = map_site()
    pipe = Pipeline(site)
    rf = site.sensor("rf-1")
    dets = tuple(
        Detection(
            t=10.0,
            sensor_id="rf-1",
            kind=MeasurementKind.AZ,
            z=np.array([az]),
            R=np.array([[0.05**2]]),
            sensor_pos=np.asarray(rf.position_enu, float),
            class_hint="drone",
        )
        for az in (math.radians(45.0), math.radians(300.0))
    )
    frame = pipe.step([Scan(10.0, "rf-1", dets)], 10.0)
    assert [round(math.degrees(h.azimuth_rad)) for h in frame.bearings] == [45, 300]
    assert all(h.track_id is None for h in frame.bearings)  # no track: lines, not points
    assert frame.bearings[0].sensor_enu == (0.0, 4.0, 6.0)
    assert frame.bearings[0].sigma_rad == pytest.approx(0.05)
    radar_only = pipe.step([Scan(11.0, "radar-1", ())], 11.0)
    assert radar_only.bearings == ()
    # matched by identity to the tracker's assignments
    assert bearing_hits(dets, [("7", dets[1], 0)])[1].track_id == "7"


def test_tiles_come_from_the_mbtiles_file_with_the_row_flipped(tmp_path: Path) -> None:
    path = tmp_path / "b.mbtiles"
    make_mbtiles(path, zooms=range(14, 16), radius_m=1500.0)
    db = sqlite3.connect(path)
    z, x, row, data = db.execute("SELECT * FROM tiles WHERE zoom_level=15 LIMIT 1").fetchone()
    db.close()
    client, _, _ = _client(path)
    with client:
        login(client, "victor")
        info = client.get("/api/basemap").json()
        assert info["available"] and (info["minzoom"], info["maxzoom"]) == (14, 15)
        assert info["format"] == "png" and info["url"] == "/api/tiles/{z}/{x}/{y}"
        r = client.get(f"/api/tiles/{z}/{x}/{2**z - 1 - row}")  # XYZ row = TMS flipped
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content == bytes(data)
        assert client.get(f"/api/tiles/{z}/{x}/{row + 5000}").status_code == 204
        assert client.get("/api/tiles/3/0/0").status_code == 204
        stats = client.get("/api/stats").json()["counters"]
        assert stats["tiles.served"] == 1 and stats["tiles.missing"] == 2
    plain, _, _ = _client(None)
    with plain:
        login(plain, "victor")
        assert plain.get("/api/basemap").json()["available"] is False
        assert plain.get("/api/tiles/15/0/0").status_code == 404


def test_the_dem_is_served_and_announced_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "dem.mbtiles"
    make_dem_mbtiles(path, zooms=range(14, 15), radius_m=800.0)
    db = sqlite3.connect(path)
    z, x, row, data = db.execute("SELECT * FROM tiles LIMIT 1").fetchone()
    db.close()
    src = ScriptedSource(map_site(), now=T0)
    app = create_app(ServiceSettings(dem=str(path)), src, users=fast_users())
    with TestClient(app) as client:
        login(client, "victor")
        info = client.get("/api/basemap").json()
        assert info["available"] is False  # a DEM alone: shading over the grid
        assert info["dem"] == {
            "url": "/api/dem/{z}/{x}/{y}", "encoding": "mapbox", "minzoom": 14, "maxzoom": 14,
        }  # fmt: skip
        r = client.get(f"/api/dem/{z}/{x}/{2**z - 1 - row}")
        assert r.status_code == 200 and r.content == bytes(data)
        assert client.get("/api/tiles/14/0/0").status_code == 404  # no basemap
    db = sqlite3.connect(path)
    db.execute("UPDATE metadata SET value='lerc' WHERE name='name'")
    db.execute("INSERT INTO metadata VALUES ('encoding', 'lerc')")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="unknown terrain encoding"):
        MBTiles(path, "dem")


def test_a_vector_or_broken_mbtiles_is_refused_with_the_reason(tmp_path: Path) -> None:
    vec = tmp_path / "v.mbtiles"
    db = sqlite3.connect(vec)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level, tile_column, tile_row, tile_data)")
    db.execute("INSERT INTO metadata VALUES ('format', 'pbf')")
    db.execute("INSERT INTO tiles VALUES (1, 0, 0, x'00')")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="not a raster format"):
        MBTiles(vec)
    junk = tmp_path / "junk.mbtiles"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ConfigError, match="not an MBTiles file"):
        MBTiles(junk)
    with pytest.raises(ConfigError, match="not a file"):
        MBTiles(tmp_path / "missing.mbtiles")


def test_an_http_sensor_shows_last_report_rate_and_rejects(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite://{tmp_path}/j.sqlite")
    ingest = JournalingIngest(journal)
    clock = ManualClock(T0)
    client, _, _ = _client(ingest=ingest, clock=clock)
    auth = {"Authorization": "Bearer http-1-sensor-token-0123456789"}
    with client:
        client.portal.call(ingest.start)  # type: ignore[union-attr]
        viewer = {"Authorization": "Bearer " + _token(client, "victor")}
        before = {s["id"]: s for s in client.get("/api/sensors", headers=viewer).json()}["http-1"]
        assert before["status"] == "unknown" and before["last_report_t"] is None
        for k in range(6):
            clock.advance(0.5)
            body = {"t": T0 + k, "detections": [{"enu": {"e": 100.0 + k, "n": 50.0, "u": 30.0}}]}
            assert client.post("/api/ingest/http-1", json=body, headers=auth).status_code == 202
        bad = client.post("/api/ingest/http-1", content=b"{oops", headers=auth)
        assert bad.status_code == 400
        s = {x["id"]: x for x in client.get("/api/sensors", headers=viewer).json()}["http-1"]
        client.portal.call(ingest.stop)  # type: ignore[union-attr]
    journal.close()
    assert s["status"] == "ok"
    assert s["last_report_t"] == pytest.approx(T0 + 3.0)
    assert s["age_s"] == pytest.approx(0.0)
    assert s["rate_hz"] == pytest.approx(6 / 3.0)  # six posts over the three seconds up
    assert s["rejected"] == {"bad_json": 1}
    assert s["detail"]["accepted"] == 6 and s["detail"]["protocol"] == "http-json"


def test_resolve_with_a_reason_is_audited_and_a_bad_reason_refused() -> None:
    client, _, audit = _client()
    with client:
        login(client, "olga")
        bad = client.post("/api/alerts/AH1-house-1/resolve", json={"reason": "because"})
        assert bad.status_code == 422
        r = client.post("/api/alerts/AH1-house-1/resolve", json={"reason": "false_alarm_bird"})
        assert r.status_code == 200 and r.json()["state"] == "resolved"
    why = [e for e in audit.entries() if getattr(e, "action", "") == "resolve_reason"]
    assert len(why) == 1
    assert why[0].target == "AH1-house-1" and why[0].operator == "olga"
    assert why[0].detail == {"reason": "false_alarm_bird", "note": None}


def test_household_needs_its_token_and_says_what_where_when() -> None:
    client, _, _ = _client()
    with client:
        assert client.get("/api/household").status_code == 401
        assert client.get("/api/household", headers={"X-Household-Token": "x"}).status_code == 401
        r = client.get("/api/household", headers={"X-Household-Token": HOUSEHOLD})
        assert r.status_code == 200
        h = r.json()
        assert client.get("/api/household/link").status_code == 401  # admins only
        login(client, "admin")
        link = client.get("/api/household/link").json()
        counters = client.get("/api/stats").json()["counters"]
    assert h["level"] == "alert" and h["track_id"] == "H1" and h["direction"] == "north-west"
    assert h["distance_m"] == pytest.approx(math.hypot(260, 300), abs=0.5)
    assert h["message"] == "drone, 400 m north-west, about 26 s: take shelter"
    assert h["others"] == 1  # X1, a warning, is not described
    assert h["picture_age_s"] is not None and h["picture_age_s"] >= 0
    assert link["path"] == f"/household.html#token={HOUSEHOLD}"
    assert counters["household.rejected.bad_token"] == 2


def test_household_clear_and_compass() -> None:
    assert household_view(None).level == "clear"
    site = map_site()
    pic = scene_picture(site)
    calm = type(pic)(seq=2, t=pic.t, wall_t=pic.wall_t, tracks=pic.tracks, assessments={})
    assert household_view(calm).message == "No drone threat now."
    assert [compass(b) for b in (0, 22, 23, 90, 180, 270, 315, 338, 359)] == [
        "north", "north", "north-east", "east", "south", "west", "north-west", "north",
        "north",
    ]  # fmt: skip


def test_the_simulated_sites_sensors_report_health_not_unknown(tmp_path: Path) -> None:
    """Every sensor the journal delivered a message of has a last report and a rate (the
    header said "sensors: 7 unknown" for the built-in simulation before); every confirmed
    drone track of the live runtime carries its launch estimate, not only warnings."""
    from skywarden.core.clock import WallClock
    from skywarden.runtime.live.feeds import simulated_feed
    from skywarden.runtime.live.source import LiveSource

    journal = open_journal(str(tmp_path / "j.sqlite"))
    feed = simulated_feed(seed=1)
    source = LiveSource(feed, WallClock(), journal, speed=8.0, tick_s=0.2)
    settings = ServiceSettings(admin_user="tester", admin_password="tester-password")
    with TestClient(create_app(settings, source)) as client:
        r = client.post(
            "/api/auth/login", json={"username": "tester", "password": "tester-password"}
        )
        assert r.status_code == 200
        end = time.monotonic() + 60
        rows: list[dict[str, object]] = []
        while time.monotonic() < end:
            rows = client.get("/api/sensors").json()
            if rows and all(s["status"] == "ok" for s in rows):
                break
            time.sleep(0.2)
        drones: list[dict[str, Any]] = []
        while time.monotonic() < end and not drones:
            tracks = client.get("/api/tracks?confirmed_only=true").json()
            drones = [t for t in tracks if t["object_class"].startswith("drone")]
            time.sleep(0.2)
    journal.close()
    assert drones and all(t["launch"] is not None for t in drones)
    assert all(t["launch"]["ellipse"]["confidence"] == 0.95 for t in drones)
    assert {s["id"] for s in rows} == {s.id for s in feed.site.sensors}
    for s in rows:
        assert s["status"] == "ok", s
        assert isinstance(s["last_report_t"], float) and s["rate_hz"] > 0
        assert s["detail"]["accepted"] >= 1


def test_skywarden_run_serves_the_basemap_and_dem_and_refuses_a_bad_file(tmp_path: Path) -> None:
    """The command line path: ``skywarden run --basemap FILE --dem FILE``."""
    from test_live_run import _get, _interrupt, _start, _wait_for

    streets, dem = tmp_path / "s.mbtiles", tmp_path / "d.mbtiles"
    make_mbtiles(streets, zooms=range(14, 15), radius_m=500.0)
    make_dem_mbtiles(dem, zooms=range(14, 15), radius_m=500.0)
    proc, port = _start("--basemap", str(streets), "--dem", str(dem))
    try:
        info = _wait_for(port, "/api/basemap", proc, 30.0, lambda b: b.get("available"))
        assert info["name"] == "test streets" and info["dem"]["encoding"] == "mapbox"
        assert _get(port, "/api/health")["status"] in ("ok", "starting")
    finally:
        _interrupt(proc)
    bad = tmp_path / "bad.mbtiles"
    bad.write_bytes(b"x" * 2000)
    proc, _ = _start("--basemap", str(bad))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "not an MBTiles file" in out


def test_a_rounds_origin_is_the_one_launch_object_and_the_skybench_fields_are_not_repeated() -> (
    None
):
    """The API carries a launch once: ``launch`` (a drone's estimate, or a ballistic round's
    point of origin with method 'ballistic'), never also ``launch_enu_m``/``launch_ellipse_m``
    (the tracks.jsonl form of the same estimate)."""
    from skywarden.core.geo import GeoOrigin
    from skywarden.core.track import TrackState, TrackStatus
    from skywarden.service.convert import track_out

    tr = TrackState(
        "R1", 10.0, np.array([-900.0, 300.0, 700.0, 150.0, -40.0, -20.0]), np.eye(6) * 25.0,
        TrackStatus.CONFIRMED, class_probs={"rocket": 1.0}, first_t=5.0,
    )  # fmt: skip
    ground = {
        "impact_enu_m": [120.0, -30.0],
        "impact_t": 19.5,
        "impact_ellipse_m": [55.0, 20.0, 75.0],
        "launch_enu_m": [-3200.0, 660.0],
        "launch_ellipse_m": [90.0, 40.0, 100.0],
    }
    out = track_out(tr, None, GeoOrigin(33.3128, 44.3615, 34.0), ground=ground).model_dump()
    assert "launch_enu_m" not in out and "launch_ellipse_m" not in out
    assert out["impact_enu_m"] == [120.0, -30.0] and out["impact_t"] == 19.5
    lp = out["launch"]
    assert lp["method"] == "ballistic" and lp["enu_m"] == [-3200.0, 660.0]
    assert lp["ellipse"]["semi_major_m"] == 90.0 and lp["ellipse"]["orientation_deg"] == 100.0
    assert lp["origin_t"] is None and lp["position"]["lat"] > 33.3
