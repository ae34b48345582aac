"""A journal of site inputs (reports, ticks, operator actions, edits) and what the one engine
makes of it, in the cluster's wire forms, for comparing live replay, pooled worker and edge.

Written here because the engine's comparison helper (tests/support/) had not landed on the
``engine`` branch when these tests were written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from skywarden.core.inbound import Inbound
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.feed import sim_reports
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Frame
from skywarden.runtime.live.ingest import raw_record
from skywarden.sim import SimRun
from skywarden.store.records import (
    AlertRecord,
    RawMessage,
    Record,
    TickRecord,
    TrackRecord,
    detections_of,
)

SITE = "eq"


def sim_journal(
    run: SimRun, until_s: float, silent_until_s: float, tick_s: float = 1.0
) -> list[Record]:
    """The run's reports up to ``until_s`` as journaled messages, a tick every ``tick_s`` of
    site time, then ticks alone (the sensors fall silent) up to ``silent_until_s``."""
    out: list[Record] = []
    nxt = tick_s
    for r in sim_reports(run, until_s=until_s):
        while r.scan.t >= nxt:
            out.append(TickRecord(nxt))
            nxt += tick_s
        m = Inbound(r.scan.sensor_id, "sim", r.scan.t, r.payload, r.scan.detections)
        out.append(raw_record(m))
    while nxt <= silent_until_s:
        out.append(TickRecord(nxt))
        nxt += tick_s
    return out


def raw_report(m: RawMessage) -> codec.RawReport:
    """The journaled message as it travels on a pooled site's raw stream (encoded, decoded)."""
    inbound = Inbound(m.sensor_id, m.format, m.t, m.payload, tuple(detections_of(m)))
    return codec.decode_raw(codec.encode_raw(SITE, inbound))


@dataclass(frozen=True)
class Picture:
    """A frame as central sees it (wire form, worker and publish time left out)."""

    t: float
    tracks: tuple[TrackRecord, ...]
    threat: dict[str, str]

    @classmethod
    def of(cls, f: codec.SiteFrame) -> Picture:
        return cls(f.t, f.tracks, dict(f.threat))

    @classmethod
    def of_frame(cls, frame: Frame) -> Picture:
        return cls.of(codec.decode_frame(codec.encode_frame(SITE, "-", frame, [], 0.0)))


def alert_key(a: codec.SiteAlert) -> dict[str, Any]:
    return {"msg_id": a.msg_id, "event": a.event, **a.record.to_dict()}


def reference(machine: Engine, records: Sequence[Record]) -> tuple[list[Picture], list[Any]]:
    """Live replay: the engine fed directly; a picture per tick, the alert transitions."""
    pics: list[Picture] = []
    alerts: list[dict[str, Any]] = []
    counter = codec.TransitionCounter()
    for rec in records:
        frames = machine.feed(rec)
        machine.drain_events()
        for out in machine.drain():
            if isinstance(out, AlertRecord):
                n = counter.next_id(out.alert_id)
                alerts.append(alert_key(codec.alert_of_record(SITE, "-", out, 0, n)))
        if isinstance(rec, TickRecord):
            last = frames[-1] if frames else machine.pipeline.last
            assert last is not None
            pics.append(Picture.of_frame(last))
    return pics, alerts


def first_difference(a: Sequence[Any], b: Sequence[Any]) -> str | None:
    """Where two sequences of pictures or alert dicts first differ, field by field."""
    if len(a) != len(b):
        return f"lengths {len(a)} != {len(b)}"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x == y:
            continue
        if isinstance(x, Picture) and isinstance(y, Picture):
            if x.t != y.t or x.threat != y.threat or len(x.tracks) != len(y.tracks):
                a, b = (x.t, x.threat, len(x.tracks)), (y.t, y.threat, len(y.tracks))
                return f"[{i}] t/threat/count: {a} != {b}"
            for tx, ty in zip(x.tracks, y.tracks, strict=True):
                for f in fields(TrackRecord):
                    vx, vy = getattr(tx, f.name), getattr(ty, f.name)
                    if vx != vy:
                        return f"[{i}] track {tx.track_id}.{f.name}: {vx!r} != {vy!r}"
        return f"[{i}]: {x!r} != {y!r}"
    return None
