"""ADS-B against a real peer: Debian's dump1090-mutability on loopback, fed the Beast capture.

dump1090 runs ``--net-only``; the test pushes ``sample_dump1090.bin`` into its Beast input
port, while skywarden's Beast and SBS clients read its Beast and SBS outputs. Reference:
dump1090's own SBS MSG,3 positions (5 decimals, so within 0.7 m of its internal value);
skywarden's Beast path (rs1090 fields + our CPR) must match within 1 m.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from adapters_helpers import MemoryIngest
from dump1090_helpers import DATA, ensure_dump1090, free_ports, running_dump1090
from skywarden.core.clock import ManualClock
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection
from skywarden.sensors.adsb_beast import split_frames
from skywarden.sensors.adsb_cpr import global_position
from skywarden.sensors.adsb_decode import AdsbDecoder
from skywarden.sensors.adsb_sbs import SbsDecoder
from skywarden.sensors.links.adsb_tcp import beast_session, sbs_session
from skywarden.sensors.links.health import SensorStats

ORIGIN = GeoOrigin(43.6, 1.4, 150.0)


@pytest.fixture(scope="module")
def dump1090() -> Iterator[tuple[int, int, int]]:
    if not DATA.is_dir():
        pytest.skip(f"shared data absent: {DATA}")
    why = ensure_dump1090()
    if why:
        pytest.skip(why)
    bi, bo, sbs = free_ports(3)
    with running_dump1090(sbs, bi=bi, bo=bo, sbs=sbs):
        yield bi, bo, sbs


async def _session(ports: tuple[int, int, int]) -> tuple[
    list[Detection], list[Detection], AdsbDecoder, SbsDecoder, MemoryIngest
]:  # fmt: skip
    bi, bo, sbs = ports
    clock = ManualClock(0.0)
    ingest = MemoryIngest()
    bdec, sdec = AdsbDecoder(ORIGIN, "adsb-beast"), SbsDecoder(ORIGIN, "adsb-sbs")
    bst = SensorStats("adsb-beast", "adsb_beast", f"127.0.0.1:{bo}", 0.0)
    sst = SensorStats("adsb-sbs", "adsb_sbs", f"127.0.0.1:{sbs}", 0.0)
    tasks = [
        asyncio.create_task(beast_session("127.0.0.1", bo, bdec, clock, ingest, bst)),
        asyncio.create_task(sbs_session("127.0.0.1", sbs, sdec, clock, ingest, sst)),
    ]
    await asyncio.sleep(0.5)  # both clients connected before the feed starts
    _, w = await asyncio.open_connection("127.0.0.1", bi)
    # garbage before the capture: dump1090 resyncs, and so must we on its output
    w.write(b"\x00\x01\x02garbage" + (DATA / "sample_dump1090.bin").read_bytes())
    await w.drain()

    def n(sensor: str) -> int:
        return sum(len(m.detections) for m in ingest.messages if m.sensor_id == sensor)

    for _ in range(100):
        await asyncio.sleep(0.05)
        if n("adsb-sbs") >= 2 and bdec.counters.get("accepted.positions") >= 2:
            break
    await asyncio.sleep(0.5)
    w.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    beast = [d for m in ingest.messages if m.sensor_id == "adsb-beast" for d in m.detections]
    sbs_dets = [d for m in ingest.messages if m.sensor_id == "adsb-sbs" for d in m.detections]
    return beast, sbs_dets, bdec, sdec, ingest


def _dist(a: Detection, b: Detection) -> float:
    return float(((a.z[:2] - b.z[:2]) ** 2).sum() ** 0.5)


def test_beast_and_sbs_from_dump1090_match_reference(dump1090: tuple[int, int, int]) -> None:
    beast, sbs, bdec, sdec, ingest = asyncio.run(_session(dump1090))
    assert bdec.counters.get("link.frames") >= 200, bdec.counters.snapshot()
    # every accepted message was journaled, as received: Beast frames re-split, SBS lines
    by_source = {m.source for m in ingest.messages}
    assert by_source == {"adsb-beast", "adsb-sbs"}
    beast_msgs = [m for m in ingest.messages if m.source == "adsb-beast"]
    assert len(beast_msgs) == sum(
        v for k, v in bdec.counters.snapshot().items() if k.startswith("accepted.df")
    )
    assert all(len(split_frames(m.payload).frames) == 1 for m in beast_msgs)
    assert all(m.payload.startswith(b"MSG,") for m in ingest.messages if m.source == "adsb-sbs")
    ref = [d for d in sbs if d.identity == "icao:48520a"]
    assert len(ref) >= 2, sdec.counters.snapshot()
    assert ref[0].attrs["lat_deg"] == pytest.approx(43.64421, abs=1e-5)
    assert ref[0].attrs["lon_deg"] == pytest.approx(1.23152, abs=1e-5)
    assert sdec.aircraft["48520a"].callsign == "TRA89M"
    mine = [d for d in beast if d.identity == "icao:48520a"]
    assert len(mine) >= len(ref)
    for r in ref:  # every dump1090 position is one of ours within 1 m
        best = min(_dist(r, m) for m in mine)
        assert best < 1.0, (r.attrs, best)
        assert r.z[2] == pytest.approx(38000 * 0.3048 - 150.0, abs=20.0)
    assert mine[-1].attrs.get("callsign") == "TRA89M"


def test_cpr_matches_rs1090_batch_decoder() -> None:
    """Cross-check our CPR against rs1090's own position decoder on the same capture."""
    if not DATA.is_dir():
        pytest.skip(f"shared data absent: {DATA}")
    import rs1090

    frames = [f for f in split_frames((DATA / "sample_dump1090.bin").read_bytes()).frames]
    msgs = [f.hex for f in frames]
    ts = [f.mlat_s for f in frames]
    theirs = [
        (m["latitude"], m["longitude"])
        for m in rs1090.decode(msgs, ts)
        if isinstance(m, dict) and m.get("latitude") is not None
    ]
    dec = AdsbDecoder(ORIGIN)
    ours = [
        (d.attrs["lat_deg"], d.attrs["lon_deg"]) for f in frames if (d := dec.feed(f.hex, f.mlat_s))
    ]
    assert theirs and len(ours) >= 2
    for lat, lon in theirs:
        assert any(abs(lat - a) < 1e-6 and abs(lon - b) < 1e-6 for a, b in ours), (lat, lon, ours)
    assert global_position((93000, 51372), (74158, 50194), False) == pytest.approx(
        (52.2572021484375, 3.91937255859375)
    )
