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
The conversion is one codec for all kinds, read off each class's fields
(``store.record_codec``); a field with a rule of its own says so in its ``field(metadata=...)``.

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
from skywarden.store.record_codec import JsonRecord, decode_fields, encode_fields, json_field
from skywarden.store.record_codec import floats as _floats

# the detection codec moved to ``store.detections``; these names stay importable from here
HOISTED = _detections.HOISTED
detection_from_dict = _detections.detection_from_dict
detection_to_dict = _detections.detection_to_dict
detections_from_parsed = _detections.detections_from_parsed
detections_parsed = _detections.detections_parsed


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class RawMessage(JsonRecord):
    """One accepted sensor message: bytes as received, its parsed form, sensor, format, time."""

    kind: ClassVar[str] = "raw"
    t: float
    sensor_id: str
    format: str
    payload: bytes = field(metadata=json_field(skip=True))  # stored apart, as a BLOB
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
        return encode_fields(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], payload: bytes | None = None) -> RawMessage:
        if payload is None:
            payload = base64.b64decode(d.get("payload_b64", ""))
        return cls(payload=payload, **decode_fields(cls, d))


@dataclass(frozen=True)
class TrackRecord(JsonRecord):
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
    ground: dict[str, Any] = field(
        default_factory=dict, metadata=json_field(omit_empty=True, decode=lambda v: dict(v or {}))
    )

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


@dataclass(frozen=True)
class AlertRecord(JsonRecord):
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


@dataclass(frozen=True)
class OperatorAction(JsonRecord):
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


@dataclass(frozen=True)
class ConfigChange(JsonRecord):
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


def _dropped(v: Any) -> tuple[tuple[int, int, int, str], ...]:
    return tuple((int(a), int(b), int(c), str(h)) for a, b, c, h in v)


@dataclass(frozen=True)
class RetentionRecord(JsonRecord):
    """Written by the journal itself when retention drops whole segments.

    ``dropped`` lists ``(segment, first_seq, last_seq, head_hash_hex)`` so the chain across
    the gap stays checkable and the deletion is itself part of the evidence.
    """

    kind: ClassVar[str] = "retention"
    t: float
    actor: str
    dropped: tuple[tuple[int, int, int, str], ...] = field(
        metadata=json_field(encode=lambda v: [list(x) for x in v], decode=_dropped, missing=())
    )
    reason: str = ""

    @property
    def source(self) -> str:
        return self.actor


@dataclass(frozen=True)
class TickRecord(JsonRecord):
    """The runtime advanced the picture to time ``t``: every message with a detection time at or
    before ``t`` that was journaled before this record has been stepped through the pipeline.

    A watermark in the ordered record. The live runtime decides *when* to step from its clock;
    journaling that decision is what lets a replay step at exactly the same times and so
    reproduce the same tracks and alerts (alert hysteresis and coasting depend on step times).
    """

    kind: ClassVar[str] = "tick"
    t: float
    source: str = "runtime"


@dataclass(frozen=True)
class InvestigationRecord(JsonRecord):
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
