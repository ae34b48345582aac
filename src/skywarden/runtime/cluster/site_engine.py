"""A pooled site's records in stream order -> the one engine -> frames and alert transitions.

The worker does not step the pipeline itself: every record on the site's raw stream goes
into a :class:`~skywarden.runtime.engine.engine.Engine`, the engine that live
``skywarden run``, restore and ``skywarden replay`` drive too. Reports wait in the engine's
reorder buffer; a **tick** record steps everything measured up to its time (and, with
nothing buffered, still steps so tracks coast and drop and alerts clear, as a single site
does when its sensors fall silent); an **operator action** or **site edit** is applied where
it stands in the stream. Ticks, actions and edits are records on the stream itself (subject
``raw._ctl``, see ``topology.CONTROL``), written by the owning worker or by central, so a
worker that takes the site over replays exactly the same steps in exactly the same order:
its frames and alert transitions are the dead worker's, and the transitions' message ids
(numbered per alert, :class:`codec.TransitionCounter`) deduplicate in the stream.

Accounting, for the exactly-once check: every raw *report* sequence is listed in exactly one
published frame (the one of the first tick after it), control records are accounted for by
the frame's ``upto``. Records at or below ``replay_to`` (what stored frames already cover)
are folded in silently after a restore: their frames and alerts exist.

Nothing here touches NATS or a clock; :class:`SiteRunner` is the transport around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skywarden.core.counters import Counters
from skywarden.core.inbound import Inbound
from skywarden.core.site import Site
from skywarden.runtime.cluster import codec
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Frame, PipelineConfig
from skywarden.store.records import AlertRecord, TickRecord

Item = codec.RawReport | codec.ControlRecord


@dataclass
class SiteState:
    """What a snapshot holds: the engine after raw sequence ``covered``, the per-alert
    transition counts, and the report sequences consumed but not yet in a frame."""

    machine: Engine
    covered: int = 0
    transitions: codec.TransitionCounter = field(default_factory=codec.TransitionCounter)
    unframed: list[tuple[int, float]] = field(default_factory=list)

    @classmethod
    def new(cls, site: Site, config: PipelineConfig | None = None) -> SiteState:
        return cls(Engine(site, config))


@dataclass(frozen=True)
class OutFrame:
    """One picture frame to publish: after the tick at ``upto``, covering ``raw``."""

    upto: int
    frame: Frame
    raw: tuple[tuple[int, float], ...]


Out = OutFrame | codec.SiteAlert


class SiteEngine:
    def __init__(self, site_id: str, worker_id: str, state: SiteState, replay_to: int = 0):
        self.site_id = site_id
        self.worker_id = worker_id
        self.state = state
        self.replay_to = replay_to
        self.counters = Counters()
        self.outbox: list[Out] = []
        # the latest report time seen: a tick up to it releases everything consumed
        self.data_t = max(state.machine.buffer.released_t, _last_t(state.machine))
        state.unframed = [x for x in state.unframed if x[0] > replay_to]

    @property
    def tick_t(self) -> float:
        """The time of the last tick applied (-inf before the first)."""
        return self.state.machine.buffer.released_t

    def take(self, seq: int, item: Item | None, report: bool, received_t: float = 0.0) -> None:
        """Apply the record at raw stream sequence ``seq`` (None: undecodable, counted by the
        caller; a report still goes into the next frame's account)."""
        st = self.state
        st.covered = seq
        live = seq > self.replay_to
        if not live:
            self.counters.inc("replayed")
        elif report:
            st.unframed.append((seq, received_t))
        if item is None:
            return
        m = st.machine
        frames: list[Frame] = []
        if isinstance(item, codec.RawReport):
            i = item.inbound
            # the report time, not the ingest wall time, is when an empty look happened
            m.inbound(Inbound(i.sensor_id, i.source, item.t, i.payload, i.detections))
            self.data_t = max(self.data_t, item.t)
            self.counters.inc("reports")
        else:
            frames = m.feed(item)
        m.drain_events()  # the records below carry them; nobody else follows this engine
        for rec in m.drain():
            if isinstance(rec, AlertRecord):
                n = st.transitions.next_id(rec.alert_id)  # numbered also when folded
                if live:
                    self.outbox.append(
                        codec.alert_of_record(self.site_id, self.worker_id, rec, seq, n)
                    )
        if isinstance(item, TickRecord):
            self.data_t = max(self.data_t, item.t)
            self.counters.inc("ticks")
            if live:
                last = frames[-1] if frames else m.pipeline.last
                frame = last if last is not None else Frame(item.t, (), (), ())
                self.outbox.append(OutFrame(seq, frame, tuple(st.unframed)))
                st.unframed = []

    def take_outbox(self) -> list[Out]:
        out, self.outbox = self.outbox, []
        return out


def _last_t(m: Engine) -> float:
    last = m.pipeline.last
    return float("-inf") if last is None else float(last.t)
