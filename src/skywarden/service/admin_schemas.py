"""Wire models of the login, user, zone, whitelist, sensor and audit routes (pydantic, API edge).

Inputs are strict and small (bounded strings and lists) so a malformed request is a 422 with
the field named, never a 500. Secrets only ever travel *in*: no response carries a password
or a password hash, and a token is returned once, when it is issued.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[A-Za-z0-9_.@-]{1,64}$"
ZONE_ID = r"^[A-Za-z0-9_.-]{1,64}$"
RoleName = Literal["viewer", "operator", "admin"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class MeOut(_Out):
    name: str
    role: RoleName
    via: Literal["cookie", "bearer", "local"] = Field(
        description="cookie (browser login), bearer (API token) or local (anonymous viewer on "
        "a loopback-bound service)"
    )
    csrf_token: str | None = Field(
        description="send as X-CSRF-Token on every POST/PUT/PATCH/DELETE of a cookie session"
    )


class TokenOut(_Out):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: float = Field(description="seconds")
    role: RoleName


class UserIn(_In):
    name: str = Field(pattern=NAME)
    password: str = Field(min_length=10, max_length=1024)
    role: RoleName


class UserPatch(_In):
    role: RoleName | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class UserOut(_Out):
    name: str
    role: RoleName


class ZoneProps(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=ZONE_ID)
    kind: Literal["protected", "warning"]
    floor_m: float | None = Field(default=None, ge=-1000.0, le=30_000.0)
    ceiling_m: float | None = Field(default=None, ge=-1000.0, le=30_000.0)
    radius_m: float | None = Field(default=None, gt=0.0, le=100_000.0)
    center_enu: list[float] | None = Field(default=None, min_length=2, max_length=2)
    polygon_enu: list[list[float]] | None = Field(default=None, min_length=3, max_length=1000)


class PolygonGeometry(_In):
    type: Literal["Polygon"]
    coordinates: list[list[list[float]]] = Field(min_length=1, max_length=1)


class PointGeometry(_In):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)


class ZoneFeatureIn(BaseModel):
    """A GeoJSON Feature describing one zone (see ``service.zones`` for the shape rules)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    properties: ZoneProps
    geometry: PolygonGeometry | PointGeometry | None = Field(default=None, discriminator="type")


class WhitelistIn(_In):
    remote_id: str | None = Field(
        default=None, pattern=r"^[\x21-\x7e]{1,20}$", description="Remote ID serial (ASTM F3411)"
    )
    icao: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{6}$", description="24-bit hex")
    note: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _one_identity(self) -> WhitelistIn:
        if (self.remote_id is None) == (self.icao is None):
            raise ValueError("give exactly one of remote_id or icao")
        return self


class WhitelistOut(_Out):
    identity: str = Field(description="what a track carries: a serial or icao:xxxxxx")
    remote_id: str | None
    icao: str | None
    note: str


class SensorStatusOut(_Out):
    id: str
    kind: str
    measures: str
    token: bool = Field(description="a sensor token is registered for it (HTTP ingest)")
    registered: bool | None = Field(
        description="the link's own registration (SAPIENT); null when it has none"
    )
    status: Literal["ok", "late", "lost", "unknown"] = Field(
        description="unknown when the runtime reports no health for it"
    )
    last_report_t: float | None = Field(description="UNIX s of its last accepted message")
    age_s: float | None
    rate_hz: float | None = Field(description="accepted messages per second, recently")
    update_s: float = Field(description="expected report interval")
    rejected: dict[str, int] = Field(
        default_factory=dict, description="messages refused, by reason (since start)"
    )
    detail: dict[str, float | str | int | bool | None] = Field(
        description="other health fields the runtime reports, as given"
    )


class SensorTokenOut(_Out):
    sensor_id: str
    token: str = Field(description="shown once; send as Authorization: Bearer on ingest")


class AuditOut(_Out):
    kind: Literal["operator", "config"]
    t: float
    who: str
    what: str = Field(description="the action (operator) or the dotted setting (config)")
    target: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
