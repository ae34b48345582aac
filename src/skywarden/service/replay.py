"""``GET /api/replay``: what the picture was, from the journal, for the console's replay bar.

The service reads the journal through the small ``ReplayStore`` protocol (``time_range`` and
``records``, which ``store.journal.Journal`` has as it is), handed in as
``create_app(..., replay=journal)``; without one the routes answer 404. A window of at most
``MAX_WINDOW_S`` is cut into frames every ``step`` seconds; each frame holds, per track, the
latest journaled state at or before the frame time (if no older than ``HOLD_S`` and not
deleted), converted like the live picture. Alert transitions in the window come along so the
bar can mark them. Read-only: viewers may replay.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any, Protocol

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from skywarden.core.geo import GeoOrigin
from skywarden.service.auth import Viewer, unprocessable
from skywarden.service.convert import geo_points
from skywarden.service.schemas import GeoPoint
from skywarden.service.state import ServiceState, get_state
from skywarden.store.records import AlertRecord, TrackRecord

MAX_WINDOW_S = 1800.0
MAX_FRAMES = 1800
HOLD_S = 5.0

router = APIRouter(prefix="/api")
State = Annotated[ServiceState, Depends(get_state)]


class ReplayStore(Protocol):
    def time_range(self) -> tuple[float, float] | None: ...

    def records(
        self,
        from_t: float | None = None,
        to_t: float | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Iterable[Any]: ...


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReplayRangeOut(_Out):
    start: float = Field(description="time of the oldest journal record, s")
    end: float = Field(description="time of the newest journal record, s")


class ReplayTrackOut(_Out):
    id: str
    t: float
    status: str
    confirmed: bool
    coasting: bool
    enu: list[float]
    position: GeoPoint
    velocity_enu: list[float]
    speed_mps: float
    heading_deg: float
    object_class: str
    class_probs: dict[str, float]
    identity: str | None
    sensors: list[str]
    threat: None = None


class ReplayFrameOut(_Out):
    t: float
    tracks: list[ReplayTrackOut]


class ReplayAlertOut(_Out):
    t: float
    alert_id: str
    track_id: str | None
    to_state: str
    zone_id: str | None
    level: str
    actor: str


class ReplayOut(_Out):
    start: float
    end: float
    step: float
    frames: list[ReplayFrameOut]
    alerts: list[ReplayAlertOut]


def get_replay(request: Request) -> ReplayStore:
    store: ReplayStore | None = getattr(request.app.state, "replay", None)
    if store is None:
        raise HTTPException(404, "no journal to replay (start the service with a journal)")
    return store


Store = Annotated[ReplayStore, Depends(get_replay)]
_ERR = {404: {"description": "no journal, or nothing in it"}}


@router.get("/replay/range", responses=_ERR)  # type: ignore[arg-type]
def replay_range(_: Viewer, store: Store) -> ReplayRangeOut:
    tr = store.time_range()
    if tr is None:
        raise HTTPException(404, "the journal is empty")
    return ReplayRangeOut(start=tr[0], end=tr[1])


def _track_out(r: TrackRecord, pos: GeoPoint) -> ReplayTrackOut:
    x = [float(v) for v in r.x[:6]] + [0.0] * max(0, 6 - len(r.x))
    ve, vn, vu = x[3:6]
    return ReplayTrackOut(
        id=r.track_id,
        t=round(r.t, 3),
        status=r.status,
        confirmed=r.status in ("confirmed", "coasting"),
        coasting=r.status == "coasting",
        enu=[round(v, 2) for v in x[:3]],
        position=pos,
        velocity_enu=[round(v, 2) for v in x[3:6]],
        speed_mps=round(math.hypot(ve, vn, vu), 2),
        heading_deg=round(math.degrees(math.atan2(ve, vn)) % 360.0, 1),
        object_class=r.best_class,
        class_probs={k: round(v, 3) for k, v in r.class_probs.items()},
        identity=r.identity,
        sensors=list(r.sensors),
    )


def frames(
    records: Iterable[Any], start: float, end: float, step: float, origin: GeoOrigin
) -> tuple[list[ReplayFrameOut], list[ReplayAlertOut]]:
    """Cut time-ordered records into frames (latest state per track at each frame time)."""
    latest: dict[str, TrackRecord] = {}
    out: list[ReplayFrameOut] = []
    alerts: list[ReplayAlertOut] = []
    n = math.floor((end - start) / step) + 1
    times = [start + k * step for k in range(n)]
    k = 0

    def emit(ft: float) -> None:
        live = [
            r for r in latest.values() if ft - r.t <= HOLD_S and r.status != "deleted"
        ]  # fmt: skip
        live.sort(key=lambda r: r.track_id)
        enu = np.array([[*r.x[:3]] for r in live], dtype=float).reshape(-1, 3)
        pos = geo_points(origin, enu)
        out.append(
            ReplayFrameOut(
                t=round(ft, 3), tracks=[_track_out(r, p) for r, p in zip(live, pos, strict=True)]
            )
        )

    for rec in records:
        while k < n and rec.t > times[k]:
            emit(times[k])
            k += 1
        if isinstance(rec, TrackRecord):
            latest[rec.track_id] = rec
        elif isinstance(rec, AlertRecord) and rec.t >= start:
            alerts.append(
                ReplayAlertOut(
                    t=rec.t, alert_id=rec.alert_id, track_id=rec.track_id, to_state=rec.to_state,
                    zone_id=rec.zone_id, level=rec.level, actor=rec.actor,
                )
            )  # fmt: skip
    while k < n:
        emit(times[k])
        k += 1
    return out, alerts


@router.get("/replay", responses=_ERR)  # type: ignore[arg-type]
def replay(
    _: Viewer,
    st: State,
    store: Store,
    start: Annotated[float, Query(alias="from", description="window start, s")],
    end: Annotated[float, Query(alias="to", description="window end, s")],
    step: Annotated[float, Query(gt=0.05, le=60.0, description="s between frames")] = 1.0,
) -> ReplayOut:
    """Frames of the journaled picture between ``from`` and ``to`` (at most 30 min)."""
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise unprocessable("need finite from <= to", "query", "to")
    if end - start > MAX_WINDOW_S or (end - start) / step + 1 > MAX_FRAMES:
        msg = f"window too long: at most {MAX_WINDOW_S:.0f} s, {MAX_FRAMES} frames"
        raise unprocessable(msg, "query", "to")
    recs = store.records(start - HOLD_S, end, ["track", "alert"])
    fr, al = frames(recs, start, end, step, st.source.site.origin)
    return ReplayOut(start=start, end=end, step=step, frames=fr, alerts=al)
