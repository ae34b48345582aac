"""Zone and whitelist edits in the running system, as journaled inputs.

An operator with the admin role may add, change or delete zones and whitelist entries while
the system runs (``service.admin_api``). Those edits change what threat assessment does, so
for the record to reproduce the picture they must be inputs like any sensor message: the
live source journals a ``ConfigChange`` with key :data:`SITE_EDIT_KEY` holding the complete
new zones and whitelist (not a diff: any record alone says what was in force), and the record
machine applies it in journal order, live, on restore and on replay alike.

Zones are written with the zone codec (``core.zone``: the site file's keys, unbounded floors
and ceilings as ``null``, the zone's policy kept); records written before it (keys
``center_enu``/``polygon_enu``, no policy) still read.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from skywarden.core.site import Site, WhitelistEntry, ZoneKind, ZoneSpec
from skywarden.core.zone import parse_zone, zone_to_dict

SITE_EDIT_KEY = "site.edit"


def site_edit_payload(site: Site) -> dict[str, Any]:
    """The zones and whitelist of ``site`` as plain JSON values."""
    return {
        "zones": [zone_to_dict(z) for z in site.zones],
        "whitelist": [
            {"remote_id": w.remote_id, "icao": w.icao, "note": w.note} for w in site.whitelist
        ],
    }


def apply_site_edit(site: Site, payload: dict[str, Any]) -> Site:
    """``site`` with the zones and whitelist of a :func:`site_edit_payload`."""
    zones = tuple(
        _legacy_zone(z) if "center_enu" in z else parse_zone(z, f"zones[{i}]", site.origin)
        for i, z in enumerate(payload["zones"])
    )
    wl = tuple(
        WhitelistEntry(w.get("remote_id"), w.get("icao"), str(w.get("note", "")))
        for w in payload["whitelist"]
    )
    return dataclasses.replace(site, zones=zones, whitelist=wl)


def _legacy_zone(z: dict[str, Any]) -> ZoneSpec:
    """A zone as journals before the zone codec wrote it."""
    return ZoneSpec(
        str(z["id"]),
        ZoneKind(z["kind"]),
        None if z["center_enu"] is None else (float(z["center_enu"][0]), float(z["center_enu"][1])),
        None if z["radius_m"] is None else float(z["radius_m"]),
        None
        if z["polygon_enu"] is None
        else tuple((float(p[0]), float(p[1])) for p in z["polygon_enu"]),
        -math.inf if z["floor_m"] is None else float(z["floor_m"]),
        math.inf if z["ceiling_m"] is None else float(z["ceiling_m"]),
    )
