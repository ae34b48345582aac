"""Builders shared by the service, console and live tests: a small site and hand-made pictures."""

from __future__ import annotations

from typing import Any

import numpy as np
from argon2 import PasswordHasher

from skywarden.alerts.lifecycle import AlertManager
from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site, parse_site
from skywarden.core.track import TrackState, TrackStatus
from skywarden.service.source import Picture, TrailPoint
from skywarden.service.users import Role, UserStore
from skywarden.threat.assess import ThreatAssessor

SITE_DICT = {
    "name": "test-residence",
    "origin": {"lat": 33.3128, "lon": 44.3615, "alt_m": 34.0},
    "sensors": [
        {
            "id": "radar-1",
            "kind": "radar",
            "measures": "range_az_el_radial",
            "position_enu_m": [30, -20, 10],
            "sigma": {"range_m": 5, "az_rad": 0.01, "el_rad": 0.015, "radial_mps": 0.6},
            "max_range_m": 2500,
        }
    ],
    "zones": [
        {
            "id": "residence",
            "kind": "protected",
            "center_enu_m": [0, 0],
            "radius_m": 150,
            "ceiling_m": 300,
        },
        {
            "id": "perimeter",
            "kind": "warning",
            "polygon_enu_m": [[-600, -600], [600, -600], [600, 600], [-600, 600]],
        },
    ],
    "whitelist": [{"remote_id": "FRIEND1", "note": "site drone"}],
}


def make_site() -> Site:
    return parse_site(SITE_DICT)


def track(
    tid: str,
    e: float,
    n: float,
    ve: float,
    vn: float,
    t: float = 100.0,
    status: TrackStatus = TrackStatus.CONFIRMED,
    cls: str = "drone",
) -> TrackState:
    x = np.array([e, n, 60.0, ve, vn, 0.0])
    return TrackState(
        id=tid,
        t=t,
        x=x,
        P=np.eye(6) * 25.0,
        status=status,
        class_probs={cls: 0.8, "bird": 0.2} if cls != "bird" else {"bird": 0.9, "drone": 0.1},
        sensors=("radar-1",),
        hits=12,
        first_t=t - 20,
    )


class PictureMaker:
    """Runs real threat assessment and the real alert manager over hand-placed tracks."""

    def __init__(self, site: Site) -> None:
        self.assessor = ThreatAssessor(site)
        self.alerts = AlertManager()
        self.seq = 0

    def make(self, tracks: list[TrackState], t: float = 100.0) -> Picture:
        self.seq += 1
        assessed = self.assessor.assess(tracks, t)
        self.alerts.update(assessed, t)
        trails = {
            tr.id: tuple(
                TrailPoint(
                    t - k, float(tr.x[0] - k * tr.x[3]), float(tr.x[1] - k * tr.x[4]), 60.0, k < 2
                )
                for k in range(5, 0, -1)
            )
            for tr in tracks
        }
        return Picture(
            seq=self.seq,
            t=t,
            wall_t=1_700_000_000.0 + self.seq,
            tracks=tuple(tracks),
            assessments={a.track_id: a for a in assessed},
            alerts=tuple(self.alerts.active),
            trails=trails,
        )


def standard_tracks(t: float = 100.0) -> list[TrackState]:
    """An inbound drone (alert), an outbound drone, a bird, a tentative and a coasting track."""
    return [
        track("T1", 400.0, 0.0, -10.0, 0.0, t),
        track("T2", -800.0, 800.0, -5.0, 5.0, t),
        track("T3", 200.0, -300.0, 3.0, 1.0, t, cls="bird"),
        track("T4", 900.0, -900.0, 0.0, 0.0, t, status=TrackStatus.TENTATIVE),
        track("T5", -700.0, -100.0, -8.0, -2.0, t, status=TrackStatus.COASTING),
    ]


# --- accounts for the access-control tests ------------------------------------------------

PASSWORDS = {
    "admin": "admin-pass-123",
    "olga": "operator-pass-1",
    "victor": "viewer-pass-12",
}
ROLES = {"admin": "admin", "olga": "operator", "victor": "viewer"}


def fast_users() -> UserStore:
    """One user per role, hashed with cheap argon2 parameters (tests only; same code path)."""
    store = UserStore(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    for name, pw in PASSWORDS.items():
        store.add(name, pw, Role(ROLES[name]))
    return store


def login(client: Any, name: str) -> str:
    """Log ``client`` (a TestClient) in by cookie; sets and returns its CSRF header."""
    r = client.post("/api/auth/login", json={"username": name, "password": PASSWORDS[name]})
    assert r.status_code == 200, r.text
    csrf: str = r.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return csrf


def bearer(client: Any, name: str) -> dict[str, str]:
    r = client.post("/api/auth/token", json={"username": name, "password": PASSWORDS[name]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def depot_feature(origin: GeoOrigin) -> dict[str, Any]:
    """A protected zone ``depot`` as the zone API takes it: a GeoJSON polygon drawn in lon/lat
    (0.002 degrees either side) around a point 1 km east of ``origin``, 200 m ceiling."""
    lat, lon, _ = origin.to_geodetic(1000.0, 0.0, 0.0)
    d = 0.002
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {
        "type": "Feature",
        "properties": {"id": "depot", "kind": "protected", "ceiling_m": 200},
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }
