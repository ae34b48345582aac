"""The ``adsb_avr`` link kind (one module, ``sensors/links/adsb_avr.py``) against real peers.

Peers: a TCP server in the test playing dump1090's own AVR capture
(``../shared/data/adsb/sample_dump1090.avr``) with malformed lines mixed in, and Debian's
dump1090-mutability fed the matching Beast capture, whose ``--net-ro-port`` is read by the
link. Reference: the Beast path (``AdsbDecoder`` on the Beast capture's frames); the same
messages must give the same aircraft positions whichever port they came through.
The link is started from a site table through ``AdapterSet``: nothing but the module
registers it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator

import pytest

from adapters_helpers import MemoryIngest, wait_for
from dump1090_helpers import BIN, DATA, free_ports, running_dump1090
from skywarden.core.clock import ManualClock
from skywarden.core.errors import ConfigError, DecodeError
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection
from skywarden.core.site import Site, parse_site
from skywarden.runtime.live.adapters import AdapterSet
from skywarden.sensors.adsb_beast import split_frames
from skywarden.sensors.adsb_decode import AdsbDecoder
from skywarden.sensors.links.adsb_avr import parse_avr_line
from skywarden.sensors.links.registry import kinds, parse_links

ORIGIN = {"lat": 43.6, "lon": 1.4, "alt_m": 150.0}
BAD_LINES = [
    b"garbage\n",  # avr_no_start
    b"*8D4840D6202CC371C32CE0576098\n",  # avr_no_end
    b"*8D4840D6202CC371C32CE05760ZZ;\n",  # avr_bad_hex
    b"*8D4840D6202C;\n",  # avr_bad_length (12 digits)
]


def test_parse_avr_line_accepts_both_forms_and_names_every_refusal() -> None:
    assert parse_avr_line("*8d4840d6202cc371c32ce0576098;\r") == "8D4840D6202CC371C32CE0576098"
    mlat = "@016CE3671C74" + "8D4840D6202CC371C32CE0576098;"
    assert parse_avr_line(mlat) == "8D4840D6202CC371C32CE0576098"
    assert parse_avr_line("*5D3981E46DC8EB;") == "5D3981E46DC8EB"  # 56-bit (DF11)
    assert parse_avr_line("*2000;") is None  # Mode A/C: no address
    for raw, reason in zip(
        BAD_LINES, ["avr_no_start", "avr_no_end", "avr_bad_hex", "avr_bad_length"], strict=True
    ):
        with pytest.raises(DecodeError) as e:
            parse_avr_line(raw.decode())
        assert e.value.reason == reason


def _site(port: int) -> Site:
    return parse_site(
        {
            "name": "avr",
            "origin": ORIGIN,
            "sensors": [
                {
                    "id": "adsb-avr",
                    "kind": "adsb",
                    "measures": "position_id",
                    "position_enu_m": [0, 0, 0],
                    "sigma": {"pos_m": 30.0},
                    "link": {"protocol": "adsb_avr", "host": "127.0.0.1", "port": port},
                }
            ],
        }
    )


def test_the_kind_is_registered_by_its_module_with_defaults_and_strict_keys() -> None:
    assert "adsb_avr" in kinds()
    site = _site(30002)
    (m,) = parse_links(site)
    assert (m.config.protocol, m.config.port, m.config.binds) == ("adsb_avr", 30002, False)
    bad = {**site.sensors[0].link.table, "prot": 1}  # type: ignore[union-attr]
    raw = {"origin": ORIGIN, "sensors": [{"id": "a", "kind": "adsb", "measures": "position_id",
           "position_enu_m": [0, 0, 0], "sigma": {"pos_m": 30.0}, "link": bad}]}  # fmt: skip
    with pytest.raises(ConfigError, match=r"did you mean 'port'\?") as e:
        parse_links(parse_site(raw))
    assert e.value.field == "sensors[0].link.prot"


def _beast_reference() -> list[Detection]:
    frames = split_frames((DATA / "sample_dump1090.bin").read_bytes()).frames
    dec = AdsbDecoder(GeoOrigin(ORIGIN["lat"], ORIGIN["lon"], ORIGIN["alt_m"]), "ref")
    return [d for i, f in enumerate(frames) if f.kind != "1" and (d := dec.feed(f.hex, float(i)))]


def _close_to_reference(dets: list[Detection], ref: list[Detection]) -> None:
    """Every AVR position is one of the Beast path's, within 1 m, same aircraft."""
    assert len(dets) >= 2
    for d in dets:
        same = [r for r in ref if r.identity == d.identity]
        assert same, d.identity
        best = min(float(((d.z[:3] - r.z[:3]) ** 2).sum() ** 0.5) for r in same)
        assert best < 1.0, (d.identity, best)


