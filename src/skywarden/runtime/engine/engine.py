"""The one engine: ordered input records in, picture frames, alert events and records out.

Every mode that runs the pipeline is a transport around one :class:`Engine`, and only the
engine calls ``Pipeline.step``: the live loop (``live_source``), the restore at start-up
(``record_restore``), ``skywarden replay``, ``skywarden track``/``bench`` (``bench_io``), the
investigation's tap and the slew-to-cue loop (``cue``). They differ only in where the
inputs come from and where the outputs go, so a recorded journal gives the same frames and
alert events through any of them. Inputs, in the order the transport (for the live system:
the journal) gives them:

* a **sensor message** (an ``Inbound`` live, a ``RawMessage`` read back): its detections,
  grouped by detection time into :class:`~skywarden.sensors.skybench.Scan` values, wait in
  a reorder buffer (a message with no detection is an empty scan at its receive time: the
  sensor looked and saw nothing);
* a **tick** (``TickRecord(t)``): every buffered scan measured at or before ``t`` goes
  through ``Pipeline.step`` in time order, one step per ``step_s`` (50 ms) of measurement
  time, one sensor's object-by-object reports joined into looks (``runtime.engine.steps``:
  why, and the exact rules); a tick that releases one time (the benchmark path) is one
  step of that time; with nothing to step the pipeline still steps at ``t`` so tracks
  coast and alerts clear. A scan measured before a tick already passed is refused and
  counted (``rejected.too_late``), never applied out of order;
* an **operator action** (``OperatorAction`` ``acknowledge``/``resolve`` of an alert id),
  applied at the time of the last step;
* a **configuration change** (``ConfigChange`` with key ``site.edit``: the zones and
  whitelist an operator edited, ``runtime.engine.site_edits``), in force from the next step;
* a ready **scan** (:meth:`Engine.scan`: a skybench line, already one look of a sensor).

Nothing here reads a clock, so the same inputs give the same frames, the same track
records and the same alert records, bit for bit. That is the replay guarantee; the
journal supplies the order.

Outputs, as values the engine returns (never read back from a stage's internals):

* the **frames** of the steps a tick made (``tick``/``feed`` return them): tracks,
  threat assessments, the step's alert events;
* the **alert events**, every transition in order, the operators' included
  (:meth:`Engine.drain_events`): what alert sinks and peers are handed;
* the **records** to journal (:meth:`Engine.drain`): an ``AlertRecord`` per alert
  transition, and a ``TrackRecord`` per confirmed track when it first appears, when its
  status changes, at most every ``track_period_s`` of site time otherwise, and a last one
  with status ``deleted`` when it leaves the picture.

:meth:`Engine.push` is all of it for one input as one :class:`Output` value.
``on_step(scans, frame)``, when set, sees every step's scans and frame (the investigation
keeps the reports it stepped); it is no part of the state and is not snapshotted.

``Engine`` is the only stepper of the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

from skywarden.alerts.lifecycle import AlertEvent
from skywarden.core.counters import Counters
from skywarden.core.errors import StateError
from skywarden.core.inbound import Inbound
from skywarden.core.observation import Detection
from skywarden.core.site import Site
from skywarden.core.terrain import Terrain
from skywarden.core.track import TrackState
from skywarden.runtime.engine.ordering import ReorderBuffer
from skywarden.runtime.engine.pipeline import Frame, Pipeline, PipelineConfig
from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY, apply_site_edit
from skywarden.runtime.engine.steps import JOIN_S, STEP_S, steps_of
from skywarden.sensors.skybench import Scan
from skywarden.service.source import UnknownAlertError
from skywarden.store.records import (
    AlertRecord,
    ConfigChange,
    OperatorAction,
    RawMessage,
    Record,
    TickRecord,
    TrackRecord,
    detections_of,
)

OPERATOR_ACTIONS = ("acknowledge", "resolve")


# sources whose every message is a whole look of the sensor (a skybench line); the others
# (SAPIENT, ASTERIX, JSON, MQTT, ...) report object by object (see Tracker.process)
WHOLE_SCAN_SOURCES = frozenset({"sim", "skybench"})


def scans_of(
    sensor_id: str, received_t: float, detections: Sequence[Detection], complete: bool = True
) -> list[Scan]:
    """One message's detections as scans, one per distinct detection time (in message order)."""
    if not detections:
        return [Scan(received_t, sensor_id, (), complete=complete)]
    by_t: dict[float, list[Detection]] = {}
    for d in detections:
        by_t.setdefault(float(d.t), []).append(d)
    return [Scan(t, sensor_id, tuple(ds), complete=complete) for t, ds in by_t.items()]


