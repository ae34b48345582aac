"""Versioned JSON messages on the cluster subjects (see ``topology``).

Every message is a JSON object with ``"v": 1``; a decoder refuses another version or a
malformed body with :class:`core.errors.DecodeError` (reason ``cluster_*``) so the consumer
counts it and moves on. JSON rather than a binary codec: the payload is dominated by floats
either way, every language and the ``nats`` CLI can read it, and the numbers in
``docs/bench_cluster.md`` show the codec is not the bottleneck.

Layouts (version 1)::

    raw     {"v", "site", "sensor_id", "source", "received_t", "t", "payload_b64",
             "detections": [...], "common": {...}}   (store.records.detections_parsed:
             values every detection shares, such as a radar's R, stored once)
    control {"v", "site", "record": Record.to_dict()}   on ``raw.<CONTROL>``: a tick, an
             operator action or a site edit, ordered among the reports (see site_runner)
    frame   {"v", "site", "worker", "t", "raw": [[stream_seq, received_t], ...], "upto",
             "tracks": [TrackRecord.to_dict() without P and mode_probs],
             "threat": {track_id: level name}, "published_t"}
    coast   a frame with "provisional": true and "raw": [] (``coast_frame``): the last
             frame shown, moved on; on ``skywarden.live.<site>.coast`` only, never stored
    alert   {"v", "site", "worker", "event", "t", "alert_id", "track_id", "zone_id", "level",
             "state", "raised_t", "object_class", "reasons", "by", "raw_seq"}
    health  {"v", "site", "worker", "t", "covered_seq", "tracks", "counters": {...}}

``raw.t`` is the report's measurement time (what the tracker steps on; a report with no
detection still needs it to count a miss); ``received_t`` the ingest wall time, kept so
central can measure report-to-picture latency. ``frame.raw`` lists exactly the raw stream
sequences the frame covers: a site's frames together cover every accepted report exactly
once, which is what the fail-over test checks.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skywarden.alerts.lifecycle import AlertEvent
from skywarden.core.errors import DecodeError, InputRejected
from skywarden.core.inbound import Inbound
from skywarden.core.track import TrackState
from skywarden.runtime.engine.engine import WHOLE_SCAN_SOURCES
from skywarden.runtime.engine.pipeline import Frame
from skywarden.sensors.skybench import Scan
from skywarden.store.records import (
    AlertRecord,
    ConfigChange,
    OperatorAction,
    TickRecord,
    TrackRecord,
    detections_from_parsed,
    detections_parsed,
    record_from_dict,
)

VERSION = 1


def _dumps(d: Mapping[str, Any]) -> bytes:
    return json.dumps(d, separators=(",", ":")).encode()


def _loads(data: bytes, what: str) -> dict[str, Any]:
    try:
        d = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DecodeError("cluster_json", f"{what}: {e}") from None
    if not isinstance(d, dict):
        raise DecodeError("cluster_json", f"{what}: not a JSON object")
    if d.get("v") != VERSION:
        raise DecodeError("cluster_version", f"{what}: version {d.get('v')!r}, want {VERSION}")
    return d


# ------------------------------------------------------------------ raw reports


@dataclass(frozen=True)
class RawReport:
    """One raw report as it travels: the site, the report time and the accepted message."""

    site: str
    t: float
    inbound: Inbound

    def scan(self) -> Scan:
        complete = self.inbound.source in WHOLE_SCAN_SOURCES  # see Tracker.process
        return Scan(self.t, self.inbound.sensor_id, self.inbound.detections, complete=complete)


def report_time(inbound: Inbound) -> float:
    """The measurement time of a message: its detections' latest time, else when received."""
    return max((d.t for d in inbound.detections), default=inbound.received_t)


def encode_raw(site: str, inbound: Inbound, t: float | None = None) -> bytes:
    return _dumps(
        {
            "v": VERSION,
            "site": site,
            "sensor_id": inbound.sensor_id,
            "source": inbound.source,
            "received_t": float(inbound.received_t),
            "t": float(report_time(inbound) if t is None else t),
            "payload_b64": base64.b64encode(inbound.payload).decode("ascii"),
            **detections_parsed(inbound.detections),
        }
    )


def decode_raw(data: bytes) -> RawReport:
    d = _loads(data, "raw report")
    try:
        parsed = {"detections": d["detections"], "common": d.get("common")}
        dets = tuple(detections_from_parsed(parsed, float(d["t"]), str(d["sensor_id"]), True))
        inbound = Inbound(
            sensor_id=str(d["sensor_id"]),
            source=str(d["source"]),
            received_t=float(d["received_t"]),
            payload=base64.b64decode(d["payload_b64"], validate=True),
            detections=dets,
        )
        return RawReport(str(d["site"]), float(d["t"]), inbound)
    except InputRejected:
        raise
    except (KeyError, TypeError, ValueError, binascii.Error) as e:
        raise DecodeError("cluster_raw", f"raw report: {type(e).__name__}: {e}") from None


