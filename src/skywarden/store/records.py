"""What the journal records: one frozen dataclass per record kind, with lossless JSON.

Kinds (the ``kind`` column of the journal and the ``"kind"`` key of the JSON form):

==============  ==================  =====================================================
kind            class               who did it
==============  ==================  =====================================================
``raw``         RawMessage          ``sensor_id`` (the bytes as received + parsed form)
``track``       TrackRecord         ``source`` (the tracker instance, default "tracker")
``alert``       AlertRecord         ``actor`` ("system" or the operator who moved it)
``operator``    OperatorAction      ``operator``
``config``      ConfigChange        ``actor``
``retention``   RetentionRecord     ``actor`` (written by the journal when it drops segments)
``tick``        TickRecord          ``source`` (the runtime that advanced the picture)
==============  ==================  =====================================================

Every record carries its own time ``t`` (seconds, passed in: for a raw message the receive
time). The canonical JSON form (sorted keys, no whitespace) is what the hash chain covers, so
``to_dict``/``from_dict`` must round-trip exactly: floats are Python floats (``repr`` is exact),
tuples come back as tuples, bytes travel as base64 in the JSON form and as a BLOB in storage.

The parsed form of a raw message is free JSON chosen by its adapter; the convention for
detections (``detections_parsed``) lives in ``store.detections``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

import numpy as np

from skywarden.core.observation import Detection
from skywarden.core.track import TrackState, TrackStatus
from skywarden.store import detections as _detections
from skywarden.store.detections import str_or_none as _str_or_none

# the detection codec moved to ``store.detections``; these names stay importable from here
HOISTED = _detections.HOISTED
detection_from_dict = _detections.detection_from_dict
detection_to_dict = _detections.detection_to_dict
detections_from_parsed = _detections.detections_from_parsed
detections_parsed = _detections.detections_parsed


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _floats(v: Any) -> tuple[float, ...]:
    if isinstance(v, np.ndarray):  # every track state, every second: one C-level conversion
        return tuple(v.astype(float, copy=False).ravel().tolist())
    return tuple(float(x) for x in v)


@dataclass(frozen=True)
class RawMessage:
    """One accepted sensor message: bytes as received, its parsed form, sensor, format, time."""

    kind: ClassVar[str] = "raw"
    t: float
    sensor_id: str
    format: str
    payload: bytes
    parsed: Any = None

    @property
    def source(self) -> str:
        return self.sensor_id

    def to_dict(self) -> dict[str, Any]:
        d = self.body_dict()
        d["payload_b64"] = base64.b64encode(self.payload).decode("ascii")
        return d

    def body_dict(self) -> dict[str, Any]:
        """The JSON form without the bytes (the journal keeps those in a BLOB column)."""
        return {
            "kind": self.kind,
            "t": float(self.t),
            "sensor_id": self.sensor_id,
            "format": self.format,
            "parsed": self.parsed,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], payload: bytes | None = None) -> RawMessage:
        if payload is None:
            payload = base64.b64decode(d.get("payload_b64", ""))
        return cls(float(d["t"]), str(d["sensor_id"]), str(d["format"]), payload, d.get("parsed"))


@dataclass(frozen=True)
class TrackRecord:
    """One published track state (``core.track.TrackState`` flattened: P row-major, 36 floats)."""

    kind: ClassVar[str] = "track"
    t: float
    track_id: str
    status: str
    x: tuple[float, ...]
    P: tuple[float, ...] = ()
    identity: str | None = None
    class_probs: dict[str, float] = field(default_factory=dict)
    sensors: tuple[str, ...] = ()
    hits: int = 0
    score: float = 0.0
    first_t: float = 0.0
    mode_probs: tuple[float, ...] = ()
    source: str = "tracker"
    # predicted impact and launch point (``runtime.pipeline.Frame.ground_fields``); only in
    # the record's JSON when present, so the records of every other track hash as before
    ground: dict[str, Any] = field(default_factory=dict)

    @property
    def best_class(self) -> str:
        if not self.class_probs:
            return "unknown"
        return max(self.class_probs.items(), key=lambda kv: kv[1])[0]

    @property
    def speed(self) -> float:
        return float(np.linalg.norm(np.asarray(self.x[3:6], dtype=float)))

    @classmethod
    def from_state(
        cls,
        s: TrackState,
        source: str = "tracker",
        covariance: bool = True,
        ground: Mapping[str, Any] | None = None,
    ) -> TrackRecord:
        """``covariance=False`` leaves ``P`` and ``mode_probs`` empty (a display frame needs
        neither, and the 36 covariance numbers were most of its encoding cost)."""
        return cls(
            t=float(s.t),
            track_id=s.id,
            status=s.status.value,
            x=_floats(s.x),
            P=_floats(np.asarray(s.P, dtype=float)) if covariance else (),
            identity=s.identity,
            class_probs={str(k): float(v) for k, v in s.class_probs.items()},
            sensors=tuple(s.sensors),
            hits=int(s.hits),
            score=float(s.score),
            first_t=float(s.first_t),
            mode_probs=_floats(s.mode_probs) if covariance else (),
            source=source,
            ground=dict(ground) if ground else {},
        )

    def to_state(self) -> TrackState:
        P = np.asarray(self.P, dtype=float).reshape(6, 6) if self.P else np.zeros((6, 6))
        return TrackState(
            id=self.track_id,
            t=self.t,
            x=np.asarray(self.x, dtype=float),
            P=P,
            status=TrackStatus(self.status),
            identity=self.identity,
            class_probs=dict(self.class_probs),
            sensors=self.sensors,
            hits=self.hits,
            score=self.score,
            first_t=self.first_t,
            mode_probs=self.mode_probs,
        )

    def to_dict(self) -> dict[str, Any]:
        d = self._to_dict()
        if self.ground:
            d["ground"] = dict(self.ground)
        return d

    def _to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "t": float(self.t),
            "track_id": self.track_id,
            "status": self.status,
            "x": list(self.x),
            "P": list(self.P),
            "identity": self.identity,
            "class_probs": dict(self.class_probs),
            "sensors": list(self.sensors),
            "hits": self.hits,
            "score": float(self.score),
            "first_t": float(self.first_t),
            "mode_probs": list(self.mode_probs),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrackRecord:
        return cls(
            t=float(d["t"]),
            track_id=str(d["track_id"]),
            status=str(d["status"]),
            x=_floats(d["x"]),
            P=_floats(d.get("P", ())),
            identity=_str_or_none(d.get("identity")),
            class_probs={str(k): float(v) for k, v in d.get("class_probs", {}).items()},
            sensors=tuple(str(s) for s in d.get("sensors", ())),
            hits=int(d.get("hits", 0)),
            score=float(d.get("score", 0.0)),
            first_t=float(d.get("first_t", 0.0)),
            mode_probs=_floats(d.get("mode_probs", ())),
            source=str(d.get("source", "tracker")),
            ground=dict(d.get("ground") or {}),
        )


@dataclass(frozen=True)
class AlertRecord:
    """One alert transition (``from_state`` None when the alert is raised)."""

    kind: ClassVar[str] = "alert"
    t: float
    alert_id: str
    track_id: str | None
    to_state: str
    from_state: str | None = None
    zone_id: str | None = None
    level: str = ""
    reason: str = ""
    actor: str = "system"
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.actor

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "t": float(self.t),
            "alert_id": self.alert_id,
            "track_id": self.track_id,
            "to_state": self.to_state,
            "from_state": self.from_state,
            "zone_id": self.zone_id,
            "level": self.level,
            "reason": self.reason,
            "actor": self.actor,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AlertRecord:
        return cls(
            t=float(d["t"]),
            alert_id=str(d["alert_id"]),
            track_id=_str_or_none(d.get("track_id")),
            to_state=str(d["to_state"]),
            from_state=_str_or_none(d.get("from_state")),
            zone_id=_str_or_none(d.get("zone_id")),
            level=str(d.get("level", "")),
            reason=str(d.get("reason", "")),
            actor=str(d.get("actor", "system")),
            detail=dict(d.get("detail", {})),
        )


@dataclass(frozen=True)
class OperatorAction:
    """Something an operator did (``ack`` an alert, ``mark_incident``, ``login``, ...)."""

    kind: ClassVar[str] = "operator"
    t: float
    operator: str
    action: str
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.operator

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "t": float(self.t),
            "operator": self.operator,
            "action": self.action,
            "target": self.target,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OperatorAction:
        return cls(
            float(d["t"]),
            str(d["operator"]),
            str(d["action"]),
            _str_or_none(d.get("target")),
            dict(d.get("detail", {})),
        )


@dataclass(frozen=True)
class ConfigChange:
    """A configuration change: which setting (dotted path), old and new values, who."""

    kind: ClassVar[str] = "config"
    t: float
    actor: str
    key: str
    old: Any = None
    new: Any = None
    note: str = ""

    @property
    def source(self) -> str:
        return self.actor

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "t": float(self.t),
            "actor": self.actor,
            "key": self.key,
            "old": self.old,
            "new": self.new,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConfigChange:
        return cls(
            float(d["t"]),
            str(d["actor"]),
            str(d["key"]),
            d.get("old"),
            d.get("new"),
            str(d.get("note", "")),
        )


@dataclass(frozen=True)
class RetentionRecord:
    """Written by the journal itself when retention drops whole segments.

    ``dropped`` lists ``(segment, first_seq, last_seq, head_hash_hex)`` so the chain across
    the gap stays checkable and the deletion is itself part of the evidence.
    """

    kind: ClassVar[str] = "retention"
    t: float
    actor: str
    dropped: tuple[tuple[int, int, int, str], ...]
    reason: str = ""

    @property
    def source(self) -> str:
        return self.actor

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "t": float(self.t),
            "actor": self.actor,
            "dropped": [list(x) for x in self.dropped],
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RetentionRecord:
        dropped = tuple((int(a), int(b), int(c), str(h)) for a, b, c, h in d.get("dropped", ()))
        return cls(float(d["t"]), str(d["actor"]), dropped, str(d.get("reason", "")))


@dataclass(frozen=True)
class TickRecord:
    """The runtime advanced the picture to time ``t``: every message with a detection time at or
    before ``t`` that was journaled before this record has been stepped through the pipeline.

    A watermark in the ordered record. The live runtime decides *when* to step from its clock;
    journaling that decision is what lets a replay step at exactly the same times and so
    reproduce the same tracks and alerts (alert hysteresis and coasting depend on step times).
    """

    kind: ClassVar[str] = "tick"
    t: float
    source: str = "runtime"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "t": float(self.t), "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TickRecord:
        return cls(float(d["t"]), str(d.get("source", "runtime")))


@dataclass(frozen=True)
class InvestigationRecord:
    """A retrospective investigation (``skywarden investigate``) of the window ``[t_from, t_to]``
    of this journal: its record (tracks, launch regions, what was missed) as JSON. ``t`` is
    the window's end, so it sorts after what it explains."""

    kind: ClassVar[str] = "investigation"
    t: float
    actor: str
    t_from: float
    t_to: float
    body: dict[str, Any]

    @property
    def source(self) -> str:
        return self.actor

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "t": float(self.t),
            "actor": self.actor,
            "t_from": float(self.t_from),
            "t_to": float(self.t_to),
            "body": self.body,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InvestigationRecord:
        return cls(
            float(d["t"]), str(d["actor"]), float(d["t_from"]), float(d["t_to"]), dict(d["body"])
        )