def alert_record(ev: AlertEvent, from_state: str | None, run: int = 0) -> AlertRecord:
    a = ev.alert
    return AlertRecord(
        t=ev.t,
        alert_id=a.id,
        track_id=a.track_id,
        to_state=a.state.value,
        from_state=from_state,
        zone_id=a.zone_id,
        level=a.level.value,
        reason="; ".join(a.reasons),
        actor=ev.by or "system",
        detail={
            "event": ev.kind,
            "object_class": a.object_class,
            "raised_t": a.raised_t,
            "time_to_enter_s": a.time_to_enter_s,
            "run": run,
            "evidence": None if a.evidence is None else a.evidence.to_dict(),
            "explanation": list(a.explanation[-1:]),  # this event's line; the alert has all
            "resolution": a.resolution,
        },
    )


@dataclass
class _Published:
    t: float  # frame time of the last TrackRecord written for this track
    status: str
    last: TrackState = field(repr=False)


@dataclass(frozen=True)
class Output:
    """What one input made: the frames stepped, the alert transitions (steps' and operator's)
    and the records to journal, in order."""

    frames: tuple[Frame, ...] = ()
    events: tuple[AlertEvent, ...] = ()
    records: tuple[Record, ...] = ()


StepObserver = Callable[[Sequence[Scan], Frame], None]


