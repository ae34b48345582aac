"""MQTT link with a password from the environment, TLS and client certificates, against a
Mosquitto the test configures (password file, ACL, certificates made by the test).

What must hold: skywarden logs in over mutual TLS and hears its sensor; anonymous clients
and other sensors' accounts cannot inject on that sensor's topic; a wrong password, a plain
connection to the TLS port, a broker certificate from another CA and a missing client
certificate are all refused (counted, never subscribed); a message on a topic other than
the sensor's (a stale persistent subscription) is refused as ``wrong_topic`` and counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters_helpers import MemoryIngest, wait_for
from mqtt_helpers import Publisher
from mqtt_secure_helpers import Pki, SecureBroker, secure_broker
from skywarden.core.clock import WallClock
from skywarden.core.errors import ConfigError
from skywarden.core.link_options import MqttSecurity
from skywarden.core.site import Site, parse_site
from skywarden.runtime.live.adapters import AdapterSet, json_parser_for
from skywarden.sensors.links.health import SensorStats
from skywarden.sensors.links.mqtt import MqttJsonLink

USERS = {"skywarden": "sky-pw-1", "cam-1": "cam1-pw", "cam-2": "cam2-pw"}
ACL = (
    "user skywarden\ntopic read site/#\n"
    "user cam-1\ntopic write site/cam-1\n"
    "user cam-2\ntopic write site/cam-2\n"
)
ENV = "SKYWARDEN_TEST_MQTT_PASSWORD"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path_factory.mktemp("mqtt-secure"), USERS, ACL) as b:
        yield b


def _report(t: float, e: float, sensor: str = "cam-1") -> bytes:
    det = {"enu": {"e": e, "n": 200.0, "u": 80.0}, "class": "drone", "class_conf": 0.7}
    return json.dumps({"sensor_id": sensor, "t": t, "detections": [det]}).encode()


def _sensor(port: int, **link: Any) -> dict[str, Any]:
    return {
        "id": "cam-1",
        "kind": "camera",
        "measures": "xyz",
        "position_enu_m": [0, 0, 5],
        "sigma": {"x_m": 4.0, "y_m": 4.0, "z_m": 6.0},
        "link": {"protocol": "mqtt_json", "host": "127.0.0.1", "port": port, **link},
    }


def test_mutual_tls_login_hears_its_sensor_and_nobody_else(
    broker: SecureBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, USERS["skywarden"])
    pki = broker.pki
    site = parse_site(
        {
            "name": f"mqtt-tls-{uuid.uuid4().hex[:6]}",
            "origin": {"lat": 51.0, "lon": -1.0},
            "sensors": [
                _sensor(
                    broker.tls_port,
                    topic="site/cam-1",
                    username="skywarden",
                    password_env=ENV,
                    ca_file=str(pki.ca),
                    cert_file=str(pki.client_cert),
                    key_file=str(pki.client_key),
                )
            ],
        }
    )

    async def scenario() -> tuple[MemoryIngest, dict[str, int], list[bool]]:
        ingest = MemoryIngest()
        links = AdapterSet(site, ingest, WallClock())
        await links.start()
        logins: list[bool] = []
        try:
            (mq,) = links.handles(MqttJsonLink)
            assert isinstance(mq, MqttJsonLink)
            await asyncio.wait_for(mq.subscribed.wait(), 15)
            run = uuid.uuid4().hex[:6]
            cam1 = Publisher(broker.plain_port, f"cam1-{run}", "cam-1", USERS["cam-1"])
            cam2 = Publisher(broker.plain_port, f"cam2-{run}", "cam-2", USERS["cam-2"])
            anon = Publisher(broker.plain_port, f"anon-{run}", None, None)
            liar = Publisher(broker.plain_port, f"liar-{run}", "cam-1", "guessed")
            try:
                logins = [await asyncio.to_thread(p.wait_connack) for p in (anon, liar)]
                # cam-2's account may not write on cam-1's topic: the broker drops it
                await asyncio.to_thread(cam2.publish, "site/cam-1", _report(1e9, 999.0))
                # cam-1 on its own topic, but naming another sensor: refused by skywarden
                await asyncio.to_thread(cam1.publish, "site/cam-1", _report(1e9, 5.0, "cam-2"))
                await asyncio.to_thread(cam1.publish, "site/cam-1", _report(1e9 + 1, 100.0))
                await wait_for(lambda: len(ingest.messages) >= 1, 10)
                await asyncio.sleep(0.3)  # anything the broker wrongly passed would be here now
            finally:
                for p in (cam1, cam2, anon, liar):
                    p.close()
        finally:
            await links.stop()
        return ingest, links.stats_by_sensor["cam-1"].counters.snapshot(), logins

    ingest, counters, logins = asyncio.run(scenario())
    assert logins == [False, False]  # anonymous and a wrong password: no session at all
    (msg,) = ingest.messages
    assert msg.payload == _report(1e9 + 1, 100.0) and msg.sensor_id == "cam-1"
    assert counters.get("rejected.sensor_mismatch") == 1
    assert "link.auth_refused" not in counters and "link.connect_failed" not in counters


def _site1(port: int) -> Site:
    origin = {"lat": 51.0, "lon": -1.0}
    return parse_site(
        {"name": "x", "origin": origin, "sensors": [_sensor(port, topic="site/cam-1")]}
    )


def _mutual(pki: Pki) -> MqttSecurity:
    return MqttSecurity(
        "skywarden", ENV, True, str(pki.ca), str(pki.client_cert), str(pki.client_key)
    )


def _link(broker: SecureBroker, port: int, security: MqttSecurity, env: dict[str, str]) -> Any:
    site = _site1(port)
    stats = SensorStats("cam-1", "mqtt_json", f"127.0.0.1:{port}", 0.0)
    link = MqttJsonLink(
        "127.0.0.1", port, "site/cam-1", "cam-1", json_parser_for(site.sensors[0], site),
        WallClock(), MemoryIngest(), stats, client_id=f"sw-{uuid.uuid4().hex[:8]}",
        security=security, environ=env,
    )  # fmt: skip
    return link, stats


@pytest.mark.parametrize(
    "case", ["wrong_password", "no_tls_on_tls_port", "wrong_ca", "no_client_cert", "no_login"]
)
def test_refused_connections_never_subscribe_and_are_counted(
    broker: SecureBroker, case: str
) -> None:
    pki = broker.pki
    good = _mutual(pki)
    env = {ENV: USERS["skywarden"]}
    port = broker.tls_port
    expect = "link.connect_failed"
    if case == "wrong_password":
        env = {ENV: "not-the-password"}
        expect = "link.auth_refused"
    elif case == "no_tls_on_tls_port":
        good = replace(good, tls=False, ca_file=None, cert_file=None, key_file=None)
    elif case == "wrong_ca":
        good = replace(good, ca_file=str(pki.rogue_ca))
    elif case == "no_client_cert":
        good = replace(good, cert_file=None, key_file=None)
    elif case == "no_login":  # valid TLS and certificate, but no user name
        good = replace(good, username=None, password_env=None)
        expect = "link.auth_refused"
    link, stats = _link(broker, port, good, env)

    async def scenario() -> None:
        await link.start()
        try:
            await wait_for(lambda: stats.counters.get(expect) >= 1, 15)
            assert not link.subscribed.is_set()
        finally:
            await link.stop()

    asyncio.run(scenario())
    assert stats.state in ("disconnected", "stopped")


def test_missing_password_variable_or_files_fail_at_start(broker: SecureBroker) -> None:
    pki = broker.pki
    sec = MqttSecurity("skywarden", ENV, True, str(pki.ca))
    link, _ = _link(broker, broker.tls_port, sec, {})
    with pytest.raises(ConfigError, match=f"{ENV} is not set"):
        asyncio.run(link.start())
    link, _ = _link(
        broker, broker.tls_port, replace(sec, ca_file="/nonexistent/ca.pem"), {ENV: "x"}
    )
    with pytest.raises(ConfigError, match="cannot load"):
        asyncio.run(link.start())


def test_stale_subscription_of_another_topic_is_refused(broker: SecureBroker) -> None:
    """Persistent session: an older configuration's topic still delivers; it is refused."""
    pki = broker.pki
    sec = _mutual(pki)
    env = {ENV: USERS["skywarden"]}
    cid = f"sw-stale-{uuid.uuid4().hex[:8]}"
    site = _site1(1883)
    parse = json_parser_for(site.sensors[0], site)

    def make(topic: str) -> tuple[MqttJsonLink, SensorStats, MemoryIngest]:
        stats = SensorStats("cam-1", "mqtt_json", "x", 0.0)
        ingest = MemoryIngest()
        link = MqttJsonLink(
            "127.0.0.1", broker.tls_port, topic, "cam-1", parse, WallClock(), ingest, stats,
            client_id=cid, security=sec, environ=env,
        )  # fmt: skip
        return link, stats, ingest

    async def scenario() -> tuple[SensorStats, MemoryIngest]:
        old, _, _ = make("site/cam-2")  # yesterday this client id listened to cam-2's topic
        await old.start()
        await asyncio.wait_for(old.subscribed.wait(), 15)
        await old.stop()
        new, stats, ingest = make("site/cam-1")
        await new.start()
        pub2 = Publisher(broker.plain_port, f"p2-{cid}", "cam-2", USERS["cam-2"])
        pub1 = Publisher(broker.plain_port, f"p1-{cid}", "cam-1", USERS["cam-1"])
        try:
            await asyncio.wait_for(new.subscribed.wait(), 15)
            await asyncio.to_thread(pub2.publish, "site/cam-2", _report(1e9, 1.0))
            await asyncio.to_thread(pub1.publish, "site/cam-1", _report(1e9, 2.0))
            await wait_for(lambda: len(ingest.messages) >= 1, 10)
            await wait_for(lambda: stats.counters.get("rejected.wrong_topic") >= 1, 10)
            # the stale subscription was dropped: cam-2's next message does not arrive
            await asyncio.to_thread(pub2.publish, "site/cam-2", _report(1e9, 3.0))
            await asyncio.to_thread(pub1.publish, "site/cam-1", _report(1e9, 4.0))
            await wait_for(lambda: len(ingest.messages) >= 2, 10)
        finally:
            pub1.close()
            pub2.close()
            await new.stop()
        return stats, ingest

    stats, ingest = asyncio.run(scenario())
    assert [m.payload for m in ingest.messages] == [_report(1e9, 2.0), _report(1e9, 4.0)]
    assert stats.counters.get("rejected.wrong_topic") == 1


