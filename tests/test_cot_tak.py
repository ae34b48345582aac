"""CoT/TAK output: type codes, XML and protobuf builders, and a real TAK server (taky) relay.

The relay test starts ``taky`` (PyPI, in the ``dev`` extra) on a loopback port, connects a
second TAK client that announces itself, sends skywarden's events through
:class:`CotTcpSender` (pytak) and checks the second client receives them.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from skywarden.alerts.sinks.cot import (
    Affiliation,
    CotInfo,
    CotTcpSender,
    build_cot_protobuf,
    build_cot_xml,
    cot_type,
)
from skywarden.core.geo import GeoOrigin
from skywarden.core.track import TrackState, TrackStatus

ORIGIN = GeoOrigin(51.0, -1.0, 0.0)
TAKY = Path(sys.executable).parent / "taky"


def _track(tid: str = "T7", cls: str = "drone") -> TrackState:
    return TrackState(
        id=tid, t=1.7e9, x=np.array([100.0, 200.0, 50.0, 3.0, 4.0, 0.0]), P=np.eye(6) * 4,
        status=TrackStatus.CONFIRMED, class_probs={cls: 0.9, "bird": 0.1},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("cls", "aff", "expected"),
    [
        ("drone", Affiliation.HOSTILE, "a-h-A-M-H-Q"),
        ("drone_fixed_wing", Affiliation.SUSPECT, "a-s-A-M-F-Q"),
        ("aircraft", Affiliation.FRIEND, "a-f-A-C"),
        ("bird", Affiliation.NEUTRAL, "a-n-A"),
        ("unknown", Affiliation.UNKNOWN, "a-u-A"),
    ],
)
def test_cot_types(cls: str, aff: Affiliation, expected: str) -> None:
    assert cot_type(cls, aff) == expected


def test_xml_event_fields() -> None:
    ev = ET.fromstring(build_cot_xml(_track(), ORIGIN, CotInfo(Affiliation.HOSTILE, "high")))
    assert ev.get("type") == "a-h-A-M-H-Q" and ev.get("uid") == "skywarden.T7"
    assert ev.get("time") == "2023-11-14T22:13:20.000000Z"
    assert ev.get("stale") == "2023-11-14T22:13:30.000000Z"
    pt = ev.find("point")
    assert pt is not None
    lat, lon, _hae = ORIGIN.to_geodetic(100.0, 200.0, 50.0)
    assert float(pt.get("lat", "nan")) == pytest.approx(lat, abs=1e-7)
    assert float(pt.get("lon", "nan")) == pytest.approx(lon, abs=1e-7)
    trk = ev.find("detail/track")
    assert trk is not None and float(trk.get("speed", "0")) == pytest.approx(5.0)
    assert float(trk.get("course", "0")) == pytest.approx(36.9, abs=0.05)


def test_protobuf_roundtrip() -> None:
    import takproto  # type: ignore[import-untyped]

    msg = takproto.parse_proto(build_cot_protobuf(build_cot_xml(_track(), ORIGIN)))
    assert msg.cotEvent.type == "a-u-A-M-H-Q" and msg.cotEvent.uid == "skywarden.T7"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def taky_server(tmp_path: Path) -> Iterator[int]:
    if not TAKY.exists() and shutil.which("taky") is None:
        pytest.skip("taky is not installed (pip install -e '.[dev]')")
    port = _free_port()
    cfg = tmp_path / "taky.conf"
    cfg.write_text(
        f"[taky]\nhostname = localhost\nnode_id = TAKYTEST\nbind_ip = 127.0.0.1\n"
        f"root_dir = {tmp_path}\n[cot_server]\nport = {port}\n"
        f"[dp_server]\nupload_path = {tmp_path / 'dp'}\n[ssl]\nenabled = false\n",
        encoding="utf-8",
    )
    exe = str(TAKY) if TAKY.exists() else "taky"
    proc = subprocess.Popen(
        [exe, "-c", str(cfg), "-l", "info"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"taky exited: {out[-2000:]}")
                time.sleep(0.05)
        else:
            pytest.fail("taky did not listen")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_ANNOUNCE = (
    b'<event version="2.0" uid="watcher-1" type="a-f-G-U-C" how="h-e" '
    b'time="2023-11-14T22:13:20Z" start="2023-11-14T22:13:20Z" stale="2099-01-01T00:00:00Z">'
    b'<point lat="51" lon="-1" hae="0" ce="10" le="10"/>'
    b'<detail><contact callsign="WATCHER"/><__group name="Cyan" role="Team Member"/></detail>'
    b"</event>"
)


async def _relay(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_ANNOUNCE)
    await writer.drain()
    await asyncio.sleep(0.3)  # let taky register the watcher before traffic arrives
    sender = CotTcpSender(f"tcp://127.0.0.1:{port}")
    info = CotInfo(Affiliation.HOSTILE, "high")
    sender.put(build_cot_xml(_track("T7"), ORIGIN, info))
    sender.put(build_cot_xml(_track("T8", "drone_fixed_wing"), ORIGIN, info))
    await sender.run_once()
    await sender.run_once()
    got = b""
    try:
        while b"skywarden.T8" not in got or b"skywarden.T7" not in got:
            chunk = await asyncio.wait_for(reader.read(65536), timeout=15)
            if not chunk:
                break
            got += chunk
    finally:
        await sender.close()
        writer.close()
    return got


def test_taky_relays_skywarden_events_to_second_client(taky_server: int) -> None:
    got = asyncio.run(_relay(taky_server))
    assert b'uid="skywarden.T7"' in got and b'type="a-h-A-M-H-Q"' in got
    assert b'uid="skywarden.T8"' in got and b'type="a-h-A-M-F-Q"' in got
