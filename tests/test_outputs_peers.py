"""Output peers and the OutputSet's feed, on loopback with real sockets.

- A SAPIENT higher node that accepts and then never reads: the pipeline side stays
  non-blocking (a picture is handed to the encoder thread), the peer's queue stays bounded,
  the oldest messages are dropped and counted.
- A SAPIENT higher node that is down at first: the peer retries; once the node is up the
  first thing it gets is skywarden's Registration, then the reports queued meanwhile.
- A TAK server that is down: CoT events queue (bounded), the health says disconnected.
- The alert cursor: transitions restored before ``attach`` are not sent again, and every
  transition of a batch reaches the sinks even when only the batch's last picture is seen.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from live_helpers import free_port
from skywarden.alerts.lifecycle import AlertEvent, AlertManager
from skywarden.core.clock import WallClock
from skywarden.core.geo import GeoOrigin
from skywarden.core.track import TrackState, TrackStatus
from skywarden.runtime.live.adapters import LinkedLiveSource
from skywarden.runtime.live.feeds import simulated_feed, site_feed
from skywarden.runtime.live.source import LiveSource
from skywarden.runtime.outputs.config import SapientOutput, TakOutput, parse_outputs
from skywarden.runtime.outputs.output_set import OutputSet, OutputsSource
from skywarden.runtime.outputs.peers import PeerOutput, SapientPeer, TakPeer, affiliation
from skywarden.sensors.sapient import SapientSessions, frame, parse_message, split_frames
from skywarden.service.source import Listener, Picture, SensorHealthSource, Unsubscribe
from skywarden.store.journal import open_journal
from skywarden.threat.assess import ThreatAssessment, ThreatLevel

HIGHER = "0f8fad5b-d9cb-469f-a165-70867728950e"
OWN = "3b241101-e2bb-4255-8caf-4136c566a962"
SITE = simulated_feed(1).site
ORIGIN: GeoOrigin = SITE.origin


def _track(i: int, t: float = 100.0) -> TrackState:
    return TrackState(
        id=f"T{i}", t=t, x=np.array([100.0 + i, 50.0, 60.0, 3.0, -1.0, 0.0]),
        P=np.diag([9.0, 9.0, 25.0, 1.0, 1.0, 1.0]), status=TrackStatus.CONFIRMED,
        class_probs={"drone": 0.9, "bird": 0.1}, first_t=t - 10,
    )  # fmt: skip


def _picture(seq: int, n: int) -> Picture:
    return Picture(seq=seq, t=100.0 + seq, wall_t=0.0, tracks=tuple(_track(i) for i in range(n)))


def _assess(level: ThreatLevel, **kw: Any) -> ThreatAssessment:
    base: dict[str, Any] = dict(
        track_id="T1", t=0.0, level=level, score=0.5, zone_id="z", time_to_enter_s=None,
        object_class="drone", friendly=False,
    )  # fmt: skip
    base.update(kw)
    return ThreatAssessment(**base)


async def _encoded(peer: PeerOutput, pictures: int) -> None:
    """Wait until the peer's encoder thread has queued ``pictures`` pictures."""
    for _ in range(500):
        if peer.counters.get("pictures") >= pictures:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{peer.name}: {pictures} pictures not encoded in 5 s")


def test_affiliation_by_threat_identity_and_class() -> None:
    assert affiliation(_assess(ThreatLevel.ALERT), "drone").value == "h"
    assert affiliation(_assess(ThreatLevel.WARNING), "drone").value == "s"
    assert (
        affiliation(_assess(ThreatLevel.NONE, identity_status="suspicious"), "drone").value == "s"
    )
    assert affiliation(_assess(ThreatLevel.ALERT, friendly=True), "drone").value == "f"
    assert affiliation(_assess(ThreatLevel.NONE), "bird").value == "n"
    assert affiliation(None, "drone").value == "u"