async def _run_link(port: int, until: int, feed: object = None) -> tuple[MemoryIngest, AdapterSet]:
    ingest = MemoryIngest()
    links = AdapterSet(_site(port), ingest, ManualClock(0.0))
    await links.start()
    try:
        if callable(feed):
            await feed()
        await wait_for(lambda: len(ingest.detections) >= until, 10.0)
        await asyncio.sleep(0.3)  # the rest of the feed
    finally:
        await links.stop()
    return ingest, links


def test_avr_link_reads_a_real_capture_from_a_tcp_peer() -> None:
    if not DATA.is_dir():
        pytest.skip(f"shared data absent: {DATA}")
    capture = (DATA / "sample_dump1090.avr").read_bytes()
    ref = _beast_reference()

    async def scenario() -> tuple[MemoryIngest, AdapterSet]:
        async def serve(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(b"".join(BAD_LINES) + capture)
            await w.drain()
            await asyncio.sleep(30)

        srv = await asyncio.start_server(serve, "127.0.0.1", 0)
        try:
            return await _run_link(srv.sockets[0].getsockname()[1], len(ref) // 2)
        finally:
            srv.close()

    ingest, links = asyncio.run(scenario())
    dets = [d for d in ingest.detections if isinstance(d, Detection)]
    _close_to_reference(dets, ref)
    counters = links.stats()
    for reason in ("avr_no_start", "avr_no_end", "avr_bad_hex", "avr_bad_length"):
        assert counters[f"sensor.adsb-avr.rejected.{reason}"] == 1, counters
    # every accepted line journaled as received, one message each
    assert {m.source for m in ingest.messages} == {"adsb-avr"}
    assert all(m.payload.startswith(b"*") and m.payload.endswith(b";") for m in ingest.messages)
    (h,) = links.health()
    assert h.sensor_id == "adsb-avr" and h.accepted == len(ingest.messages)


@pytest.fixture(scope="module")
def dump1090() -> Iterator[tuple[int, int]]:
    """dump1090-mutability, network only: Beast in, AVR raw out."""
    if not DATA.is_dir():
        pytest.skip(f"shared data absent: {DATA}")
    if not shutil.which(BIN):
        pytest.skip(f"{BIN} not installed (tests/test_adsb_dump1090.py installs it)")
    bi, ro = free_ports(2)
    with running_dump1090(ro, bi=bi, ro=ro):
        yield bi, ro


def test_avr_link_reads_dump1090_raw_output(dump1090: tuple[int, int]) -> None:
    bi, ro = dump1090
    ref = _beast_reference()

    async def feed() -> None:
        await asyncio.sleep(0.5)  # the link connected before dump1090 gets the capture
        _, w = await asyncio.open_connection("127.0.0.1", bi)
        w.write((DATA / "sample_dump1090.bin").read_bytes())
        await w.drain()
        w.close()

    ingest, _ = asyncio.run(_run_link(ro, 2, feed))
    dets = [d for d in ingest.detections if isinstance(d, Detection)]
    _close_to_reference(dets, ref)
    assert any(d.identity == "icao:48520a" for d in dets)


def test_fuzzed_lines_are_accepted_or_refused_with_a_reason() -> None:
    """20,000 real AVR lines, 70 % of them mutated, through the link's line step: every line
    is journaled, skipped (empty, Mode A/C) or counted under a reason; nothing raises."""
    if not DATA.is_dir():
        pytest.skip(f"shared data absent: {DATA}")
    import random

    from skywarden.sensors.links.adsb_avr import _line
    from skywarden.sensors.links.health import SensorStats

    rng = random.Random(17)
    lines = (DATA / "sample_dump1090.avr").read_bytes().splitlines()
    alphabet = b"*@;0123456789ABCDEFabcdefXZ \r\t\x00\xff"
    stats = SensorStats("fuzz", "adsb_avr", "-", 0.0)
    dec = AdsbDecoder(GeoOrigin(ORIGIN["lat"], ORIGIN["lon"], ORIGIN["alt_m"]), "fuzz")
    dec.counters = stats.counters  # as avr_session wires it: the decoder counts per sensor
    journaled = 0
    for i in range(20_000):
        b = bytearray(rng.choice(lines))
        for _ in range(rng.randint(1, 4) if rng.random() < 0.7 else 0):  # 30 % intact
            op, pos = rng.randrange(3), rng.randrange(len(b) + 1)
            if op == 0 and b:
                del b[min(pos, len(b) - 1)]
            elif op == 1:
                b.insert(pos, rng.choice(alphabet))
            elif b:
                b[min(pos, len(b) - 1)] = rng.choice(alphabet)
        journaled += _line(bytes(b), float(i) * 0.01, dec, stats) is not None
    snap = stats.counters.snapshot()
    rejected = sum(v for k, v in snap.items() if k.startswith("rejected."))
    assert journaled > 0 and rejected > 1000, snap
    assert {k for k in snap if k.startswith("rejected.avr_")} >= {
        "rejected.avr_no_start", "rejected.avr_no_end", "rejected.avr_bad_hex",
        "rejected.avr_bad_length",
    }  # fmt: skip
