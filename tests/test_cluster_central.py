"""The central picture without a server: frames, alerts and health applied, filtered by site
and region, bad messages counted; and its read-only HTTP view."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.central import CentralPicture
from skywarden.runtime.engine.pipeline import Pipeline
from skywarden.service.cluster_api import cluster_app
from skywarden.sim import load_scenario, simulate


def _picture() -> CentralPicture:
    run = simulate(load_scenario("residence"), 2)
    p = Pipeline(run.site)
    frames, events = [], []
    nxt = 1.0
    batch = []
    for s in run.scans():
        if s.t > 120:
            break
        if s.t >= nxt:
            f = p.step(batch, nxt)
            frames.append(f)
            events += f.events
            batch, nxt = [], nxt + 1.0
        batch.append(s)
    assert events, "the residence raises alerts before 120 s"
    clock = iter(float(x) for x in range(1000, 10_000))
    pic = CentralPicture(wall=lambda: next(clock))
    for i, f in enumerate(frames):
        pic.apply(
            "skywarden.site.north.tracks",
            codec.encode_frame("north", "w1", f, [(i + 1, 999.0)], 0.0),
        )
    pic.apply("skywarden.edge.south.tracks", codec.encode_frame("south", "edge", frames[-1], [], 0))
    for e in events:
        pic.apply(
            "skywarden.site.north.alerts", codec.encode_alert(codec.alert_of("north", "w1", e, 1))
        )
    pic.apply("skywarden.site.north.health", codec.encode_health("north", "w1", 5.0, {"lag": 0}))
    pic.apply("skywarden.site.north.tracks", b"{bad")
    pic.apply("elsewhere.x", b"{}")
    pic.site("north").region = "east"
    pic.site("south").region = "west"
    return pic


def test_picture_aggregates_and_filters() -> None:
    pic = _picture()
    v = pic.view()
    assert [s["site"] for s in v["sites"]] == ["north", "south"]
    north = pic.view(site="north")["sites"][0]
    assert north["tracks"] and north["frames"] == pic.site("north").frames > 100
    assert north["health"]["lag"] == 0 and north["worker"] == "w1"
    assert all(a["state"] != "resolved" for a in north["alerts"])
    assert [s["site"] for s in pic.view(region="west")["sites"]] == ["south"]
    assert v["counters"]["rejected.cluster_json"] == 1
    assert v["counters"]["rejected.subject"] == 1
    assert len(pic.latencies) == north["reports"] and min(pic.latencies) >= 1000 - 999


def test_http_view() -> None:
    pic = _picture()
    c = TestClient(cluster_app(pic))
    sites = c.get("/api/cluster/sites").json()
    assert {s["site"] for s in sites} == {"north", "south"}
    assert c.get("/api/cluster/sites", params={"region": "east"}).json()[0]["site"] == "north"
    body = c.get("/api/cluster/picture", params={"site": "south"}).json()
    assert [s["site"] for s in body["sites"]] == ["south"]
    assert json.dumps(body)  # JSON all the way down


def test_http_needs_a_login_with_the_site_services_roles() -> None:
    from skywarden.runtime.cluster.metrics import exposition
    from skywarden.service.auth import build_security
    from skywarden.service.settings import ServiceSettings
    from skywarden.service.users import Role

    pic = _picture()
    pic.workers["w1"] = (
        pic.monotonic() - 2.0,
        {"sites": 3, "counters": {"claimed": 4, "lease_lost": 0}, "takeover_s_last": 1.5},
    )
    sec = build_security(
        ServiceSettings(local_viewer=False), env={"SKYWARDEN_ADMIN_PASSWORD": "adm1n-passw0rd"}
    )
    sec.users.add("watch", "viewer-pw-1", Role.VIEWER)
    c = TestClient(cluster_app(pic, lambda: exposition(pic), sec))
    for path in ("/api/cluster/sites", "/api/cluster/picture", "/metrics"):
        assert c.get(path).status_code == 401, path
    assert c.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.post("/api/auth/token", json={"username": "watch", "password": "x"}).status_code == 401
    r = c.post("/api/auth/token", json={"username": "watch", "password": "viewer-pw-1"})
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    assert {s["site"] for s in c.get("/api/cluster/sites", headers=auth).json()} == {
        "north",
        "south",
    }
    text = c.get("/metrics", headers=auth).text
    lines = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    north = pic.site("north")
    assert float(lines['skywarden_site_frames_total{site="north"}']) == north.frames
    assert float(lines['skywarden_worker_sites{worker="w1"}']) == 3.0
    assert float(lines['skywarden_worker_events_total{worker="w1",event="claimed"}']) == 4.0
    assert float(lines['skywarden_worker_takeover_seconds{worker="w1"}']) == 1.5
    assert 2.0 <= float(lines['skywarden_worker_heartbeat_age_seconds{worker="w1"}']) < 60
    age = [k for k in lines if k.startswith('skywarden_site_frame_age_seconds{site="north"')]
    assert age and 0.0 <= float(lines[age[0]]) < 60
    assert "# TYPE skywarden_report_latency_seconds summary" in text


def test_live_copies_move_the_picture_forward_only_and_count_nothing() -> None:
    """Frames and alerts as published (the core subscription) update the picture while the
    stream consumer is being re-created; the stored copies count and journal, once; neither
    path takes the picture back to an older frame or an older alert transition."""
    run = simulate(load_scenario("residence"), 2)
    p = Pipeline(run.site)
    frames, events = [], []
    for s in run.scans():
        f = p.step([s], s.t)
        frames.append(f)
        events += f.events
        if len(events) >= 2 and len(frames) > 30:
            break
    pic = CentralPicture()
    subj = "skywarden.site.north.tracks"
    enc = [
        codec.encode_frame("north", "w1", f, [(10 * i + 1, 0.0)], 0.0) for i, f in enumerate(frames)
    ]
    assert pic.apply(subj, enc[5], live=True)
    assert pic.site("north").frame.covers_to == 51  # type: ignore[union-attr]
    assert pic.site("north").frames == 0 and pic.counters.get("frames") == 0
    assert not pic.apply(subj, enc[4], live=True)  # older: ignored
    for e in enc[:6]:  # the consumer catches up: counted, but the picture does not go back
        pic.apply(subj, e)
        assert pic.site("north").frame.covers_to == 51  # type: ignore[union-attr]
    assert pic.site("north").frames == 6 and pic.site("north").reports == 6
    assert pic.apply(subj, enc[6]) and pic.site("north").frame.covers_to == 61  # type: ignore[union-attr]
    ev = events[0]
    first = codec.encode_alert(codec.alert_of("north", "w1", ev, 1, 1))
    second = codec.encode_alert(codec.alert_of("north", "w1", ev, 2, 2))
    asubj = "skywarden.site.north.alerts"
    assert pic.apply(asubj, second, live=True)
    assert not pic.apply(asubj, first)  # the stored older transition: counted, not shown
    assert pic.site("north").alerts[ev.alert.id].n == 2 and pic.counters.get("alerts") == 1
