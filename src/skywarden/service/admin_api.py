"""Routes that change the site: zones (GeoJSON), the whitelist, sensor tokens; sensor health.

Reading needs a viewer, changing needs an admin. Edits build a new ``core.site.Site`` and hand
it to the picture source through the optional ``source.SiteEditable`` protocol, so threat
assessment uses the new zones from its next step; a source without it answers 501 (the change
would not reach the picture, so it is not pretended). Edits are serialised by one lock and
each is audited (``ConfigChange``, old and new values) before the answer goes out.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException

from skywarden.core.site import Site, WhitelistEntry
from skywarden.service import convert
from skywarden.service.admin_schemas import (
    SensorStatusOut,
    SensorTokenOut,
    WhitelistIn,
    WhitelistOut,
    ZoneFeatureIn,
)
from skywarden.service.auth import Admin, Principal, Viewer, unprocessable
from skywarden.service.source import SensorHealthSource, SiteEditable
from skywarden.service.state import ServiceState, get_state
from skywarden.service.zones import ZoneInputError, zone_from_feature
from skywarden.store.records import ConfigChange

router = APIRouter(prefix="/api")
State = Annotated[ServiceState, Depends(get_state)]
T = TypeVar("T")

_EDIT = {501: {"description": "this picture source cannot take site edits"}}
_ZONE = {**_EDIT, 404: {"description": "no such zone"}, 409: {"description": "id exists"}}
_WL = {**_EDIT, 404: {"description": "not whitelisted"}, 409: {"description": "already listed"}}
_SENSOR = {404: {"description": "no such sensor in the site"}}


async def _apply(st: ServiceState, p: Principal, site: Site, key: str, old: Any, new: Any) -> None:
    src = st.source
    if not isinstance(src, SiteEditable):
        raise HTTPException(501, "this picture source cannot take site edits")
    await src.update_site(site)
    st.security.audit.record(ConfigChange(st.clock.now(), p.name, key, old, new))


def _one(items: Iterable[T], hit: Callable[[T], bool], missing: str) -> T:
    """The item an edit names (a zone, a whitelist entry), or 404 saying ``missing``."""
    found = next((x for x in items if hit(x)), None)
    if found is None:
        raise HTTPException(404, missing)
    return found


# --- zones ------------------------------------------------------------------------------


@router.get("/zones")
def zones(_: Viewer, st: State) -> dict[str, Any]:
    """GeoJSON FeatureCollection, one Polygon Feature per zone (as in ``/api/site``)."""
    return convert.site_out(st.source.site).zones


def _zone_in(body: ZoneFeatureIn, st: ServiceState) -> Any:
    try:
        return zone_from_feature(body.model_dump(exclude_none=True), st.source.site.origin)
    except ZoneInputError as e:
        raise unprocessable(str(e), "body") from None


@router.post("/zones", status_code=201, responses=_ZONE)  # type: ignore[arg-type]
async def create_zone(body: ZoneFeatureIn, p: Admin, st: State) -> dict[str, Any]:
    async with st.edit_lock:
        site = st.source.site
        z = _zone_in(body, st)
        if any(old.id == z.id for old in site.zones):
            raise HTTPException(409, f"zone {z.id} exists (PUT /api/zones/{z.id} to change it)")
        feature = convert.zone_feature(z, site.origin)
        new = dataclasses.replace(site, zones=(*site.zones, z))
        await _apply(st, p, new, f"zones.{z.id}", None, feature)
    return feature


@router.put("/zones/{zone_id}", responses=_ZONE)  # type: ignore[arg-type]
async def replace_zone(zone_id: str, body: ZoneFeatureIn, p: Admin, st: State) -> dict[str, Any]:
    async with st.edit_lock:
        site = st.source.site
        old = _one(site.zones, lambda z: z.id == zone_id, f"no zone {zone_id}")
        # the API edits shape and kind; the zone's warning-policy settings (site file's
        # [zones.policy]) stay as they were
        z = dataclasses.replace(_zone_in(body, st), policy=old.policy)
        if z.id != zone_id:
            msg = f"properties.id {z.id!r} differs from the path {zone_id!r}"
            raise unprocessable(msg, "body", "properties", "id")
        feature = convert.zone_feature(z, site.origin)
        zs = tuple(z if x.id == zone_id else x for x in site.zones)
        before = convert.zone_feature(old, site.origin)
        await _apply(
            st, p, dataclasses.replace(site, zones=zs), f"zones.{zone_id}", before, feature
        )
    return feature


@router.delete("/zones/{zone_id}", status_code=204, responses=_ZONE)  # type: ignore[arg-type]
async def delete_zone(zone_id: str, p: Admin, st: State) -> None:
    async with st.edit_lock:
        site = st.source.site
        old = _one(site.zones, lambda z: z.id == zone_id, f"no zone {zone_id}")
        zs = tuple(x for x in site.zones if x.id != zone_id)
        before = convert.zone_feature(old, site.origin)
        await _apply(st, p, dataclasses.replace(site, zones=zs), f"zones.{zone_id}", before, None)


# --- whitelist --------------------------------------------------------------------------


def _wl_out(w: WhitelistEntry) -> WhitelistOut:
    return WhitelistOut(identity=w.identity, remote_id=w.remote_id, icao=w.icao, note=w.note)


@router.get("/whitelist")
def whitelist(_: Viewer, st: State) -> list[WhitelistOut]:
    return [_wl_out(w) for w in st.source.site.whitelist]


@router.post("/whitelist", status_code=201, responses=_WL)  # type: ignore[arg-type]
async def add_whitelist(body: WhitelistIn, p: Admin, st: State) -> WhitelistOut:
    entry = WhitelistEntry(
        remote_id=body.remote_id, icao=body.icao.lower() if body.icao else None, note=body.note
    )
    async with st.edit_lock:
        site = st.source.site
        if entry.identity in site.whitelisted_identities:
            raise HTTPException(409, f"{entry.identity} is already whitelisted")
        new = dataclasses.replace(site, whitelist=(*site.whitelist, entry))
        await _apply(st, p, new, f"whitelist.{entry.identity}", None, body.note)
    return _wl_out(entry)


@router.delete("/whitelist/{identity}", status_code=204, responses=_WL)  # type: ignore[arg-type]
async def delete_whitelist(identity: str, p: Admin, st: State) -> None:
    async with st.edit_lock:
        site = st.source.site
        old = _one(
            site.whitelist, lambda w: w.identity == identity, f"{identity} is not whitelisted"
        )
        kept = tuple(w for w in site.whitelist if w.identity != identity)
        new = dataclasses.replace(site, whitelist=kept)
        await _apply(st, p, new, f"whitelist.{identity}", old.note, None)


# --- sensors ----------------------------------------------------------------------------

_DOWN = frozenset({"lost", "down", "dead", "disconnected", "stopped"})
_EXPLICIT = {"ok": "ok", "healthy": "ok", "late": "late", "degraded": "late", "stale": "late"}


def _status(word: str, age: float | None, update_s: float) -> str:
    """Down when the link says so; else by the age of the last report; else what it says."""
    if word in _DOWN:
        return "lost"
    if age is not None:
        if age <= 3 * update_s + 1.0:
            return "ok"
        return "late" if age <= 10 * update_s + 5.0 else "lost"
    return _EXPLICIT.get(word, "unknown")


def _field(h: Any, *names: str) -> Any:
    for n in names:
        v = h.get(n) if isinstance(h, Mapping) else getattr(h, n, None)
        if v is not None:
            return v
    return None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _scalars(h: Any) -> dict[str, float | str | int | bool | None]:
    items = h.items() if isinstance(h, Mapping) else _attrs(h)
    out: dict[str, float | str | int | bool | None] = {}
    for k, v in items:
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        if v is None or isinstance(v, str | int | float | bool):
            out[str(k)] = v
        elif hasattr(v, "value") and isinstance(v.value, str):
            out[str(k)] = v.value
    return out


def _rejected(h: Any) -> dict[str, int]:
    """Rejections by reason: ``SensorHealth.rejected`` pairs, or a mapping of them."""
    r = _field(h, "rejected")
    pairs = r.items() if isinstance(r, Mapping) else r if isinstance(r, list | tuple) else ()
    out: dict[str, int] = {}
    for item in pairs:
        if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[1], int):
            out[str(item[0])] = int(item[1])
    return out


def _attrs(h: Any) -> list[tuple[str, Any]]:
    if dataclasses.is_dataclass(h) and not isinstance(h, type):
        return [(f.name, getattr(h, f.name)) for f in dataclasses.fields(h)]
    return (
        [(k, v) for k, v in vars(h).items() if not k.startswith("_")]
        if hasattr(h, "__dict__")
        else []
    )


def sensor_status(st: ServiceState) -> list[SensorStatusOut]:
    src = st.source
    health: Mapping[str, Any] = src.sensor_health() if isinstance(src, SensorHealthSource) else {}
    now = st.clock.now()
    if st.http_health is not None:  # HTTP-ingest sensors: the route's tally has the rejects
        health = {**health, **st.http_health.snapshot(now)}
    tokens = st.security.sensor_tokens
    out = []
    for s in src.site.sensors:
        h = health.get(s.id)
        last = _num(_field(h, "last_report_t", "last_t", "last_seen_t")) if h is not None else None
        rate = _num(_field(h, "rate_hz", "rate", "messages_per_s")) if h is not None else None
        age = max(0.0, now - last) if last is not None else None
        raw = _field(h, "status", "state") if h is not None else None
        word = str(getattr(raw, "value", raw)).lower() if raw is not None else ""
        reg = _field(h, "registered") if h is not None else None
        out.append(
            SensorStatusOut(
                id=s.id,
                kind=s.kind.value,
                measures=s.measures.value,
                token=s.id in tokens,
                registered=reg if isinstance(reg, bool) else None,
                status=_status(word, age, s.update_s),  # type: ignore[arg-type]
                last_report_t=last,
                age_s=None if age is None else round(age, 3),
                rate_hz=rate,
                update_s=s.update_s,
                rejected=_rejected(h) if h is not None else {},
                detail=_scalars(h) if h is not None else {},
            )
        )
    return out


@router.get("/sensors")
def sensors(_: Viewer, st: State) -> list[SensorStatusOut]:
    """Every sensor of the site with its health (``unknown`` when the runtime reports none)."""
    return sensor_status(st)


def _known_sensor(st: ServiceState, sensor_id: str) -> None:
    if sensor_id not in st.source.site.sensor_map:
        raise HTTPException(404, f"no sensor {sensor_id} in the site")


@router.post("/sensors/{sensor_id}/token", status_code=201, responses=_SENSOR)  # type: ignore[arg-type]
async def issue_sensor_token(sensor_id: str, p: Admin, st: State) -> SensorTokenOut:
    """A new token for the sensor (the old one stops working); shown only in this answer."""
    _known_sensor(st, sensor_id)
    tok = st.security.sensor_tokens.issue(sensor_id)
    st.security.audit.record(
        ConfigChange(st.clock.now(), p.name, f"sensors.{sensor_id}.token", None, "issued")
    )
    return SensorTokenOut(sensor_id=sensor_id, token=tok)


@router.delete("/sensors/{sensor_id}/token", status_code=204, responses=_SENSOR)  # type: ignore[arg-type]
async def revoke_sensor_token(sensor_id: str, p: Admin, st: State) -> None:
    _known_sensor(st, sensor_id)
    if not st.security.sensor_tokens.revoke(sensor_id):
        raise HTTPException(404, f"sensor {sensor_id} has no token")
    st.security.audit.record(
        ConfigChange(st.clock.now(), p.name, f"sensors.{sensor_id}.token", "issued", "revoked")
    )
