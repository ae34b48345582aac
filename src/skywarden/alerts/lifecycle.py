"""The alert lifecycle: raised -> acknowledged -> resolved, one alert per object and zone.

Rules an operator can rely on:

- **One alert per (track, zone).** A drone crossing several sensors' fields keeps one track
  and so one alert; the alert escalates (``advisory`` -> ``warning`` -> ``alert``) instead of
  duplicating.
- **Explained.** Every alert carries the evidence of its latest assessment
  (``threat.policy.Evidence``) and an ``explanation``: one line per raise, change of level
  and change of the track's class, saying what drove it. When the track's class changes the
  alert says so (``reclassified``) and whether it is kept (still a threat, with the rule) or
  will resolve (with the reason: classified bird, whitelisted, ...); a resolved alert keeps
  that reason in ``resolution``.
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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from skywarden.core.errors import StateError
from skywarden.threat.assess import ThreatAssessment, ThreatLevel
from skywarden.threat.policy import Evidence


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
    ADVISORY = "advisory"
    WARNING = "warning"
    ALERT = "alert"


_RANK = {AlertLevel.ADVISORY: 0, AlertLevel.WARNING: 1, AlertLevel.ALERT: 2}
MAX_EXPLANATION = 24  # lines kept on an alert (the journal has every event)


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
    evidence: Evidence | None = None
    explanation: tuple[str, ...] = ()
    resolution: str | None = None


def _explain(al: Alert, line: str) -> tuple[str, ...]:
    return (*al.explanation, line)[-MAX_EXPLANATION:]


@dataclass(frozen=True)
class AlertEvent:
    """One transition: ``kind`` is raised, escalated, reclassified, acknowledged or resolved."""

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
    if a.level >= ThreatLevel.ALERT:
        return AlertLevel.ALERT
    return AlertLevel.WARNING if a.level >= ThreatLevel.WARNING else AlertLevel.ADVISORY


def _why(a: ThreatAssessment) -> str:
    return a.evidence.summary() if a.evidence is not None else "; ".join(a.reasons)


class AlertManager:
    def __init__(self, config: AlertConfig | None = None) -> None:
        self.cfg = config or AlertConfig()
        self._active: dict[tuple[str, str], Alert] = {}
        self._last_threat: dict[tuple[str, str], float] = {}
        # alerts raised so far per (track, zone): an alert's id is made of its track, zone and
        # this count, so it does not depend on which other alerts were raised in the same step
        # (a worker that takes a site over replays reports in other step batches than the
        # dead one did; a global sequence gave one id to two different alerts there)
        self._raised: dict[tuple[str, str], int] = {}
        self.history: list[AlertEvent] = []
        self._quiet_reason: dict[tuple[str, str], str] = {}

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
        quiet: list[ThreatAssessment] = []
        for a in assessments:
            if a.level < ThreatLevel.ADVISORY or a.zone_id is None:
                if self._active:
                    quiet.append(a)
                continue
            key = (a.track_id, a.zone_id)
            self._last_threat[key] = t
            self._quiet_reason.pop(key, None)
            lvl = _level(a)
            cur = self._active.get(key)
            if cur is None:
                k = self._raised[key] = self._raised.get(key, 0) + 1
                al = Alert(
                    f"A{a.track_id}-{a.zone_id}-{k}",
                    a.track_id,
                    a.zone_id,
                    lvl,
                    AlertState.RAISED,
                    t,
                    t,
                    a.time_to_enter_s,
                    a.object_class,
                    a.reasons,
                    evidence=a.evidence,
                    explanation=(f"t={t:.0f} s {lvl.value} raised: {_why(a)}",),
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
                    evidence=a.evidence,
                )
                if a.object_class != cur.object_class:
                    new = replace(
                        new,
                        explanation=_explain(
                            new,
                            (
                                f"t={t:.0f} s class changed {cur.object_class} -> {a.object_class}:"
                                f" alert kept ({_why(a)})"
                            ),
                        ),
                    )
                    events.append(AlertEvent("reclassified", t, new))
                if _RANK[lvl] > _RANK[cur.level]:
                    new = replace(
                        new,
                        level=lvl,
                        explanation=_explain(
                            new, f"t={t:.0f} s escalated to {lvl.value}: {_why(a)}"
                        ),
                    )
                    events.append(AlertEvent("escalated", t, new))
                self._active[key] = new
        for a in quiet:  # tracks with an active alert that no rule raises now: say why
            for key, cur in list(self._active.items()):
                if key[0] != a.track_id:
                    continue
                why = "; ".join(a.reasons) or "no rule raises it now"
                self._quiet_reason[key] = why
                if a.object_class != cur.object_class:
                    new = replace(
                        cur,
                        updated_t=t,
                        object_class=a.object_class,
                        reasons=a.reasons,
                        explanation=_explain(
                            cur,
                            (
                                f"t={t:.0f} s class changed {cur.object_class} -> "
                                f"{a.object_class}: resolves in {self.cfg.clear_after_s:.0f} s "
                                f"unless raised again ({why})"
                            ),
                        ),
                    )
                    self._active[key] = new
                    events.append(AlertEvent("reclassified", t, new))
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
        quiet = self._quiet_reason.pop(key, None)
        if by is not None:
            why = f"resolved by {by}"
        elif quiet is not None:
            why = f"no threat for {self.cfg.clear_after_s:.0f} s: {quiet}"
        else:
            why = f"track not seen for {self.cfg.clear_after_s:.0f} s"
        new = replace(
            al,
            state=al.state.to(AlertState.RESOLVED),
            resolved_t=t,
            updated_t=t,
            resolution=why,
            explanation=_explain(al, f"t={t:.0f} s resolved: {why}"),
        )
        return AlertEvent("resolved", t, new, by)