# ------------------------------------------------------------------ control records

ControlRecord = TickRecord | OperatorAction | ConfigChange
CONTROL_KINDS = ("tick", "operator", "config")


def encode_control(site: str, rec: ControlRecord) -> bytes:
    """A tick, operator action or site edit as it travels on the site's raw stream."""
    return _dumps({"v": VERSION, "site": site, "record": rec.to_dict()})


def decode_control(data: bytes) -> ControlRecord:
    d = _loads(data, "control record")
    try:
        body = d["record"]
        if not isinstance(body, dict) or body.get("kind") not in CONTROL_KINDS:
            raise ValueError(f"kind {body.get('kind') if isinstance(body, dict) else body!r}")
        rec = record_from_dict(body)
    except InputRejected:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise DecodeError("cluster_control", f"control: {type(e).__name__}: {e}") from None
    if not isinstance(rec, TickRecord | OperatorAction | ConfigChange):
        raise DecodeError("cluster_control", f"control: {type(rec).__name__}")
    return rec


# ------------------------------------------------------------------ frames (tracks)


@dataclass(frozen=True)
class SiteFrame:
    """A decoded tracks message: what central shows for one site after one worker flush."""

    site: str
    worker: str
    t: float
    raw: tuple[tuple[int, float], ...]
    tracks: tuple[TrackRecord, ...]
    threat: Mapping[str, str]
    published_t: float
    upto: int = 0  # the last raw stream sequence (report or control) this frame accounts for
    provisional: bool = False  # a coasted copy (``coast_frame``): shown, never stored

    @property
    def raw_seqs(self) -> tuple[int, ...]:
        return tuple(s for s, _ in self.raw)

    @property
    def covers_to(self) -> int:
        return max(self.upto, *self.raw_seqs, 0)


def _track_dict(s: TrackState) -> dict[str, Any]:
    d = TrackRecord.from_state(s, source="tracker", covariance=False).to_dict()
    del d["P"], d["mode_probs"], d["kind"]
    return d


def encode_frame(
    site: str,
    worker: str,
    frame: Frame,
    raw: Sequence[tuple[int, float]],
    published_t: float,
    upto: int | None = None,
) -> bytes:
    return _dumps(
        {
            "v": VERSION,
            "site": site,
            "worker": worker,
            "t": float(frame.t),
            "raw": [[int(s), float(r)] for s, r in raw],
            "upto": int(max((s for s, _ in raw), default=0) if upto is None else upto),
            "tracks": [_track_dict(s) for s in frame.tracks],
            "threat": {a.track_id: a.level.name.lower() for a in frame.assessments},
            "published_t": float(published_t),
        }
    )