def test_stalled_sapient_node_never_blocks_and_stays_bounded() -> None:
    async def run() -> None:
        held: list[asyncio.StreamWriter] = []

        async def never_read(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            held.append(w)  # accept, then read nothing: the socket buffers fill up

        srv = await asyncio.start_server(never_read, "127.0.0.1", 0, limit=1024)
        # a fixed, small receive buffer (inherited by the accepted socket): without it the
        # kernel may autotune loopback buffers to megabytes and swallow the whole test load
        srv.sockets[0].setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        port = srv.sockets[0].getsockname()[1]
        peer = SapientPeer(
            SapientOutput("up", "127.0.0.1", port, HIGHER, rate_s=1e-6), OWN, ORIGIN, 50,
            WallClock(),
        )  # fmt: skip
        await peer.start()
        loop = asyncio.get_running_loop()
        for _ in range(500):
            if peer._writer is not None:
                break
            await asyncio.sleep(0.01)
        assert peer._writer is not None, "the peer did not connect"
        # and a small send buffer on our side: an idle machine's loopback autotunes it to
        # 4 MB, which swallowed the whole load and left nothing to drop (the test then
        # depended on how busy the machine was)
        peer._writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        for seq in range(200):  # 200 pictures of 40 tracks: ~1 MB, far beyond the buffers
            t0 = loop.time()
            peer.picture(_picture(seq, 40), float(seq))
            assert loop.time() - t0 < 0.05  # the caller never waits on the peer
            assert peer.queue.qsize() <= 50
            await _encoded(peer, seq + 1)
        await asyncio.sleep(0.3)
        h = peer.health()
        assert h["pictures"] == 200 and h["queued"] == 200 * 40
        assert h["dropped"] > 0 and h["pending"] <= 50
        assert h["sent"] + h["dropped"] + h["pending"] <= h["queued"] + 1
        await asyncio.wait_for(peer.stop(drain_s=0.2), 5)
        srv.close()

    asyncio.run(run())


@dataclass
class _Node:
    kinds: list[str] = field(default_factory=list)

    async def handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        sessions = SapientSessions(ORIGIN, HIGHER)
        buf = b""
        while chunk := await r.read(65536):
            bodies, buf = split_frames(buf + chunk)
            for b in bodies:
                pm = parse_message(b, 0.0)
                self.kinds.append(pm.message.WhichOneof("content") or "")
                for reply in sessions.handle(pm).replies:
                    w.write(frame(reply))
            await w.drain()


def test_sapient_peer_reconnects_and_registers_first() -> None:
    async def run() -> None:
        port = free_port()
        peer = SapientPeer(
            SapientOutput("up", "127.0.0.1", port, HIGHER, rate_s=1e-6), OWN, ORIGIN, 100,
            WallClock(),
        )  # fmt: skip
        await peer.start()
        peer.picture(_picture(1, 3), 1.0)  # the node is down: queued
        await _encoded(peer, 1)
        await asyncio.sleep(0.7)
        assert peer.health()["errors"] >= 1 and not peer.connected
        node = _Node()
        srv = await asyncio.start_server(node.handle, "127.0.0.1", port)
        for _ in range(100):
            if node.kinds.count("detection_report") >= 3 and peer.registered:
                break
            await asyncio.sleep(0.05)
        assert node.kinds[0] == "registration" and node.kinds.count("detection_report") == 3
        h = peer.health()
        assert h["connected"] == 1.0 and h["registered"] == 1.0
        assert h["received.registration_ack"] == 1
        await peer.stop()
        srv.close()

    asyncio.run(run())


def test_sapient_peer_sends_the_status_reports_it_registered_for() -> None:
    """Registration declares a status interval; the node then hears a StatusReport that
    often (first INFO_NEW, then INFO_UNCHANGED), each accepted by a higher node's own
    session rules (parse_message + SapientSessions raise on a bad one)."""

    async def run() -> None:
        port = free_port()
        node = _Node()
        srv = await asyncio.start_server(node.handle, "127.0.0.1", port)
        peer = SapientPeer(
            SapientOutput("up", "127.0.0.1", port, HIGHER, status_s=1), OWN, ORIGIN, 100,
            WallClock(),
        )  # fmt: skip
        await peer.start()
        for _ in range(60):
            if node.kinds.count("status_report") >= 2:
                break
            await asyncio.sleep(0.05)
        assert node.kinds[0] == "registration"
        assert node.kinds.count("status_report") >= 2
        assert peer.health()["status_reports"] >= 2
        await peer.stop()
        srv.close()

    asyncio.run(run())


def test_status_report_fields() -> None:
    from skywarden.alerts.sinks.sapient import SapientUplink, UpwardPeer
    from skywarden.sensors.sapient import SapientMessage

    up = SapientUplink(OWN, UpwardPeer(HIGHER), ORIGIN)
    (first,), _ = split_frames(up.status_report(10.0, first=True))
    (later,), _ = split_frames(up.status_report(15.0, first=False))
    a, b = (SapientMessage.FromString(x).status_report for x in (first, later))
    assert a.info == 1 and b.info == 2  # INFO_NEW, INFO_UNCHANGED
    assert a.system == 1 and a.mode == "Default"  # SYSTEM_OK
    assert a.node_location.y == pytest.approx(ORIGIN.lat_deg)
    assert a.report_id != b.report_id
    (reg,), _ = split_frames(up.registration(9.0, status_every_s=7))
    assert SapientMessage.FromString(reg).registration.status_definition.status_interval.value == 7


def test_tak_down_queues_bounded_and_reports_disconnected() -> None:
    async def run() -> None:
        peer = TakPeer(TakOutput("tak", "127.0.0.1", free_port(), rate_s=1e-6), ORIGIN, 10,
                       WallClock())  # fmt: skip
        await peer.start()
        for seq in range(5):
            peer.picture(_picture(seq, 4), float(seq))
            await _encoded(peer, seq + 1)
        await asyncio.sleep(0.3)
        h = peer.health()
        assert h["connected"] == 0.0 and h["errors"] >= 1
        assert h["pending"] == 10 and h["dropped"] == 5 * 4 - 10
        await peer.stop()

    asyncio.run(run())


class _Source:
    """Just what ``OutputSet.attach`` reads: subscribe; pictures carry the engine's events."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Unsubscribe:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def publish(self, seq: int, events: Sequence[AlertEvent] = ()) -> None:
        for fn in self.listeners:
            fn(Picture(seq=seq, t=float(seq), wall_t=0.0, events=tuple(events)))


def test_outputs_hand_on_every_event_of_each_picture_once() -> None:
    """The sinks get the picture's events (the engine's transitions since the previous
    picture, several steps' and an operator's), each once; a picture without events (the
    first after a restore) offers nothing."""

    async def run() -> None:
        src = _Source()
        mgr = AlertManager()
        mgr.update([_assess(ThreatLevel.WARNING, track_id="R")], 1.0)  # "restored"
        outs = OutputSet(parse_outputs({}), SITE, WallClock())
        await outs.start()
        outs.attach(src)  # type: ignore[arg-type]
        got: list[tuple[str, str]] = []
        outs.dispatcher.offer = lambda evs: got.extend(  # type: ignore[method-assign]
            (e.kind, e.alert.track_id) for e in evs
        )
        src.publish(1)
        assert got == []
        # one batch, three steps, one picture: every transition is handed on
        evs = mgr.update([_assess(ThreatLevel.WARNING, track_id="A")], 2.0)
        evs += mgr.update([_assess(ThreatLevel.ALERT, track_id="A")], 3.0)
        aid = next(a.id for a in mgr.active if a.track_id == "A")
        evs.append(mgr.acknowledge(aid, "op", 3.5))
        src.publish(2, evs)
        assert got == [("raised", "A"), ("escalated", "A"), ("acknowledged", "A")]
        src.publish(3)
        assert len(got) == 3
        assert outs.counters.get("outputs.alert_events") == 3
        await outs.stop()

    asyncio.run(run())


def test_wrapper_keeps_the_sources_optional_protocols(tmp_path: Path) -> None:
    """``OutputsSource`` passes the wrapped source's optional protocols on: both the simulated
    and the linked live source report sensor health (every sensor the journal delivered a
    message of, since the map issue), and the wrapper answers with theirs."""
    site = tmp_path / "site.toml"
    site.write_text(
        'name = "s"\n[origin]\nlat = 51.0\nlon = -1.0\n'
        '[[sensors]]\nid = "j"\nkind = "camera"\nmeasures = "xyz"\n'
        "position_enu_m = [0, 0, 5]\nsigma = { x_m = 4.0, y_m = 4.0, z_m = 6.0 }\n"
        f'[sensors.link]\nprotocol = "mqtt_json"\nhost = "127.0.0.1"\nport = {free_port()}\n'
        'topic = "t"\n',
        encoding="utf-8",
    )
    journal = open_journal(str(tmp_path / "j.sqlite"))
    try:
        outs = OutputSet(parse_outputs({}), SITE, WallClock())
        plain = OutputsSource(LiveSource(simulated_feed(1), WallClock(), journal), outs)
        linked = OutputsSource(LinkedLiveSource(site_feed(site), WallClock(), journal), outs)
        assert isinstance(plain, SensorHealthSource) and plain.sensor_health() == {}
        assert isinstance(linked, SensorHealthSource)
        assert linked.sensor_health() == {}  # the links start with the source
        assert plain.ingest is plain.inner.ingest and plain.mode == "simulation"
    finally:
        journal.close()
