"""ADS-B into the running service: dump1090-mutability ``--net-only`` serves the shared Beast
capture, the site's ``adsb_beast`` link (a reconnecting TCP client) feeds the live runtime, and
the aircraft appears at ``GET /api/tracks`` with its ICAO identity and callsign-bearing
journal records.

The capture is pushed into dump1090 in real time, paced by its own MLAT timestamps, from
35 s (just before the first even/odd CPR pair) to 44 s: the tracker must see positions at the
aircraft's real spacing (played faster, a 200 m/s airliner would look like an 800 m/s one).
The capture holds three positions of one aircraft (48520a), so the track lives only a few
seconds after the last one; the test polls while the capture plays.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from live_helpers import running_service
from skywarden.sensors.adsb_beast import encode_frame, split_frames
from skywarden.store.records import RawMessage
from test_adsb_dump1090 import DATA, dump1090  # noqa: F401  (the real dump1090 fixture)

FROM_S, TO_S = 35.0, 44.0


async def _play_capture(port: int) -> int:
    frames = split_frames((DATA / "sample_dump1090.bin").read_bytes()).frames
    frames = [f for f in frames if FROM_S <= f.mlat_s <= TO_S]
    _, w = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    t0, start = frames[0].mlat_s, loop.time()
    for f in frames:
        delay = (f.mlat_s - t0) - (loop.time() - start)
        if delay > 0:
            await w.drain()
            await asyncio.sleep(delay)
        w.write(encode_frame(f))
    await w.drain()
    w.close()
    return len(frames)


def test_dump1090_aircraft_becomes_a_track_with_its_icao(
    dump1090: tuple[int, int, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    if not DATA.is_dir():
        pytest.skip(f"shared data absent: {DATA}")
    bi, bo, _ = dump1090
    site = f"""
name = "adsb-live"
[origin]
lat = 43.6
lon = 1.4
alt_m = 150.0
[[sensors]]
id = "adsb-1"
kind = "adsb"
measures = "position_id"
position_enu_m = [0, 0, 0]
sigma = {{pos_m = 30.0, vel_mps = 5.0}}
update_s = 1.0
pd = 0.95
[sensors.link]
protocol = "adsb_beast"
host = "127.0.0.1"
port = {bo}
"""

    async def scenario() -> None:
        async with running_service(site, tmp_path) as svc:
            links = svc.source.links
            for _ in range(200):
                if links.health()[0].state == "connected":
                    break
                await asyncio.sleep(0.02)
            play = asyncio.create_task(_play_capture(bi))
            tracks = await svc.poll(
                "/api/tracks?confirmed_only=true",
                lambda b: any(t["identity"] == "icao:48520a" for t in b),
                20,
            )
            await play
            (tr,) = [t for t in tracks if t["identity"] == "icao:48520a"]
            assert tr["sensors"] == ["adsb-1"] and tr["object_class"] == "aircraft"
            assert abs(tr["position"]["lat"] - 43.64) < 0.05
            assert abs(tr["position"]["lon"] - 1.23) < 0.05
        h = svc.source.sensor_health()["adsb-1"]  # after stop: every message counted
        assert h.protocol == "adsb_beast" and h.detections == 3 and h.accepted > 50
        assert h.state == "stopped"
        raws = [r for r in svc.journal.records(kinds=["raw"]) if isinstance(r, RawMessage)]
        svc.journal.close()
        assert len(raws) == h.accepted and {r.format for r in raws} == {"adsb-beast"}
        assert sum(len(r.parsed["detections"]) for r in raws) == 3

    asyncio.run(scenario())
