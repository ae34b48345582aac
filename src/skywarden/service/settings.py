"""The service's one typed settings object (pydantic, validated on construction).

Secure defaults: bind to loopback until an operator configures otherwise; every state change
needs a logged-in operator or admin; an unauthenticated client gets *viewer* rights only while
the service is bound to loopback (``local_viewer``: the console on the same machine shows the
picture straight after ``make run``); the first admin's password comes from
``admin_password`` / ``SKYWARDEN_ADMIN_PASSWORD`` or is generated and printed once at start.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from skywarden.service.clientaddr import parse_networks


class ServiceSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = Field(default="127.0.0.1", description="bind address (loopback by default)")
    port: int = Field(default=8080, ge=0, le=65535)
    ws_queue_size: int = Field(
        default=8, ge=1, description="pictures queued per WebSocket client before it is resynced"
    )
    ws_send_timeout_s: float = Field(
        default=5.0, gt=0, description="a client whose send blocks this long is disconnected"
    )
    stale_after_s: float = Field(
        default=5.0, gt=0, description="console shows the feed-lost banner after this many s"
    )
    operator: str = Field(default="operator", description="name recorded on acknowledgements")
    # --- security -----------------------------------------------------------------------
    admin_user: str = Field(default="admin", description="name of the first admin account")
    admin_password: SecretStr | None = Field(
        default=None,
        description="first admin's password (else env SKYWARDEN_ADMIN_PASSWORD, else a "
        "generated one printed at start)",
    )
    local_viewer: bool = Field(
        default=True,
        description="while bound to loopback, unauthenticated local clients may view (never "
        "act); turn off behind a reverse proxy on the same host",
    )
    session_ttl_s: float = Field(default=12 * 3600.0, gt=0, description="login lifetime, s")
    cookie_secure: bool = Field(
        default=False, description="mark the session cookie Secure (set when served over TLS)"
    )
    login_burst: int = Field(default=5, ge=1, description="login attempts per client at once")
    login_per_min: float = Field(default=6.0, ge=0, description="login attempts refilled/min")
    ingest_burst: int = Field(default=400, ge=1, description="ingest requests per sensor burst")
    ingest_per_s: float = Field(default=200.0, ge=0, description="ingest requests/s per sensor")
    lockout_after: int = Field(
        default=5, ge=1, description="failed logins (per address, account or device) before backoff"
    )
    lockout_base_s: float = Field(default=1.0, gt=0, description="first lockout, s; doubles")
    lockout_max_s: float = Field(default=900.0, gt=0, description="longest lockout, s")
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="addresses/networks whose X-Forwarded-For is believed (none by default; "
        "env SKYWARDEN_TRUSTED_PROXIES for `skywarden run`)",
    )
    # --- request bodies (bytes; 413 above) ----------------------------------------------
    body_limit_ingest: int = Field(default=1_000_000, ge=1024, description="sensor ingest")
    body_limit_auth: int = Field(default=16_384, ge=1024, description="/api/auth/*")
    body_limit_default: int = Field(default=262_144, ge=1024, description="every other route")
    docs: bool = Field(
        default=True, description="serve /docs (Swagger UI from local files) and /openapi.json"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(v)  # a bad address is a ValueError -> a validation error
        return v

    # --- the map and the household page -------------------------------------------------
    basemap: str | None = Field(
        default=None, description="raster MBTiles file drawn under the tracks (None: a grid)"
    )
    dem: str | None = Field(
        default=None, description="terrain-RGB MBTiles file: the console shades the relief"
    )
    household_token: SecretStr | None = Field(
        default=None,
        description="token of the read-only household page (else env "
        "SKYWARDEN_HOUSEHOLD_TOKEN, else a generated one an admin reads from the API)",
    )
