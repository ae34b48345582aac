"""The household's warning: what the people the site protects see on a phone.

``GET /api/household`` answers one question, in words a person reads at a glance: is a drone
coming, from where, how soon, what to do ("drone, 1.2 km north-west, about 45 s: take
shelter"). It is read-only and needs its own token (``X-Household-Token`` header; the page
``/household.html#token=...`` keeps it in the fragment, so it is never sent in a URL or a
Referer), not an account: a family member gets a link, never operator rights. A wrong token
is 401 and counted (``household.rejected.bad_token``).

The token comes from the settings, else ``SKYWARDEN_HOUSEHOLD_TOKEN``, else it is generated at
start; an admin reads the link from ``GET /api/household/link``.

Which threat: the most urgent non-friendly assessment at WARNING or above (ALERT before
WARNING, then the soonest entry); distance and direction are from the site origin (the house)
to the track, horizontally. Nothing here changes state.
"""

from __future__ import annotations

import hmac
import math
import os
import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field

from skywarden.alerts.wording import ACTION, compass, warning_sentence
from skywarden.service.auth import Admin
from skywarden.service.settings import ServiceSettings
from skywarden.service.source import Picture
from skywarden.service.state import ServiceState, get_state
from skywarden.threat.assess import ThreatAssessment, ThreatLevel

TOKEN_ENV = "SKYWARDEN_HOUSEHOLD_TOKEN"

router = APIRouter(prefix="/api")
State = Annotated[ServiceState, Depends(get_state)]


def token_of(settings: ServiceSettings, env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    if settings.household_token is not None:
        return settings.household_token.get_secret_value()
    return env.get(TOKEN_ENV) or secrets.token_urlsafe(18)


class HouseholdOut(BaseModel):
    level: Literal["clear", "warning", "alert"]
    message: str = Field(description="one sentence, for a person, not an operator")
    action: str
    object_class: str | None = None
    distance_m: float | None = Field(default=None, description="horizontal, from the site")
    bearing_deg: float | None = Field(default=None, description="from the site, cw from north")
    direction: str | None = Field(default=None, description="eight-point compass word")
    time_to_zone_s: float | None = Field(default=None, description="0 inside; null unknown")
    zone_id: str | None = None
    track_id: str | None = None
    picture_t: float | None = None
    picture_age_s: float | None = Field(
        default=None, description="wall seconds since the picture: a stale one may be wrong"
    )
    others: int = Field(default=0, description="further threats not described")


class HouseholdLinkOut(BaseModel):
    token: str
    path: str = Field(description="open on the phone; the token travels in the fragment")


def _urgency(a: ThreatAssessment) -> tuple[int, float]:
    tte = a.time_to_enter_s if a.time_to_enter_s is not None else math.inf
    return (-int(a.level), tte)


def household_view(pic: Picture | None) -> HouseholdOut:
    """The message for the current picture (pure: the route only checks the token)."""
    if pic is None:
        return HouseholdOut(level="clear", message="No picture yet.", action=ACTION["clear"])
    threats = sorted(
        (a for a in pic.assessments.values() if a.level >= ThreatLevel.WARNING and not a.friendly),
        key=_urgency,
    )
    if not threats:
        return HouseholdOut(
            level="clear",
            message="No drone threat now.",
            action=ACTION["clear"],
            picture_t=pic.t,
        )
    a = threats[0]
    tr = next((t for t in pic.tracks if t.id == a.track_id), None)
    level: Literal["warning", "alert"] = "alert" if a.level >= ThreatLevel.ALERT else "warning"
    en = None if tr is None else (float(tr.x[0]), float(tr.x[1]))
    dist = None if en is None else math.hypot(*en)
    brg = None if en is None else math.degrees(math.atan2(*en)) % 360.0
    tte = a.time_to_enter_s
    action = ACTION[level]
    return HouseholdOut(
        level=level,
        message=warning_sentence(a.object_class, level, en, tte),
        action=action,
        object_class=a.object_class,
        distance_m=None if dist is None else round(dist, 1),
        bearing_deg=None if brg is None else round(brg, 1),
        direction=None if brg is None else compass(brg),
        time_to_zone_s=None if tte is None else round(tte, 1),
        zone_id=a.zone_id,
        track_id=a.track_id,
        picture_t=pic.t,
        others=len(threats) - 1,
    )


@router.get("/household", responses={401: {"description": "missing or wrong household token"}})
def household(st: State, x_household_token: Annotated[str | None, Header()] = None) -> HouseholdOut:
    tok = x_household_token or ""
    if not hmac.compare_digest(tok.encode(), st.household_token.encode()):
        st.security.counters.inc("household.rejected.bad_token")
        raise HTTPException(401, "missing or wrong household token")
    st.security.counters.inc("household.served")
    pic = st.source.current()
    out = household_view(pic)
    if pic is None:
        return out
    return out.model_copy(update={"picture_age_s": round(max(0.0, st.clock.now() - pic.wall_t), 1)})


@router.get("/household/link")
def household_link(_: Admin, st: State) -> HouseholdLinkOut:
    """The household page's link (admins only: whoever holds it sees the warning)."""
    return HouseholdLinkOut(
        token=st.household_token, path=f"/household.html#token={st.household_token}"
    )
