"""The alert lifecycle: raised -> acknowledged -> resolved, one alert per object and zone.

Rules an operator can rely on:

- **One alert per (track, zone).** A drone crossing several sensors' fields keeps one track
  and so one alert; the alert escalates (``warning`` -> ``alert``) instead of duplicating.
- **Hysteresis.** An alert resolves only after its threat has stayed below warning for
  ``clear_after_s`` (or its track is gone that long), so it does not flap on noisy predictions.
- **Guarded transitions.** :class:`AlertState` refuses illegal moves (a resolved alert cannot
  be acknowledged); every transition comes out as an :class:`AlertEvent` for the journal and
  the sinks.

Time is always passed in.

**Bounded memory.** ``history`` keeps the newest ``max_history`` events (a list, trimmed in
chunks so appends stay amortised O(1)): what the console shows (active alerts and the
recently resolved ones, taken from the tail) and what ``get`` needs. The complete record is
the journal, which every event reaches through the runtime; a long-running service must not
keep it in memory too.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from skywarden.core.errors import StateError
from skywarden.threat.assess import ThreatAssessment, ThreatLevel


class AlertState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    def to(self, new: AlertState) -> AlertState:
        if new is self:
            return self
        allowed = {
            AlertState.RAISED: {AlertState.ACKNOWLEDGED, AlertState.RESOLVED},
            AlertState.ACKNOWLEDGED: {AlertState.RESOLVED},
            AlertState.RESOLVED: set(),
        }[self]
        if new not in allowed:
            raise StateError(f"alert {self.value} cannot become {new.value}")
        return new


class AlertLevel(StrEnum):
    WARNING = "warning"
    ALERT = "alert"


@dataclass(frozen=True)
class Alert:
    """An operator-facing alert about one track and one zone, with its state history."""

    id: str
    track_id: str
    zone_id: str
    level: AlertLevel
    state: AlertState
    raised_t: float
    updated_t: float
    time_to_enter_s: float | None = None
    object_class: str = "unknown"
    reasons: tuple[str, ...] = ()
    acknowledged_by: str | None = None
    acknowledged_t: float | None = None
    resolved_t: float | None = None


@dataclass(frozen=True)
class AlertEvent:
    """One transition: ``kind`` is raised, escalated, acknowledged or resolved."""

    kind: str
    t: float
    alert: Alert
    by: str | None = None


@dataclass(frozen=True)
class AlertConfig:
    """When a quiet alert clears, and how many events stay in memory."""

    clear_after_s: float = 10.0
    max_history: int = 10_000  # events kept in memory; the journal keeps them all


def _level(a: ThreatAssessment) -> AlertLevel:
    return AlertLevel.ALERT if a.level >= ThreatLevel.ALERT else AlertLevel.WARNING


class AlertManager:
    def __init__(self, config: AlertConfig | None = None) -> None:
        self.cfg = config or AlertConfig()
        self._active: dict[tuple[str, str], Alert] = {}
        self._last_threat: dict[tuple[str, str], float] = {}
        self._seq = itertools.count(1)
        self.history: list[AlertEvent] = []

    @property
    def active(self) -> list[Alert]:
        return list(self._active.values())

    def get(self, alert_id: str) -> Alert | None:
        for a in self._active.values():
            if a.id == alert_id:
                return a
        for ev in reversed(self.history):
            if ev.alert.id == alert_id:
                return ev.alert
        return None

    def update(self, assessments: Sequence[ThreatAssessment], t: float) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        for a in assessments:
            if a.level < ThreatLevel.WARNING or a.zone_id is None:
                continue
            key = (a.track_id, a.zone_id)
            self._last_threat[key] = t
            lvl = _level(a)
            cur = self._active.get(key)
            if cur is None:
                al = Alert(
                    f"A{next(self._seq)}",
                    a.track_id,
                    a.zone_id,
                    lvl,
                    AlertState.RAISED,
                    t,
                    t,
                    a.time_to_enter_s,
                    a.object_class,
                    a.reasons,
                )
                self._active[key] = al
                events.append(AlertEvent("raised", t, al))
            else:
                new = replace(
                    cur,
                    updated_t=t,
                    time_to_enter_s=a.time_to_enter_s,
                    object_class=a.object_class,
                    reasons=a.reasons,
                )
                if lvl is AlertLevel.ALERT and cur.level is AlertLevel.WARNING:
                    new = replace(new, level=lvl)
                    events.append(AlertEvent("escalated", t, new))
                self._active[key] = new
        for key, al in list(self._active.items()):
            last = self._last_threat.get(key, al.raised_t)
            if t - last >= self.cfg.clear_after_s:
                events.append(self._resolve(key, t, None))
        self._record(*events)
        return events

    def _record(self, *events: AlertEvent) -> None:
        """Append to ``history`` and trim it to ``max_history`` (in chunks of a quarter)."""
        self.history.extend(events)
        cap = max(1, self.cfg.max_history)
        if len(self.history) > cap + cap // 4:
            del self.history[: len(self.history) - cap]

    def acknowledge(self, alert_id: str, by: str, t: float) -> AlertEvent:
        for key, al in self._active.items():
            if al.id == alert_id:
                new = replace(
                    al,
                    state=al.state.to(AlertState.ACKNOWLEDGED),
                    acknowledged_by=by,
                    acknowledged_t=t,
                    updated_t=t,
                )
                self._active[key] = new
                ev = AlertEvent("acknowledged", t, new, by)
                self._record(ev)
                return ev
        raise StateError(f"no active alert {alert_id}")

    def resolve(self, alert_id: str, by: str, t: float) -> AlertEvent:
        for key, al in self._active.items():
            if al.id == alert_id:
                ev = self._resolve(key, t, by)
                self._record(ev)
                return ev
        raise StateError(f"no active alert {alert_id}")

    def _resolve(self, key: tuple[str, str], t: float, by: str | None) -> AlertEvent:
        al = self._active.pop(key)
        self._last_threat.pop(key, None)
        new = replace(al, state=al.state.to(AlertState.RESOLVED), resolved_t=t, updated_t=t)
        return AlertEvent("resolved", t, new, by)
