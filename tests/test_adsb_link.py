"""Beast and SBS TCP links against a real socket peer: garbage mid-stream, peer drops, reconnect.

The peer is a loopback TCP server in the test that plays the shared Beast capture (the same
bytes dump1090 serves) with malformed bytes spliced between frames, and drops the connection
half-way. The link must count the garbage by reason, keep decoding the frames after it on
the same connection, reconnect, and end with exactly the positions a clean decode yields.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters_helpers import MemoryIngest, wait_for
from skywarden.core.clock import ManualClock
from skywarden.core.geo import GeoOrigin
from skywarden.sensors.adsb_beast import encode_frame, split_frames
from skywarden.sensors.adsb_decode import AdsbDecoder
from skywarden.sensors.adsb_sbs import SbsDecoder
from skywarden.sensors.links.adsb_tcp import beast_session, run_with_reconnect, sbs_session
from skywarden.sensors.links.health import SensorStats

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adsb"
ORIGIN = GeoOrigin(43.6, 1.4, 150.0)
GARBAGE = [b"\x00\x01junk", b"\x1a\x99", b"\xff" * 40, b"\x1a\x33\x00"]


async def _serve(parts: list[bytes]) -> tuple[asyncio.Server, int, list[int]]:
    """Serve ``parts[k]`` to the k-th connection, then close it."""
    conns: list[int] = []

    async def handle(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        k = len(conns)
        conns.append(k)
        if k < len(parts):
            for i in range(0, len(parts[k]), 997):  # odd chunks: frames split across reads
                w.write(parts[k][i : i + 997])
                await w.drain()
        w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], conns


def test_beast_link_resyncs_after_garbage_and_reconnects() -> None:
    if not DATA.is_dir():
        pytest.skip(f"shared data absent: {DATA}")
    frames = [
        f for f in split_frames((DATA / "sample_dump1090.bin").read_bytes()).frames if f.kind != "1"
    ]
    clean = AdsbDecoder(ORIGIN, "adsb")
    expected = [d.identity for f in frames if (d := clean.feed(f.hex, 0.0)) is not None]
    n_accepted = sum(v for k, v in clean.counters.snapshot().items() if k.startswith("accepted.df"))
    assert len(expected) >= 2
    half = len(frames) // 2
    streams = []
    for chunk in (frames[:half], frames[half:]):
        out = b""
        for i, f in enumerate(chunk):
            out += GARBAGE[i % len(GARBAGE)] if i % 7 == 0 else b""
            out += encode_frame(f)
        streams.append(out)

    async def run() -> tuple[MemoryIngest, SensorStats, list[int]]:
        server, port, conns = await _serve(streams)
        ingest = MemoryIngest()
        stats = SensorStats("adsb", "adsb_beast", f"127.0.0.1:{port}", 0.0)
        dec = AdsbDecoder(ORIGIN, "adsb")
        task = asyncio.create_task(
            run_with_reconnect(
                lambda: beast_session("127.0.0.1", port, dec, ManualClock(0.0), ingest, stats),
                stats,
                min_backoff_s=0.05,
            )
        )
        await wait_for(lambda: len(conns) >= 2 and len(ingest.messages) >= n_accepted, 20)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()
        return ingest, stats, conns

    ingest, stats, conns = asyncio.run(run())
    assert len(conns) >= 2  # it reconnected after the peer dropped
    got = [d.identity for d in ingest.detections]  # type: ignore[attr-defined]
    assert len(ingest.messages) == n_accepted
    assert got == expected  # every position after the garbage still decoded, in order
    health = stats.snapshot(0.0)
    rejected = dict(health.rejected)
    assert rejected.get("beast_garbage", 0) >= 2 and rejected.get("beast_bad_type", 0) >= 1
    assert health.accepted == len(ingest.messages) and health.state == "stopped"
    assert stats.counters.get("link.reconnects") >= 1


def test_sbs_link_rejects_bad_lines_and_keeps_reading() -> None:
    good = (
        "MSG,3,1,1,4CA2D6,1,2024/01/01,10:00:00.000,2024/01/01,10:00:00.000,,"
        "35000,,,43.61,1.45,,,0,0,0,0"
    )
    lines = [good, "MSG,3,not,enough", "x" * 6000, good.replace("43.61", "43.62"), "MSG,zz"]
    stream = ("\r\n".join(lines) + "\r\n").encode()

    async def run() -> tuple[MemoryIngest, SensorStats]:
        server, port, _ = await _serve([stream])
        ingest = MemoryIngest()
        stats = SensorStats("adsb-sbs", "adsb_sbs", f"127.0.0.1:{port}", 0.0)
        dec = SbsDecoder(ORIGIN, "adsb-sbs")
        await sbs_session("127.0.0.1", port, dec, ManualClock(0.0), ingest, stats)
        server.close()
        return ingest, stats

    ingest, stats = asyncio.run(run())
    dets = ingest.detections
    assert len(dets) == 2 and [m.payload for m in ingest.messages] == [
        lines[0].encode(),
        lines[3].encode(),
    ]
    rejected = dict(stats.snapshot(0.0).rejected)
    assert rejected.pop("sbs_line_too_long") == 1
    assert sum(rejected.values()) == 2, rejected
