"""What the tracker publishes: a track's state at one time, and the guarded status machine.

The tracker keeps its tracks in stacked arrays (see ``tracking.bank``); what leaves it is
one immutable ``TrackState`` per track per update, which is what threat assessment, the
journal, the console and the benchmark writer consume.

State ordering everywhere: ``x = [e, n, u, ve, vn, vu]`` (ENU metres and metres/second).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from skywarden.core.errors import StateError
from skywarden.core.types import Mat, Vec, frozen_from_fields


class TrackStatus(StrEnum):
    """tentative -> confirmed -> coasting -> deleted (tentative may be deleted directly)."""

    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    COASTING = "coasting"
    DELETED = "deleted"

    def can_become(self, new: TrackStatus) -> bool:
        return new in _ALLOWED[self]

    def to(self, new: TrackStatus) -> TrackStatus:
        """Return ``new`` if the transition is legal, else raise :class:`StateError`."""
        if new is self:
            return self
        if not self.can_become(new):
            raise StateError(f"track status {self.value} cannot become {new.value}")
        return new


_ALLOWED: dict[TrackStatus, frozenset[TrackStatus]] = {
    TrackStatus.TENTATIVE: frozenset({TrackStatus.CONFIRMED, TrackStatus.DELETED}),
    TrackStatus.CONFIRMED: frozenset({TrackStatus.COASTING, TrackStatus.DELETED}),
    TrackStatus.COASTING: frozenset({TrackStatus.CONFIRMED, TrackStatus.DELETED}),
    TrackStatus.DELETED: frozenset(),
}


class ObjectClass(StrEnum):
    DRONE = "drone"
    DRONE_FIXED_WING = "drone_fixed_wing"
    BIRD = "bird"
    AIRCRAFT = "aircraft"
    UNKNOWN = "unknown"
    # ballistic rounds, classed from kinematics by ``tracking.ballistic_tracker``
    ROCKET = "rocket"
    MORTAR = "mortar"
    SHELL = "shell"

    @property
    def family(self) -> str:
        """The coarse class used by the benchmark: drone, bird, aircraft or unknown."""
        return "drone" if self in (ObjectClass.DRONE, ObjectClass.DRONE_FIXED_WING) else self.value


@dataclass(frozen=True, eq=False)
class TrackState:
    """One track at one time.

    ``x`` has shape (6,) ordered ``[e, n, u, ve, vn, vu]``; ``P`` shape (6, 6).
    ``identity`` is a bound cooperative identity (Remote ID serial or ``icao:...``).
    ``class_probs`` maps :class:`ObjectClass` values to probabilities summing to 1.
    ``sensors`` names the sensors that contributed within the track's recent history.
    ``pos_hits`` counts the plots of position-fixing (ranging) sensors in the track's whole
    life (the tracker's bank), None where it is not known (a state not built by the tracker,
    e.g. one read back from a record): one stray radar plot taken by a crossing of bearings
    must not pass for a located track (``threat.assess``, rule 1).
    """

    id: str
    t: float
    x: Vec
    P: Mat
    status: TrackStatus
    identity: str | None = None
    class_probs: dict[str, float] = field(default_factory=dict)
    sensors: tuple[str, ...] = ()
    hits: int = 0
    score: float = 0.0
    first_t: float = 0.0
    mode_probs: tuple[float, ...] = ()
    pos_hits: int | None = None

    @classmethod
    def of(
        cls,
        id: str,
        t: float,
        x: Vec,
        P: Mat,
        status: TrackStatus,
        identity: str | None,
        sensors: tuple[str, ...],
        hits: int,
        score: float,
        first_t: float,
        mode_probs: tuple[float, ...],
        pos_hits: int | None = None,
    ) -> TrackState:
        """``TrackState(...)`` with every field given (and ``class_probs`` empty), for the
        tracker's copy of every track on every frame: the frozen ``__init__`` sets its thirteen
        fields one ``object.__setattr__`` at a time, which cost more than the rest of building
        the state; this fills the instance dict in one go (``frozen_from_fields``)."""
        return frozen_from_fields(
            cls,
            {
                "id": id,
                "t": t,
                "x": x,
                "P": P,
                "status": status,
                "identity": identity,
                "class_probs": {},
                "sensors": sensors,
                "hits": hits,
                "score": score,
                "first_t": first_t,
                "mode_probs": mode_probs,
                "pos_hits": pos_hits,
            },
        )

    def with_class_probs(self, class_probs: dict[str, float]) -> TrackState:
        """This state with ``class_probs`` replaced: the classifier's copy of every confirmed
        track on every frame. Equivalent to ``dataclasses.replace``, which re-runs
        ``__init__`` field by field (five times the cost); the fields are the same objects
        (shared arrays, which nothing mutates), so a shallow copy of the instance dict is it."""
        fields = dict(self.__dict__)
        fields["class_probs"] = class_probs
        return frozen_from_fields(TrackState, fields)

    @property
    def confirmed(self) -> bool:
        return self.status in (TrackStatus.CONFIRMED, TrackStatus.COASTING)

    @property
    def position(self) -> Vec:
        return np.asarray(self.x[:3])

    @property
    def velocity(self) -> Vec:
        return np.asarray(self.x[3:6])

    @property
    def speed(self) -> float:
        return float(np.linalg.norm(self.x[3:6]))

    @property
    def best_class(self) -> str:
        """The most probable class (the first of equals, in ``class_probs`` order)."""
        cp = self.class_probs
        if not cp:
            return ObjectClass.UNKNOWN.value
        # max over the keys by their values: the same first maximum as over items() with a
        # lambda key, without a Python call per class (read twice per track per frame)
        return max(cp, key=cp.__getitem__)