class Engine:
    """Ordered inputs -> ``Pipeline`` steps -> frames, alert events and records (module doc)."""

    on_step: StepObserver | None = None  # a hook, not state: never snapshotted
    # how a tick's scans become steps (``runtime.engine.steps``); class constants, so every
    # engine (live, restore, replay) makes the same steps from the same journal
    step_s: ClassVar[float] = STEP_S
    join_s: ClassVar[float] = JOIN_S
    _state_transient: ClassVar[tuple[str, ...]] = ("on_step",)

    def __init__(
        self,
        site: Site,
        config: PipelineConfig | None = None,
        track_period_s: float = 1.0,
        tracker_name: str = "tracker",
        records: bool = True,
        terrain: Terrain | None = None,
    ) -> None:
        """``records`` False: no track and alert records are made (``drain`` stays empty), for
        the transports that write frames, not a journal (``track``/``bench``, investigate).
        ``terrain``: the ground height under launch points and impacts (``core.terrain``)."""
        self.site = site
        self.records = records
        self.pipeline = Pipeline(site, config, terrain)
        self.track_period_s = track_period_s
        self.tracker_name = tracker_name
        self.run = 0
        self.buffer: ReorderBuffer[Scan] = ReorderBuffer(0.0)
        self.counters = Counters()
        self._published: dict[str, _Published] = {}
        self._alert_state: dict[str, str] = {}
        self._outputs: list[Record] = []
        self._events: list[AlertEvent] = []

    def set_run(self, start_seq: int) -> None:
        """Tag outputs from now on with the run (its ``runtime.start`` record's seq): ids
        restart with every process, the run tells them apart."""
        self.run = start_seq
        self.tracker_name = f"tracker/{start_seq}"

    # ------------------------------------------------------------------ inputs

    def message(
        self,
        sensor_id: str,
        received_t: float,
        detections: Sequence[Detection],
        complete: bool = True,
    ) -> None:
        self.counters.inc("machine.messages")
        for s in scans_of(sensor_id, received_t, detections, complete):
            self.scan(s)

    def scan(self, s: Scan) -> None:
        """A ready scan (one look of a sensor, as a skybench line is) into the reorder buffer."""
        if self.buffer.push(s.t, s):
            self.counters.inc("machine.scans")
        else:
            self.counters.inc("machine.rejected.too_late")

    def inbound(self, m: Inbound) -> None:
        self.message(m.sensor_id, m.received_t, m.detections, self._whole(m.sensor_id, m.source))

    def raw(self, m: RawMessage) -> None:
        self.message(m.sensor_id, m.t, detections_of(m), self._whole(m.sensor_id, m.format))

    def _whole(self, sensor_id: str, source: str) -> bool:
        """Is each message of this sensor a whole look? Its site entry says (``reports``),
        else the message format (``WHOLE_SCAN_SOURCES``)."""
        spec = self.pipeline.site.sensor_map.get(sensor_id)
        if spec is not None and spec.reports is not None:
            return spec.reports == "scans"
        return source in WHOLE_SCAN_SOURCES

    def tick(self, t: float) -> list[Frame]:
        """Step everything measured up to ``t``; the frames produced, oldest first."""
        released = self.buffer.release(t)
        self.buffer.released_t = max(self.buffer.released_t, t)
        frames = [
            self._step(looks, ts) for ts, looks in steps_of(released, self.step_s, self.join_s)
        ]
        last = self.pipeline.last
        if not frames and (last is None or t > last.t):
            frames.append(self._step([], t))
        self.counters.inc("machine.ticks")
        return frames

    def act(self, action: OperatorAction) -> AlertEvent:
        """Apply an operator's acknowledge/resolve; raises UnknownAlertError or StateError."""
        if action.action not in OPERATOR_ACTIONS or action.target is None:
            raise StateError(f"operator action {action.action!r} does not change an alert")
        mgr = self.pipeline.alerts
        if mgr.get(action.target) is None:
            raise UnknownAlertError(action.target)
        last = self.pipeline.last
        t = last.t if last is not None else action.t
        if action.action == "acknowledge":
            ev = mgr.acknowledge(action.target, action.operator, t)
        else:
            ev = mgr.resolve(action.target, action.operator, t)
        self._alert_out(ev)
        self.counters.inc(f"alerts.{ev.kind}_by_operator")
        return ev

    def feed(self, item: Inbound | Record) -> list[Frame]:
        """Any input; frames for ticks. Operator actions that fail are counted, not raised."""
        if isinstance(item, Inbound):
            self.inbound(item)
        elif isinstance(item, RawMessage):
            self.raw(item)
        elif isinstance(item, TickRecord):
            return self.tick(item.t)
        elif isinstance(item, ConfigChange) and item.key == SITE_EDIT_KEY:
            self.pipeline.set_site(apply_site_edit(self.pipeline.site, item.new))
            self.counters.inc("machine.site_edits")
        elif isinstance(item, OperatorAction) and item.action in OPERATOR_ACTIONS:
            try:
                self.act(item)
            except (UnknownAlertError, StateError):
                self.counters.inc("machine.operator_refused")
        return []

    def feed_all(self, items: Iterable[Inbound | Record]) -> list[Frame]:
        frames: list[Frame] = []
        for it in items:
            frames += self.feed(it)
        return frames

    def push(self, item: Inbound | Record | Scan) -> Output:
        """One input and everything it made, as one value (frames, events, records)."""
        if isinstance(item, Scan):
            self.scan(item)
            frames: list[Frame] = []
        else:
            frames = self.feed(item)
        return Output(tuple(frames), tuple(self.drain_events()), tuple(self.drain()))

    # ------------------------------------------------------------------ outputs

    def drain(self) -> list[Record]:
        """Output records produced since the last call (track states, alert transitions)."""
        out, self._outputs = self._outputs, []
        return out

    def drain_events(self) -> list[AlertEvent]:
        """Alert transitions since the last call, in order: the steps' and the operators'."""
        out, self._events = self._events, []
        return out

    def _step(self, scans: list[Scan], t: float) -> Frame:
        frame = self.pipeline.step(scans, t)  # the one call of Pipeline.step
        self.counters.inc("machine.steps")
        if self.on_step is not None:
            self.on_step(scans, frame)
        for ev in frame.events:
            self._alert_out(ev)
        if self.records:
            self._tracks_out(frame)
        return frame

    def _alert_out(self, ev: AlertEvent) -> None:
        self._events.append(ev)
        if not self.records:
            return
        prev = self._alert_state.get(ev.alert.id)
        self._outputs.append(alert_record(ev, prev, self.run))
        if ev.alert.state.value == "resolved":
            self._alert_state.pop(ev.alert.id, None)
        else:
            self._alert_state[ev.alert.id] = ev.alert.state.value

    def _tracks_out(self, frame: Frame) -> None:
        seen: set[str] = set()
        ground = frame.ground_fields() if frame.ballistic or frame.launches else {}
        for tr in frame.tracks:
            if not tr.confirmed:
                continue
            seen.add(tr.id)
            p = self._published.get(tr.id)
            status = tr.status.value
            if p is None or p.status != status or frame.t - p.t >= self.track_period_s:
                self._outputs.append(
                    TrackRecord.from_state(tr, self.tracker_name, ground=ground.get(tr.id))
                )
                self._published[tr.id] = _Published(frame.t, status, tr)
            else:
                p.last = tr
        for tid in [k for k in self._published if k not in seen]:
            last = self._published.pop(tid).last
            rec = TrackRecord.from_state(last, self.tracker_name)
            self._outputs.append(replace(rec, t=max(frame.t, last.t), status="deleted"))
