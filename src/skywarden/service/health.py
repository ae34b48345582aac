"""Health of the sensors that report over HTTP (``POST /api/ingest/{sensor_id}``).

Why here: the socket links (SAPIENT, ASTERIX, Beast/SBS, Remote ID, MQTT) keep a
``sensors.links.health.SensorStats`` each and the runtime hands their snapshots to
``GET /api/sensors``; a sensor posting JSON over HTTP has no link object, its messages arrive
through the service's own route. Without a tally here such a sensor showed ``unknown`` with no
last report after thousands of accepted posts. :class:`HttpHealth` keeps the same
``SensorStats`` per HTTP sensor, updated by the ingest route: ``accepted`` after the journal
took the message (the 202), ``rejected.<reason>`` for a body the parser refused (400) and
``journal_failed`` when the journal refused it (503), so the operator sees the same fields
(last report, rate, rejects by reason) for every link kind.
"""

from __future__ import annotations

from skywarden.sensors.links.health import SensorHealth, SensorStats


class HttpHealth:
    """One :class:`SensorStats` per sensor that has posted (created on its first post)."""

    def __init__(self, started_t: float) -> None:
        self.started_t = started_t
        self._stats: dict[str, SensorStats] = {}

    def _of(self, sensor_id: str) -> SensorStats:
        st = self._stats.get(sensor_id)
        if st is None:
            st = SensorStats(sensor_id, "http-json", f"/api/ingest/{sensor_id}", self.started_t)
            st.state = "receiving"
            self._stats[sensor_id] = st
        return st

    def accepted(self, sensor_id: str, t: float, detections: int) -> None:
        self._of(sensor_id).accepted(t, detections)

    def rejected(self, sensor_id: str, reason: str) -> None:
        self._of(sensor_id).rejected(reason)

    def journal_failed(self, sensor_id: str) -> None:
        self._of(sensor_id).counters.inc("journal_failed")

    def snapshot(self, now: float) -> dict[str, SensorHealth]:
        return {k: s.snapshot(now) for k, s in self._stats.items()}