def decode_frame(data: bytes) -> SiteFrame:
    d = _loads(data, "frame")
    try:
        return SiteFrame(
            site=str(d["site"]),
            worker=str(d["worker"]),
            t=float(d["t"]),
            raw=tuple((int(s), float(r)) for s, r in d["raw"]),
            tracks=tuple(TrackRecord.from_dict({"kind": "track", **x}) for x in d["tracks"]),
            threat={str(k): str(v) for k, v in d.get("threat", {}).items()},
            published_t=float(d.get("published_t", 0.0)),
            upto=int(d.get("upto", 0)),
            provisional=bool(d.get("provisional", False)),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise DecodeError("cluster_frame", f"frame: {type(e).__name__}: {e}") from None


def coast_frame(data: bytes, dt: float, published_t: float) -> bytes:
    """A provisional copy of the encoded frame ``data``, ``dt`` seconds later in site time:
    each track moved on at its velocity (state ``x`` = position, velocity, ...), no report
    covered (``raw`` empty, ``upto`` kept), ``"provisional": true``.

    What a worker shows while no frame can be made because its site's raw stream cannot
    store (a leader election): no report can be accepted then (reports are journaled
    before they are acknowledged) and no tick can be journaled, and a tick that is not
    journaled would make a step that a take-over could not replay. A coasted copy changes
    no engine state and is never stored, so replay and exactly-once are untouched; it is
    marked so that nobody takes it for a measured picture."""
    d = _loads(data, "frame")
    try:
        t = float(d["t"]) + dt
        tracks = []
        for tr in d["tracks"]:
            x = [float(v) for v in tr["x"]]
            step = t - float(tr["t"])
            for i in range(min(3, len(x) - 3)):
                x[i] += x[i + 3] * step
            tracks.append({**tr, "x": x, "t": t})
    except (KeyError, TypeError, ValueError) as e:
        raise DecodeError("cluster_frame", f"frame: {type(e).__name__}: {e}") from None
    body = {**d, "t": t, "raw": [], "tracks": tracks, "published_t": float(published_t)}
    return _dumps({**body, "provisional": True})


# ------------------------------------------------------------------ alerts


@dataclass(frozen=True)
class SiteAlert:
    site: str
    worker: str
    raw_seq: int
    record: AlertRecord
    event: str
    n: int = 0  # this transition's number among the alert's transitions (1, 2, ...)

    @property
    def msg_id(self) -> str:
        """Deduplication id: the same transition replayed after a take-over is one message.

        It names the transition, not the moment: a worker that takes a site over replays the
        raw reports in other step batches than the dead worker did, so the same transition
        can come out with another step time (it did, 8-11 s later, 9-31 times a run when the
        time was part of the id). Nor is (alert, kind, level) enough: an alert can be
        reclassified, or escalated to the same level after a class change, more than once.
        ``n`` counts the alert's transitions in the order the pipeline made them, which a
        replay from the snapshot reproduces (:class:`TransitionCounter`)."""
        r = self.record
        return f"{self.site}:{r.alert_id}:{r.track_id}:{r.zone_id}:{self.n}:{self.event}"


@dataclass
class TransitionCounter:
    """How many transitions each alert has made so far; part of the snapshotted site state,
    so the worker that takes a site over numbers the replayed transitions as the dead one
    did. Counts every transition, published or folded silently during a replay."""

    counts: dict[str, int] = field(default_factory=dict)

    def next(self, ev: AlertEvent) -> int:
        return self.next_id(ev.alert.id)

    def next_id(self, alert_id: str) -> int:
        n = self.counts.get(alert_id, 0) + 1
        self.counts[alert_id] = n
        return n


def alert_of_record(site: str, worker: str, r: AlertRecord, raw_seq: int, n: int) -> SiteAlert:
    """An engine's alert transition record (``Engine.drain``) as a site alert."""
    keep = ("event", "raised_t", "object_class", "time_to_enter_s")
    detail = {"site": site, **{k: r.detail.get(k) for k in keep}}
    rec = AlertRecord(
        t=float(r.t),
        alert_id=r.alert_id,
        track_id=r.track_id,
        to_state=r.to_state,
        from_state=r.from_state,
        zone_id=r.zone_id,
        level=r.level,
        reason=r.reason,
        actor=r.actor,
        detail=detail,
    )
    return SiteAlert(site, worker, raw_seq, rec, str(r.detail.get("event", r.to_state)), n)


def alert_of(site: str, worker: str, ev: AlertEvent, raw_seq: int, n: int = 0) -> SiteAlert:
    a = ev.alert
    rec = AlertRecord(
        t=float(ev.t),
        alert_id=a.id,
        track_id=a.track_id,
        to_state=a.state.value,
        zone_id=a.zone_id,
        level=a.level.value,
        reason="; ".join(a.reasons),
        actor=ev.by or "system",
        detail={
            "site": site,
            "event": ev.kind,
            "raised_t": a.raised_t,
            "object_class": a.object_class,
            "time_to_enter_s": a.time_to_enter_s,
        },
    )
    return SiteAlert(site, worker, raw_seq, rec, ev.kind, n)


def encode_alert(a: SiteAlert) -> bytes:
    return _dumps(
        {"v": VERSION, "site": a.site, "worker": a.worker, "raw_seq": a.raw_seq, "event": a.event}
        | {"n": a.n, "record": a.record.to_dict()}
    )


def decode_alert(data: bytes) -> SiteAlert:
    d = _loads(data, "alert")
    try:
        rec = AlertRecord.from_dict(d["record"])
        return SiteAlert(
            str(d["site"]),
            str(d["worker"]),
            int(d["raw_seq"]),
            rec,
            str(d["event"]),
            int(d.get("n", 0)),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise DecodeError("cluster_alert", f"alert: {type(e).__name__}: {e}") from None


# ------------------------------------------------------------------ health


def encode_health(site: str, worker: str, t: float, body: Mapping[str, Any]) -> bytes:
    return _dumps({"v": VERSION, "site": site, "worker": worker, "t": float(t), **body})


def decode_health(data: bytes) -> dict[str, Any]:
    return _loads(data, "health")
