"""The operator alert for a spoofed cooperative identity: "cooperative identity looks spoofed".

``threat.spoof`` decides which identities are suspicious; ``threat.assess`` already withdraws
the whitelist from a suspicious track and lists the reason on it. That only reaches the
operator if the track is shown and threatens a zone. A spoofed identity is an event of its
own (somebody is broadcasting a name, possibly a whitelisted one, where it is not), so this
rule turns every flagged identity still heard within ``SpoofConfig.alert_hold_s`` into a
*warning* about pseudo-zone :data:`SPOOF_ZONE`, which the alert lifecycle raises once and
keeps (one alert per identity: keyed by the confirmed track it was on when first alerted,
else ``identity:<name>`` when its reports never made a confirmed track), and resolves when
the identity falls silent.

These assessments go to the alert manager only, not into the frame's per-track picture (a
track keeps one assessment per frame, from ``ThreatAssessor``).
"""

from __future__ import annotations

from skywarden.threat.assess import ThreatAssessment, ThreatLevel
from skywarden.threat.spoof import SpoofMonitor

SPOOF_ZONE = "cooperative-identity"
SPOOF_TEXT = "cooperative identity looks spoofed"


def spoof_assessments(monitor: SpoofMonitor, t: float) -> list[ThreatAssessment]:
    """One warning per flagged identity heard recently (see the module docstring)."""
    out = []
    for key, check, where in monitor.alerting(t):
        reasons = [f"{SPOOF_TEXT}: {check.identity}", check.reason]
        if where:
            reasons.append(where)
        out.append(
            ThreatAssessment(
                track_id=key,
                t=t,
                level=ThreatLevel.WARNING,
                score=float(ThreatLevel.WARNING) / 3.0,
                zone_id=SPOOF_ZONE,
                time_to_enter_s=None,
                object_class="unknown",
                friendly=False,
                reasons=tuple(reasons),
                identity_status="suspicious",
            )
        )
    return out
