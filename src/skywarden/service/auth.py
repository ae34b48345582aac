"""Who is asking, and may they: principals, role checks, CSRF, sensor tokens, rate limits.

A request is authenticated by exactly one of:

- ``Authorization: Bearer swb_...``: an API token from ``POST /api/auth/token``. No CSRF
  token is needed (a browser never attaches it on its own). A bad bearer token is 401.
- the ``skywarden_session`` cookie (HttpOnly, SameSite=Strict) from ``POST /api/auth/login``.
  Every state-changing request (POST/PUT/PATCH/DELETE) must also carry ``X-CSRF-Token`` with
  the session's token (synchroniser-token pattern; the console gets it from the login answer
  or ``GET /api/auth/me``, which another origin cannot read). Missing or wrong: 403.
- nothing: a *local viewer* when the service is bound to loopback, ``local_viewer`` is on and
  the ``Host`` header names loopback (so a DNS-rebinding page cannot borrow the rights);
  otherwise 401.

Anonymous requests that need more than viewing get 401 (log in); authenticated ones whose
role is too low get 403. Sensors authenticate separately with per-sensor tokens
(``require_sensor_token``) and are rate limited per sensor.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.service.audit import Auditor, AuditSink
from skywarden.service.clientaddr import ClientAddress, Network, client_address, parse_networks
from skywarden.service.lockout import LoginGuard
from skywarden.service.ratelimit import RateLimiter
from skywarden.service.sessions import SensorTokens, Session, SessionStore, csrf_ok, new_secret
from skywarden.service.settings import ServiceSettings
from skywarden.service.users import Role, UserStore

SESSION_COOKIE = "skywarden_session"
CSRF_HEADER = "X-CSRF-Token"
SENSOR_HEADER = "X-Sensor-Token"
ADMIN_PASSWORD_ENV = "SKYWARDEN_ADMIN_PASSWORD"
SENSOR_TOKENS_ENV = "SKYWARDEN_SENSOR_TOKENS"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})

Via = Literal["cookie", "bearer", "local"]


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    via: Via
    csrf: str | None = None


def name_of(p: Principal | None) -> str:
    """Who to name in the journal for a request: central's routes run without a principal
    when it has no :class:`Security` (tests, a loopback-only central)."""
    return p.name if p is not None else "anonymous"


@dataclass
class Security:
    """Everything the auth code keeps between requests (owned by the app, in ``ServiceState``)."""

    users: UserStore
    sessions: SessionStore
    sensor_tokens: SensorTokens
    audit: Auditor
    login_limit: RateLimiter
    ingest_limit: RateLimiter
    local_viewer: bool
    cookie_secure: bool
    counters: Counters = field(default_factory=Counters)
    guard: LoginGuard = field(default_factory=LoginGuard)
    proxies: tuple[Network, ...] = ()


def is_loopback(host: str) -> bool:
    h = host.strip().strip("[]").lower()
    if h in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _host_header_name(host_header: str | None) -> str:
    if not host_header:
        return ""
    h = host_header.strip()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def build_security(
    settings: ServiceSettings,
    users: UserStore | None = None,
    sensor_tokens: SensorTokens | None = None,
    audit: AuditSink | None = None,
    env: Mapping[str, str] | None = None,
) -> Security:
    """The app's security state; creates the first admin when ``users`` is empty.

    Sensor tokens may also come from ``SKYWARDEN_SENSOR_TOKENS`` (``id=token,id=token``), so
    a deployment can provision sensors before the first admin logs in.
    """
    env = os.environ if env is None else env
    store = users if users is not None else UserStore()
    if len(store) == 0:
        bootstrap_admin(store, settings, env)
    tokens = sensor_tokens if sensor_tokens is not None else SensorTokens()
    for sensor_id, token in parse_sensor_tokens(env.get(SENSOR_TOKENS_ENV, "")):
        tokens.set(sensor_id, token, persist=False)  # the environment is their store
    return Security(
        users=store,
        sessions=SessionStore(settings.session_ttl_s),
        sensor_tokens=tokens,
        audit=Auditor(audit),
        login_limit=RateLimiter(settings.login_burst, settings.login_per_min / 60.0),
        ingest_limit=RateLimiter(settings.ingest_burst, settings.ingest_per_s),
        local_viewer=settings.local_viewer and is_loopback(settings.host),
        cookie_secure=settings.cookie_secure,
        guard=LoginGuard(settings.lockout_after, settings.lockout_base_s, settings.lockout_max_s),
        proxies=parse_networks(settings.trusted_proxies),
    )


def parse_sensor_tokens(text: str) -> list[tuple[str, str]]:
    """``"radar-1=secret,rid-1=secret2"`` -> pairs; a malformed item is a ``ValueError``."""
    out = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        sensor_id, sep, token = item.partition("=")
        if not sep or not sensor_id.strip() or len(token.strip()) < 16:
            raise ValueError(
                f"{SENSOR_TOKENS_ENV}: each item is sensor_id=token (token >= 16 characters)"
            )
        out.append((sensor_id.strip(), token.strip()))
    return out


def bootstrap_admin(store: UserStore, settings: ServiceSettings, env: Mapping[str, str]) -> str:
    """Create the first admin; print a generated password when none was configured."""
    configured = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = configured or env.get(ADMIN_PASSWORD_ENV) or ""
    if not password:
        password = new_secret()[:20]
        print(
            f"skywarden: first start: log in as {settings.admin_user!r} with the one-time "
            f"password {password} (set {ADMIN_PASSWORD_ENV} to choose it; create named "
            "accounts under Users and keep this one for emergencies)",
            file=sys.stderr,
            flush=True,
        )
    store.add(settings.admin_user, password, Role.ADMIN)
    return password


_bearer = HTTPBearer(auto_error=False, description="API token from POST /api/auth/token")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="browser session from /api/auth/login"
)


def security_of(request: Request) -> Security:
    sec: Security = request.app.state.skywarden.security
    return sec


def clock_of(request: Request) -> Clock:
    clock: Clock = request.app.state.skywarden.clock
    return clock


def resolve(
    sec: Security,
    now: float,
    method: str,
    headers: Mapping[str, str],
    bearer: str | None,
    cookie: str | None,
) -> Principal | None:
    """The principal behind a request or WebSocket handshake; None when anonymous and not local.

    Raises 401 for a bad bearer token and 403 for a cookie request without its CSRF token.
    """
    if bearer is not None:
        s = sec.sessions.get(bearer, now)
        p = _from_session(sec, s, "bearer") if s is not None and s.kind == "bearer" else None
        if p is None:
            sec.counters.inc("auth.bearer_refused")
            raise HTTPException(401, "invalid or expired token", {"WWW-Authenticate": "Bearer"})
        return p
    if cookie is not None:
        s = sec.sessions.get(cookie, now)
        p = _from_session(sec, s, "cookie") if s is not None and s.kind == "cookie" else None
        if p is not None:
            assert s is not None
            if method in UNSAFE_METHODS and not csrf_ok(s, headers.get(CSRF_HEADER)):
                sec.counters.inc("auth.csrf_refused")
                raise HTTPException(403, f"CSRF token missing or wrong (send {CSRF_HEADER})")
            return p
    if sec.local_viewer and is_loopback(_host_header_name(headers.get("host"))):
        return Principal("local", Role.VIEWER, "local")
    return None


def _from_session(sec: Security, s: Session, via: Via) -> Principal | None:
    user = sec.users.get(s.user)
    if user is None:
        return None
    return Principal(user.name, user.role, via, s.csrf if via == "cookie" else None)


def optional_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal | None:
    sec = security_of(request)
    token = bearer.credentials if bearer is not None else None
    return resolve(sec, clock_of(request).now(), request.method, request.headers, token, cookie)


def require(role: Role) -> Callable[[Principal | None], Principal]:
    def check(p: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
        if p is None or (p.via == "local" and not p.role.allows(role)):
            raise HTTPException(401, "log in first", {"WWW-Authenticate": "Bearer"})
        if not p.role.allows(role):
            raise HTTPException(403, f"needs the {role.value} role (you are {p.role.value})")
        return p

    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


def client_of(request: Request) -> ClientAddress:
    """The real client (``clientaddr``: proxy headers only from configured proxies)."""
    peer = request.client.host if request.client else "unknown"
    return client_address(peer, request.headers, security_of(request).proxies)


def client_key(request: Request) -> str:
    return client_of(request).address


def too_many(wait_s: float, what: str) -> HTTPException:
    retry = max(1, int(wait_s + 0.999)) if wait_s < 1e9 else 3600
    return HTTPException(429, f"too many {what}; retry in {retry} s", {"Retry-After": str(retry)})


def unprocessable(msg: str, *loc: str | int) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors (what the OpenAPI document promises)."""
    return HTTPException(422, [{"loc": list(loc), "msg": msg, "type": "value_error"}])


async def require_sensor_token(
    request: Request,
    sensor_id: str,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """FastAPI dependency for ``/.../{sensor_id}`` ingest routes: the sensor's own token.

    Sent as ``Authorization: Bearer swt_...`` or ``X-Sensor-Token``. Refused (401) when the
    sensor has no token registered or the token is wrong; 429 past the per-sensor rate.
    Returns the authenticated sensor id. Async although it awaits nothing: FastAPI runs a
    plain ``def`` dependency in its thread pool, a thread hop on every sensor message.
    """
    sec = security_of(request)
    token = request.headers.get(SENSOR_HEADER) or (bearer.credentials if bearer else None)
    if not sec.sensor_tokens.verify(sensor_id, token):
        sec.counters.inc("auth.sensor_refused")
        raise HTTPException(
            401, f"sensor {sensor_id!r} is not authenticated", {"WWW-Authenticate": "Bearer"}
        )
    wait = sec.ingest_limit.take(sensor_id, clock_of(request).now())
    if wait > 0:
        sec.counters.inc("auth.ingest_limited")
        raise too_many(wait, f"reports from sensor {sensor_id}")
    return sensor_id