def test_topic_rule_on_the_handle_step() -> None:
    site = _site1(1883)
    stats = SensorStats("cam-1", "mqtt_json", "x", 0.0)
    link = MqttJsonLink(
        "127.0.0.1", 1, "site/cam-1", "cam-1", json_parser_for(site.sensors[0], site),
        WallClock(), MemoryIngest(), stats,
    )  # fmt: skip
    assert link.handle(_report(1e9, 1.0), 1e9, "site/cam-1") is not None
    assert link.handle(_report(1e9, 1.0), 1e9, "site/cam-9") is None
    assert link.handle(_report(1e9, 1.0, "cam-2"), 1e9, "site/cam-1") is None
    assert dict(stats.snapshot(1e9).rejected) == {"wrong_topic": 1, "sensor_mismatch": 1}


def test_skywarden_run_stops_with_the_variable_name_when_the_password_is_unset(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        'name = "mqtt-env"\n[origin]\nlat = 51.0\nlon = -1.0\n'
        '[[sensors]]\nid = "cam-1"\nkind = "camera"\nmeasures = "xyz"\n'
        "position_enu_m = [0, 0, 5]\nsigma = {x_m = 4.0, y_m = 4.0, z_m = 6.0}\n"
        '[sensors.link]\nprotocol = "mqtt_json"\nhost = "127.0.0.1"\ntopic = "site/cam-1"\n'
        f'username = "skywarden"\npassword_env = "{ENV}_UNSET"\n'
    )
    env = {k: v for k, v in os.environ.items() if k != f"{ENV}_UNSET"}
    exe = Path(sys.executable).with_name("skywarden")
    r = subprocess.run(
        [str(exe), "run", "--site", str(site), "--port", "0",
         "--journal", str(tmp_path / "j.sqlite")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert f"{ENV}_UNSET is not set" in r.stderr and "Traceback" not in r.stderr
