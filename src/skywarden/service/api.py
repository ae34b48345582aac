"""REST routes: health, config, site, tracks, history, alerts (list, acknowledge, resolve), stats.

Each handler is a few lines: read the source's latest picture, convert with ``convert``.
Errors: an unknown alert is 404, an illegal transition (acknowledging a resolved alert) 409.
Reading needs a viewer (``auth``); acknowledge and resolve need an operator, record the
logged-in operator's name (the body's ``by`` is ignored) and are audited.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Response

from skywarden.alerts.lifecycle import Alert, AlertState
from skywarden.core.errors import StateError
from skywarden.service import convert
from skywarden.service.auth import Operator, Principal, Viewer
from skywarden.service.schemas import (
    AlertAction,
    AlertOut,
    ConfigOut,
    HealthOut,
    HistoryOut,
    SiteOut,
    StatsOut,
    TrackOut,
)
from skywarden.service.source import ChipSource, UnknownAlertError
from skywarden.service.state import ServiceState, get_state
from skywarden.store.records import OperatorAction

router = APIRouter(prefix="/api")
State = Annotated[ServiceState, Depends(get_state)]


@router.get("/health")
def health(st: State) -> HealthOut:
    pic = st.source.current()
    if pic is None:
        return HealthOut(
            status="starting", mode=st.source.mode, seq=0, picture_t=None, picture_age_s=None
        )
    age = max(0.0, st.clock.now() - pic.wall_t)
    return HealthOut(
        status="ok", mode=st.source.mode, seq=pic.seq, picture_t=pic.t, picture_age_s=round(age, 3)
    )


@router.get("/config")
def config(_: Viewer, st: State) -> ConfigOut:
    s = st.settings
    return ConfigOut(stale_after_s=s.stale_after_s, operator=s.operator)


@router.get("/site")
def site(_: Viewer, st: State) -> SiteOut:
    return convert.site_out(st.source.site)


@router.get("/tracks")
def tracks(_: Viewer, st: State, confirmed_only: bool = False) -> list[TrackOut]:
    pic = st.source.current()
    if pic is None:
        return []
    out = convert.tracks_out(pic, st.source.site.origin)
    return [t for t in out if t.confirmed] if confirmed_only else out


@router.get(
    "/tracks/{track_id}/chip",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the latest chip (JPEG)"},
        404: {"description": "no camera chip for this track"},
    },
)
def track_chip(track_id: str, _: Viewer, st: State) -> Response:
    """The latest image chip of a track a camera was cued to; what it is in the headers
    (``X-Chip-Synthetic: true`` when a simulated camera rendered it)."""
    src = st.source
    chip = src.track_chip(track_id) if isinstance(src, ChipSource) else None
    if chip is None:
        raise HTTPException(404, f"no camera chip for track {track_id}")
    headers = {
        "X-Chip-Camera": str(chip.get("camera", "")),
        "X-Chip-Time": str(chip.get("t_image", "")),
        "X-Chip-Label": str(chip.get("label", "")),
        "X-Chip-Confidence": str(chip.get("confidence", "")),
        "X-Chip-Synthetic": "true" if chip.get("synthetic") else "false",
        "Cache-Control": "no-store",
    }
    jpeg = base64.b64decode(str(chip["jpeg_b64"]))
    return Response(jpeg, media_type="image/jpeg", headers=headers)


@router.get("/history")
def history(_: Viewer, st: State) -> HistoryOut:
    """Recent trail of every current track, for a console's cold start (then the WebSocket)."""
    pic = st.source.current()
    if pic is None:
        return HistoryOut(t=None, trails={})
    return HistoryOut(t=pic.t, trails={k: convert.trail_out(v) for k, v in pic.trails.items()})


@router.get("/alerts")
def alerts(_: Viewer, st: State, state: AlertState | None = None) -> list[AlertOut]:
    pic = st.source.current()
    found = pic.alerts if pic is not None else ()
    return [convert.alert_out(a) for a in found if state is None or a.state is state]


_NOT_FOUND = {
    401: {"description": "not logged in"},
    403: {"description": "needs the operator role, or the CSRF token is missing"},
    404: {"description": "no such alert"},
    409: {"description": "illegal transition"},
}


async def _act(st: ServiceState, alert_id: str, action: str, p: Principal) -> AlertOut:
    who = p.name
    try:
        if action == "ack":
            al: Alert = await st.source.acknowledge(alert_id, who)
        else:
            al = await st.source.resolve(alert_id, who)
    except UnknownAlertError:
        raise HTTPException(404, f"no active alert {alert_id}") from None
    except StateError as e:
        raise HTTPException(409, str(e)) from None
    st.security.audit.record(OperatorAction(st.clock.now(), who, action, alert_id))
    return convert.alert_out(al)


@router.post("/alerts/{alert_id}/ack", responses=_NOT_FOUND)  # type: ignore[arg-type]
async def acknowledge(
    alert_id: str, p: Operator, st: State, body: Annotated[AlertAction | None, Body()] = None
) -> AlertOut:
    return await _act(st, alert_id, "ack", p)


@router.post("/alerts/{alert_id}/resolve", responses=_NOT_FOUND)  # type: ignore[arg-type]
async def resolve(
    alert_id: str, p: Operator, st: State, body: Annotated[AlertAction | None, Body()] = None
) -> AlertOut:
    out = await _act(st, alert_id, "resolve", p)
    if body is not None and (body.reason or body.note):
        # a record of its own: replay applies only acknowledge/resolve, and the runtime's
        # audit journals every other operator action as written
        why = {"reason": body.reason, "note": body.note}
        st.security.audit.record(
            OperatorAction(st.clock.now(), p.name, "resolve_reason", alert_id, why)
        )
    return out


@router.get("/stats")
def stats(_: Viewer, st: State) -> StatsOut:
    pic = st.source.current()
    trk = pic.tracks if pic else ()
    counters = {**st.source.stats(), **st.hub.stats(), **st.security.counters.snapshot()}
    return StatsOut(
        mode=st.source.mode,
        seq=pic.seq if pic else 0,
        picture_t=pic.t if pic else None,
        tracks=len(trk),
        confirmed_tracks=sum(1 for t in trk if t.confirmed),
        active_alerts=sum(
            1 for a in (pic.alerts if pic else ()) if a.state is not AlertState.RESOLVED
        ),
        ws_clients=len(st.hub.clients),
        counters=convert.counters_out(counters),
    )