Record: TypeAlias = (
    RawMessage
    | TrackRecord
    | AlertRecord
    | OperatorAction
    | ConfigChange
    | RetentionRecord
    | TickRecord
    | InvestigationRecord
)

RECORD_TYPES: dict[str, type[Record]] = {
    c.kind: c
    for c in (
        RawMessage,
        TrackRecord,
        AlertRecord,
        OperatorAction,
        ConfigChange,
        RetentionRecord,
        TickRecord,
        InvestigationRecord,
    )
}
KINDS: tuple[str, ...] = tuple(RECORD_TYPES)


def record_from_dict(d: Mapping[str, Any], payload: bytes | None = None) -> Record:
    """Inverse of ``rec.to_dict()`` (or of ``body_dict`` plus the payload for raw messages)."""
    cls = RECORD_TYPES.get(str(d.get("kind")))
    if cls is None:
        raise ValueError(f"unknown record kind {d.get('kind')!r}")
    if cls is RawMessage:
        return RawMessage.from_dict(d, payload)
    return cls.from_dict(d)


def record_to_json(rec: Record) -> str:
    return canonical_json(rec.to_dict())


def record_from_json(text: str) -> Record:
    d = json.loads(text)
    if not isinstance(d, dict):
        raise ValueError("record JSON must be an object")
    return record_from_dict(d)


def body_of(rec: Record) -> tuple[str, bytes | None]:
    """Storage split: canonical body text and the raw bytes (raw messages only)."""
    if isinstance(rec, RawMessage):
        return canonical_json(rec.body_dict()), rec.payload
    return canonical_json(rec.to_dict()), None


def detections_of(msg: RawMessage) -> list[Detection]:
    """The detections in a raw message's parsed form (empty when it follows no convention)."""
    return detections_from_parsed(msg.parsed, msg.t, msg.sensor_id)
