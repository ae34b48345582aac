"""Per-sensor link counters and the health snapshot the service shows.

Why here: every link (SAPIENT TCP, ASTERIX UDP, Beast/SBS TCP, Remote ID UDP, MQTT) counts
the same things for the operator: messages accepted (journaled), detections they carried,
rejections by reason, when the sensor last spoke and how often. :class:`SensorStats` is the
mutable tally a link updates; :class:`SensorHealth` is the frozen snapshot ``service`` renders
(``sensors`` sits below ``service`` in the layer contract, so service can import it).

Counter names: ``journaled`` (messages accepted and journaled: ``SensorHealth.accepted``),
``detections``, ``rejected.<reason>`` (the parser's reason keys), ``journal_failed`` (the
ingest port refused a batch: the sender was not acknowledged), ``dropped.queue_full`` (UDP
datagrams arriving faster than the journal takes them). Decoders that keep their own
counters (ADS-B, Remote ID) are handed this tally's :class:`TapCounters`, so their reasons
land here and a link can tell, in O(1), whether the message it just fed was taken in. The
link's own ``journaled`` is kept apart from the decoders' ``accepted.<what>``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from skywarden.core.counters import Counters

RATE_WINDOW_S = 60.0


class TapCounters(Counters):
    """Counters that also keep running totals of ``accepted.*`` and ``rejected.*`` increments.

    A link feeds one message and compares ``accepts`` before and after: the decoders count
    ``accepted.<what>`` exactly when they took a message in (its state changed, even if a
    later check, such as a CPR jump, refused the position it implied), which is what the
    journal must hold for a replay to rebuild the same state.
    """

    def __init__(self) -> None:
        super().__init__()
        self.accepts = 0
        self.rejects = 0

    def inc(self, name: str, n: int = 1) -> None:
        super().inc(name, n)
        if name.startswith("accepted."):
            self.accepts += n
        elif name.startswith("rejected."):
            self.rejects += n


@dataclass(frozen=True)
class SensorHealth:
    """One sensor's link as the operator sees it (a value: safe to hand to another task).

    ``state``: ``listening`` (a server/UDP socket is bound, nothing heard yet), ``receiving``,
    ``connecting`` / ``connected`` / ``disconnected`` (client links), ``stopped``.
    ``registered`` is the SAPIENT registration state (None for protocols without one).
    ``rate_hz`` is accepted messages per second over the last minute (or since start).
    """

    sensor_id: str
    protocol: str
    endpoint: str
    state: str
    registered: bool | None
    last_report_t: float | None
    rate_hz: float
    accepted: int
    detections: int
    rejected: tuple[tuple[str, int], ...]
    journal_failed: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(n for _, n in self.rejected)


class SensorStats:
    """The mutable tally behind one :class:`SensorHealth` (owned by one link, one loop)."""

    def __init__(self, sensor_id: str, protocol: str, endpoint: str, started_t: float) -> None:
        self.sensor_id = sensor_id
        self.protocol = protocol
        self.endpoint = endpoint
        self.started_t = started_t
        self.counters = TapCounters()
        self.state = "starting"
        self.registered: bool | None = None
        self.last_report_t: float | None = None
        self._recent: deque[float] = deque()

    def accepted(self, t: float, detections: int = 0) -> None:
        self.counters.inc("journaled")
        if detections:
            self.counters.inc("detections", detections)
        self.last_report_t = t
        self._recent.append(t)
        if len(self._recent) > 100_000:
            self._recent.popleft()

    def rejected(self, reason: str) -> None:
        self.counters.inc(f"rejected.{reason}")

    def snapshot(self, now: float) -> SensorHealth:
        while self._recent and self._recent[0] < now - RATE_WINDOW_S:
            self._recent.popleft()
        span = min(RATE_WINDOW_S, max(1.0, now - self.started_t))
        c = self.counters.snapshot()
        rejected = tuple((k.split(".", 1)[1], v) for k, v in c.items() if k.startswith("rejected."))
        return SensorHealth(
            sensor_id=self.sensor_id,
            protocol=self.protocol,
            endpoint=self.endpoint,
            state=self.state,
            registered=self.registered,
            last_report_t=self.last_report_t,
            rate_hz=round(len(self._recent) / span, 3),
            accepted=c.get("journaled", 0),
            detections=c.get("detections", 0),
            rejected=rejected,
            journal_failed=c.get("journal_failed", 0),
        )
