"""Operator actions through central's HTTP API, against a real nats-server: an acknowledge
(operator role) and a zone edit (admin role) are journaled on the site's raw stream as control
records before they are answered; a viewer is refused, an unknown alert or site is 404, a
zone table the site could not apply is 422 and journals nothing. That those records reach the
site's engine and replay after a take-over is tests/test_cluster_equivalence.py and
tests/test_cluster_site_engine.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import nats

from nats_helpers import require_nats_server, single_server
from skywarden.core.clock import WallClock
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.central import CentralPicture
from skywarden.runtime.cluster.feed import register_site
from skywarden.runtime.cluster.operator import CentralOps
from skywarden.runtime.cluster.topology import RAW_STREAM, TopologyConfig, ensure_topology
from skywarden.runtime.engine.pipeline import Pipeline
from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY, site_edit_payload
from skywarden.service.auth import build_security
from skywarden.service.cluster_api import cluster_app
from skywarden.service.settings import ServiceSettings
from skywarden.service.users import Role
from skywarden.sim import load_scenario, simulate
from skywarden.store.records import ConfigChange, OperatorAction


def test_acknowledge_and_zone_edit_are_journaled_with_roles(tmp_path: Path) -> None:
    require_nats_server()
    srv = single_server(tmp_path)
    run = simulate(load_scenario("residence"), 3)
    p = Pipeline(run.site)
    event = None
    for s in run.scans():
        f = p.step([s], s.t)
        if f.events:
            event = f.events[0]
            break
    assert event is not None
    picture = CentralPicture()
    picture.apply(
        "skywarden.site.north.alerts", codec.encode_alert(codec.alert_of("north", "w1", event, 1))
    )
    alert_id = event.alert.id
    sec = build_security(
        ServiceSettings(local_viewer=False), env={"SKYWARDEN_ADMIN_PASSWORD": "adm1n-passw0rd"}
    )
    sec.users.add("watch", "viewer-pw-1", Role.VIEWER)
    sec.users.add("ops", "operator-pw-1", Role.OPERATOR)

    async def main() -> None:
        nc = await nats.connect(srv.url)
        js = nc.jetstream()
        await ensure_topology(js, TopologyConfig())
        await register_site(js, "north", run.header)
        app = cluster_app(picture, None, sec, ops=CentralOps(js, WallClock().now, picture))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://central") as c:

            async def login(user: str, pw: str) -> dict[str, str]:
                r = await c.post("/api/auth/token", json={"username": user, "password": pw})
                assert r.status_code == 200, r.text
                return {"Authorization": f"Bearer {r.json()['token']}"}

            viewer = await login("watch", "viewer-pw-1")
            operator = await login("ops", "operator-pw-1")
            admin = await login("admin", "adm1n-passw0rd")
            ack = f"/api/cluster/sites/north/alerts/{alert_id}/acknowledge"
            r0 = await c.post(ack)
            assert r0.status_code == 401, r0.text
            assert (await c.post(ack, headers=viewer)).status_code == 403
            before = (await js.stream_info(RAW_STREAM)).state.messages
            r = await c.post(ack, headers=operator)
            assert r.status_code == 202, r.text
            stored = await js.get_msg(RAW_STREAM, r.json()["seq"])
            assert stored.subject == "skywarden.site.north.raw._ctl"
            rec = codec.decode_control(stored.data or b"")
            assert isinstance(rec, OperatorAction)
            assert (rec.operator, rec.action, rec.target) == ("ops", "acknowledge", alert_id)
            missing = "/api/cluster/sites/north/alerts/A999-x-1/acknowledge"
            assert (await c.post(missing, headers=operator)).status_code == 404
            bad_action = f"/api/cluster/sites/north/alerts/{alert_id}/delete"
            assert (await c.post(bad_action, headers=operator)).status_code == 422

            zones = site_edit_payload(run.site)
            zones["zones"] = zones["zones"][:1]
            put = "/api/cluster/sites/north/zones"
            assert (await c.put(put, json=zones, headers=operator)).status_code == 403
            r = await c.put(put, json=zones, headers=admin)
            assert r.status_code == 202, r.text
            stored = await js.get_msg(RAW_STREAM, r.json()["seq"])
            rec = codec.decode_control(stored.data or b"")
            assert isinstance(rec, ConfigChange) and rec.key == SITE_EDIT_KEY
            assert rec.actor == "admin" and [z["id"] for z in rec.new["zones"]] == [
                run.site.zones[0].id
            ]
            n = (await js.stream_info(RAW_STREAM)).state.messages
            broken = {"zones": [{"id": "z", "kind": "no-such-kind"}], "whitelist": []}
            assert (await c.put(put, json=broken, headers=admin)).status_code == 422
            other = "/api/cluster/sites/nowhere/zones"
            assert (await c.put(other, json=zones, headers=admin)).status_code == 404
            assert (await js.stream_info(RAW_STREAM)).state.messages == n == before + 2
        await nc.close()

    try:
        asyncio.run(main())
    finally:
        srv.stop()
