"""Routes for logging in and out, API tokens, the caller's identity, users and the audit trail.

``POST /api/auth/login`` (JSON ``{username, password}``) sets the HttpOnly session cookie and
answers the CSRF token; ``POST /api/auth/token`` answers a bearer token for API clients
instead. Both are rate limited per client address (``login_burst``/``login_per_min``), locked
out with backoff per address, per account and per device (``lockout``; a success sets the
device cookie), and audited with the real client address (``clientaddr``), failures included.
Password hashing (argon2, deliberately slow) runs in a worker thread so a login never stalls
the picture; audit records are written on the loop thread.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from skywarden.service import user_admin
from skywarden.service.admin_schemas import (
    AuditOut,
    LoginIn,
    MeOut,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from skywarden.service.audit import AuditRecord
from skywarden.service.auth import (
    SESSION_COOKIE,
    Admin,
    Security,
    Viewer,
    client_key,
    client_of,
    security_of,
    too_many,
)
from skywarden.service.errors import printable
from skywarden.service.state import ServiceState, get_state
from skywarden.service.user_admin import USER_ERRORS, user_out
from skywarden.service.users import Role, User, UserError
from skywarden.store.records import ConfigChange, OperatorAction

router = APIRouter(prefix="/api")
DEVICE_COOKIE = "skywarden_device"
DEVICE_MAX_AGE_S = 30 * 86400
State = Annotated[ServiceState, Depends(get_state)]
Sec = Annotated[Security, Depends(security_of)]

_LOGIN_ERRORS = {401: {"description": "wrong name or password"}, 429: {"description": "slow down"}}


def client_detail(request: Request) -> dict[str, str]:
    """What the audit records about the client: the real address, and any proxy or claim."""
    c = client_of(request)
    out = {"client": c.address}
    if c.peer != c.address:
        out["proxy"] = c.peer
    if c.claimed is not None:
        out["claimed_for"] = printable(c.claimed, 100)  # an untrusted X-Forwarded-For
    return out


async def _check_password(
    st: ServiceState, request: Request, body: LoginIn
) -> tuple[User, str | None]:
    """The user, and the device id of a valid device cookie for them (``lockout``)."""
    sec = st.security
    now = st.clock.now()
    client = client_key(request)
    device = sec.guard.device_of(body.username, request.cookies.get(DEVICE_COOKIE))
    if device is None:  # a known device is judged by its own record only (lockout)
        wait = sec.login_limit.take(client, now)
        if wait > 0:
            sec.counters.inc("auth.login_limited")
            raise too_many(wait, "login attempts")
    wait = sec.guard.wait(body.username, client, device, now)
    if wait > 0:
        sec.counters.inc("auth.login_locked")
        raise too_many(wait, "failed logins")
    # counted as a failure before the (slow) check, cleared on success: concurrent attempts
    # cannot all slip through before the first failure is recorded
    sec.guard.failed(body.username, client, device, now)
    user = await asyncio.to_thread(sec.users.verify, body.username, body.password)
    if user is None:
        sec.counters.inc("auth.login_failed")
        sec.audit.record(
            OperatorAction(now, body.username, "login_failed", None, client_detail(request))
        )
        raise HTTPException(401, "wrong name or password", {"WWW-Authenticate": "Bearer"})
    sec.guard.succeeded(body.username, client, device)
    sec.counters.inc("auth.login_ok")
    return user, device


def _set_device_cookie(
    sec: Security, response: Response, request: Request, user: User, device: str | None
) -> None:
    current = request.cookies.get(DEVICE_COOKIE) if device is not None else None
    response.set_cookie(
        DEVICE_COOKIE,
        sec.guard.device_cookie(user.name, current),
        max_age=DEVICE_MAX_AGE_S,
        path="/api/auth",
        httponly=True,
        samesite="strict",
        secure=sec.cookie_secure,
    )


@router.post("/auth/login", responses=_LOGIN_ERRORS)  # type: ignore[arg-type]
async def login(body: LoginIn, request: Request, response: Response, st: State) -> MeOut:
    user, device = await _check_password(st, request, body)
    sec, now = st.security, st.clock.now()
    token, session = sec.sessions.open(user.name, "cookie", now)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(sec.sessions.ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=sec.cookie_secure,
    )
    _set_device_cookie(sec, response, request, user, device)
    sec.audit.record(OperatorAction(now, user.name, "login", None, client_detail(request)))
    return MeOut(name=user.name, role=user.role.value, via="cookie", csrf_token=session.csrf)


@router.post("/auth/token", responses=_LOGIN_ERRORS)  # type: ignore[arg-type]
async def token(body: LoginIn, request: Request, response: Response, st: State) -> TokenOut:
    user, device = await _check_password(st, request, body)
    sec, now = st.security, st.clock.now()
    tok, _ = sec.sessions.open(user.name, "bearer", now)
    _set_device_cookie(sec, response, request, user, device)
    sec.audit.record(OperatorAction(now, user.name, "token_issued", None, client_detail(request)))
    return TokenOut(access_token=tok, expires_in=sec.sessions.ttl_s, role=user.role.value)


@router.post("/auth/logout", status_code=204)
async def logout(p: Viewer, request: Request, response: Response, st: State) -> None:
    sec = st.security
    if p.via == "cookie":
        sec.sessions.close(request.cookies.get(SESSION_COOKIE, ""))
    elif p.via == "bearer":
        sec.sessions.close(request.headers.get("authorization", "")[7:].strip())
    response.delete_cookie(SESSION_COOKIE, path="/")
    if p.via != "local":
        sec.audit.record(OperatorAction(st.clock.now(), p.name, "logout"))


@router.get("/auth/me")
def me(p: Viewer) -> MeOut:
    return MeOut(name=p.name, role=p.role.value, via=p.via, csrf_token=p.csrf)


# --- users (admin) ----------------------------------------------------------------------


@router.get("/users")
def list_users(_: Admin, sec: Sec) -> list[UserOut]:
    return [user_out(u) for u in sec.users]


@router.post("/users", status_code=201, responses=USER_ERRORS)
async def add_user(body: UserIn, p: Admin, st: State) -> UserOut:
    return await user_admin.add_user(st.security, st.clock, body, p.name)


@router.patch("/users/{name}", responses=USER_ERRORS)
async def change_user(name: str, body: UserPatch, p: Admin, st: State) -> UserOut:
    sec = st.security
    old = sec.users.get(name)
    if old is None:
        raise HTTPException(404, f"no user {name}")
    try:
        u = old
        if body.role is not None:
            u = sec.users.set_role(name, Role(body.role))
        if body.password is not None:
            u = await asyncio.to_thread(sec.users.set_password, name, body.password)
            sec.sessions.close_user(name)
    except UserError as e:
        raise HTTPException(409, str(e)) from None
    note = "password changed" if body.password is not None else ""
    rec = ConfigChange(st.clock.now(), p.name, f"users.{name}", old.role.value, u.role.value, note)
    sec.audit.record(rec)
    return user_out(u)


@router.delete("/users/{name}", status_code=204, responses=USER_ERRORS)
async def remove_user(name: str, p: Admin, st: State) -> None:
    user_admin.remove_user(st.security, st.clock, name, p.name)


# --- audit (admin) ----------------------------------------------------------------------


def audit_out(r: AuditRecord) -> AuditOut:
    if isinstance(r, OperatorAction):
        return AuditOut(
            kind="operator",
            t=r.t,
            who=r.operator,
            what=r.action,
            target=r.target,
            detail=dict(r.detail),
        )
    return AuditOut(
        kind="config",
        t=r.t,
        who=r.actor,
        what=r.key,
        target=None,
        detail={"old": r.old, "new": r.new, "note": r.note},
    )


@router.get("/audit")
def audit(_: Admin, sec: Sec, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AuditOut]:
    """The most recent audit records, newest last."""
    return [audit_out(r) for r in sec.audit.recent.entries()[-limit:]]
