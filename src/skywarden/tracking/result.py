"""What one ``Tracker.process`` call did: the value the later stages receive explicitly.

The classifier, the spoof monitor and the launch-point estimator need to know which
detection went to which track; they get it from this value, passed by the pipeline, not by
reading the tracker's fields after the call (which tied them to its internals and to the
order of calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from skywarden.core.observation import Detection


class Assignment(NamedTuple):
    """Detection ``detection`` updated track ``track_id``.

    ``candidates`` is how many tracks the detection gated with: evidence such as an RF hit
    says something about the track only when the assignment was not a coin toss. A track's
    first plot (two-point initiation) appears with ``candidates`` 1."""

    track_id: str
    detection: Detection
    candidates: int


@dataclass(frozen=True)
class TrackerResult:
    """One sensor report's effect on the tracks."""

    t: float
    sensor_id: str
    accepted: bool  # False: the whole report was refused (unknown sensor, bad or old time)
    assignments: tuple[Assignment, ...] = ()
    born: tuple[str, ...] = ()  # tracks this report started (tentative)
    confirmed: tuple[str, ...] = ()  # tracks this report confirmed
    deleted: tuple[str, ...] = ()  # tracks dropped or merged into another in this report
    detections: int = 0  # valid detections of the report
    used: int = 0  # of them, the ones that updated or started a track (not pending plots)

    @property
    def unused(self) -> int:
        """Detections that neither updated a track nor were claimed: clutter or candidates."""
        return self.detections - self.used
