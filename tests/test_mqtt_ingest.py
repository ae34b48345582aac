"""MQTT JSON ingest against a real Mosquitto: journaled before PUBACK, redelivered when the
journal refused, malformed messages counted, and a published detection becomes a track at
``GET /api/tracks`` of the running service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters_helpers import MemoryIngest, wait_for
from live_helpers import running_service
from mqtt_helpers import Publisher, broker_port
from skywarden.core.clock import WallClock
from skywarden.core.site import parse_site
from skywarden.runtime.live.adapters import json_parser_for
from skywarden.sensors.links.health import SensorStats
from skywarden.sensors.links.mqtt import MqttJsonLink
from skywarden.store.records import RawMessage


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from broker_port(tmp_path_factory.mktemp("mosquitto"))


def _report(t: float, e: float, n: float, u: float = 80.0, sensor: str = "cam-1") -> bytes:
    det = {"enu": {"e": e, "n": n, "u": u}, "class": "drone", "class_conf": 0.7}
    return json.dumps({"sensor_id": sensor, "t": t, "detections": [det]}).encode()


SENSOR = {
    "id": "cam-1",
    "kind": "camera",
    "measures": "xyz",
    "position_enu_m": [0, 0, 5],
    "sigma": {"x_m": 4.0, "y_m": 4.0, "z_m": 6.0},
    "update_s": 0.5,
    "pd": 0.9,
}


def test_link_acks_only_after_the_journal_and_counts_bad_messages(broker: int) -> None:
    run = uuid.uuid4().hex[:8]
    topic = f"skywarden-test/{run}/cam-1"
    site = parse_site(
        {"name": f"mqtt-{run}", "origin": {"lat": 51.0, "lon": -1.0}, "sensors": [SENSOR]}
    )
    sensor = site.sensors[0]

    async def run_link() -> tuple[MemoryIngest, SensorStats]:
        ingest = MemoryIngest()
        ingest.fail = True  # the journal refuses at first: nothing may be acknowledged
        stats = SensorStats("cam-1", "mqtt_json", f"127.0.0.1:{broker}", 0.0)
        link = MqttJsonLink(
            "127.0.0.1", broker, topic, "cam-1", json_parser_for(sensor, site), WallClock(),
            ingest, stats, client_id=f"skywarden-test-{run}",
        )  # fmt: skip
        await link.start()
        try:
            await asyncio.wait_for(link.subscribed.wait(), 10)
            pub = Publisher(broker, f"pub-{run}")
            try:
                await asyncio.to_thread(pub.publish, topic, _report(1e9, 100.0, 200.0))
                await wait_for(lambda: stats.counters.get("journal_failed") >= 1, 10)
                ingest.fail = False  # the broker must deliver the unacknowledged message again
                await wait_for(lambda: len(ingest.messages) >= 1, 15)
                for payload in (b"{not json", _report(1e9, 1.0, 2.0, sensor="other"), b"[]"):
                    await asyncio.to_thread(pub.publish, topic, payload)
                await asyncio.to_thread(pub.publish, topic, _report(1e9 + 1, 110.0, 205.0))
                await wait_for(lambda: len(ingest.messages) >= 2, 10)
            finally:
                pub.close()
        finally:
            await link.stop()
        return ingest, stats

    ingest, stats = asyncio.run(run_link())
    first, second = ingest.messages[:2]
    assert first.payload == _report(1e9, 100.0, 200.0) and first.source == "json"
    assert second.payload == _report(1e9 + 1, 110.0, 205.0)
    assert first.detections[0].z.tolist() == [100.0, 200.0, 80.0]
    assert stats.counters.get("link.reconnects") >= 1
    rejected = dict(stats.snapshot(0.0).rejected)
    assert rejected == {"bad_json": 1, "sensor_mismatch": 1, "not_an_object": 1}


def test_published_detections_become_a_track(broker: int, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    topic = f"skywarden-test/{run}/cam-1"
    site_toml = f"""
name = "mqtt-live-{run}"
[origin]
lat = 51.0
lon = -1.0
[[sensors]]
id = "cam-1"
kind = "camera"
measures = "xyz"
position_enu_m = [0, 0, 5]
sigma = {{x_m = 4.0, y_m = 4.0, z_m = 6.0}}
update_s = 0.5
pd = 0.9
[sensors.link]
protocol = "mqtt_json"
host = "127.0.0.1"
port = {broker}
topic = "{topic}"
"""

    async def scenario() -> None:
        clock = WallClock()
        async with running_service(site_toml, tmp_path) as svc:
            (mq,) = svc.source.links.handles(MqttJsonLink)
            assert isinstance(mq, MqttJsonLink)
            await asyncio.wait_for(mq.subscribed.wait(), 10)
            pub = Publisher(broker, f"pub-{run}")
            sent = []
            try:
                for k in range(14):
                    sent.append(_report(clock.now(), 300.0 + 2.5 * k, 400.0 + 2.5 * k))
                    await asyncio.to_thread(pub.publish, topic, sent[-1])
                    if k == 4:
                        await asyncio.to_thread(pub.publish, topic, b'{"t": "soon"}')
                    await asyncio.sleep(0.25)
            finally:
                pub.close()
            tracks = await svc.poll(
                "/api/tracks?confirmed_only=true", lambda b: any("cam-1" in t["sensors"] for t in b)
            )
            (tr,) = [t for t in tracks if "cam-1" in t["sensors"]]
            assert abs(tr["enu"][0] - (300.0 + 2.5 * 13)) < 15 and abs(tr["enu"][1] - 432.5) < 15
            h = svc.source.sensor_health()["cam-1"]
            assert h.accepted == 14 and dict(h.rejected) == {"bad_value": 1}
            sensors = {s["id"]: s for s in (await svc.http.get("/api/sensors")).json()}
            assert sensors["cam-1"]["status"] == "ok" and sensors["cam-1"]["rate_hz"] > 0
        raws = [r for r in svc.journal.records(kinds=["raw"]) if isinstance(r, RawMessage)]
        svc.journal.close()
        assert [r.payload for r in raws] == sent and {r.format for r in raws} == {"json"}

    asyncio.run(scenario())
