"""HTTP view of the central picture (``skywarden central --http HOST:PORT``), read-only.

``GET /api/cluster/sites`` lists every site with its region, worker, frame and alert counts;
``GET /api/cluster/picture?site=&region=`` returns tracks and open alerts of the selected
sites; ``GET /metrics`` the Prometheus exposition of sites and workers. With operator
actions (``ClusterOps``), ``POST /api/cluster/sites/{site}/alerts/{alert_id}/{acknowledge|
resolve}`` (operator role) and ``PUT /api/cluster/sites/{site}/zones`` (admin role; body: the
complete zones and whitelist, as the site service's edit journals them) are journaled on the
site's raw stream before they are answered (202 with the stream sequence), and reach the
site's engine from there. The picture lives in
``runtime.cluster.central`` (above this layer); this module needs only something with a
``view(site, region)`` method and a function that renders the metrics.

Behind the same accounts and roles as the single-site service (``service.auth``): with a
:class:`Security`, every route needs a viewer, shown by a bearer token from
``POST /api/auth/token`` (``{"username", "password"}``; rate-limited per client address). The
first admin comes from ``SKYWARDEN_ADMIN_PASSWORD`` as for ``skywarden run``; an admin
adds and removes users under ``/api/cluster/users`` (``service.cluster_users``). Central
faces other machines, so unlike the site console it grants nothing to anonymous loopback
clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from skywarden.core.clock import Clock, WallClock
from skywarden.core.errors import ConfigError
from skywarden.service.auth import Principal, Security, _bearer, name_of, resolve, too_many
from skywarden.service.clientaddr import client_address
from skywarden.service.cluster_users import users_router
from skywarden.service.users import Role


class ClusterView(Protocol):
    def view(self, site: str | None = None, region: str | None = None) -> dict[str, Any]: ...


class ClusterOps(Protocol):
    """Journals an operator's input for a site; raises LookupError (no such site or alert),
    ValueError (a malformed request, ``ConfigError`` included)."""

    async def alert_action(self, site: str, alert_id: str, action: str, operator: str) -> int: ...

    async def edit_site(self, site: str, payload: Mapping[str, Any], actor: str) -> int: ...


class SiteEdit(BaseModel):
    zones: list[dict[str, Any]] = Field(max_length=10_000)
    whitelist: list[dict[str, Any]] = Field(default_factory=list, max_length=100_000)


class Journaled(BaseModel):
    seq: int


class SiteSummary(BaseModel):
    site: str
    region: str
    worker: str | None
    frames: int
    reports: int
    tracks: int
    open_alerts: int
    t: float | None


class TokenRequest(BaseModel):
    username: str = Field(max_length=128)
    password: str = Field(max_length=1024)


class TokenReply(BaseModel):
    token: str
    role: str


def _viewer(
    sec: Security | None, clock: Clock, role: Role = Role.VIEWER
) -> Callable[..., Principal | None]:
    def check(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal | None:
        if sec is None:
            return None
        token = bearer.credentials if bearer is not None else None
        p = resolve(sec, clock.now(), request.method, request.headers, token, None)
        if p is None:
            raise HTTPException(401, "log in first", {"WWW-Authenticate": "Bearer"})
        if not p.role.allows(role):
            raise HTTPException(403, f"needs the {role.value} role")
        return p

    return check


async def _journaled(action: Awaitable[int]) -> Journaled:
    """An operator action, answered once journaled: 404 for an unknown site or alert, 422 for
    a request the site would refuse (the same mapping for every action)."""
    try:
        return Journaled(seq=await action)
    except LookupError as e:
        raise HTTPException(404, str(e)) from None
    except (ValueError, ConfigError) as e:
        raise HTTPException(422, str(e)) from None


def ops_router(
    ops: ClusterOps, operator: Callable[..., Any], admin: Callable[..., Any]
) -> APIRouter:
    r = APIRouter()

    @r.post(
        "/api/cluster/sites/{site}/alerts/{alert_id}/{action}",
        status_code=202,
        response_model=Journaled,
        tags=["cluster"],
    )
    async def alert_action(
        site: str,
        alert_id: str,
        action: Literal["acknowledge", "resolve"],
        who: Principal | None = Depends(operator),  # noqa: B008 (a closure: not resolvable by name)
    ) -> Journaled:
        return await _journaled(ops.alert_action(site, alert_id, action, name_of(who)))

    @r.put(
        "/api/cluster/sites/{site}/zones",
        status_code=202,
        response_model=Journaled,
        tags=["cluster"],
    )
    async def edit_zones(
        site: str,
        body: SiteEdit,
        who: Principal | None = Depends(admin),  # noqa: B008 (as above)
    ) -> Journaled:
        return await _journaled(ops.edit_site(site, body.model_dump(), name_of(who)))

    return r


def cluster_router(
    picture: ClusterView, metrics: Callable[[], str] | None, viewer: Callable[..., Any]
) -> APIRouter:
    r = APIRouter(dependencies=[Depends(viewer)])

    @r.get("/api/cluster/sites", response_model=list[SiteSummary], tags=["cluster"])
    def sites(region: str | None = None) -> list[SiteSummary]:
        return [
            SiteSummary(
                site=v["site"],
                region=v["region"],
                worker=v["worker"],
                frames=v["frames"],
                reports=v["reports"],
                tracks=len(v["tracks"]),
                open_alerts=len(v["alerts"]),
                t=v["t"],
            )
            for v in picture.view(region=region)["sites"]
        ]

    @r.get("/api/cluster/picture", tags=["cluster"])
    def view(site: str | None = None, region: str | None = None) -> dict[str, Any]:
        return picture.view(site=site, region=region)

    if metrics is not None:
        render = metrics

        @r.get("/metrics", response_class=PlainTextResponse, tags=["cluster"])
        def prometheus() -> PlainTextResponse:
            return PlainTextResponse(render(), media_type="text/plain; version=0.0.4")

    return r


def cluster_app(
    picture: ClusterView,
    metrics: Callable[[], str] | None = None,
    security: Security | None = None,
    clock: Clock | None = None,
    ops: ClusterOps | None = None,
) -> FastAPI:
    """Without ``security`` the routes are open (tests and a loopback-only central)."""
    clk = clock or WallClock()
    app = FastAPI(title="skywarden central", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(cluster_router(picture, metrics, _viewer(security, clk)))
    if ops is not None:
        op, adm = _viewer(security, clk, Role.OPERATOR), _viewer(security, clk, Role.ADMIN)
        app.include_router(ops_router(ops, op, adm))
    if security is not None:
        sec = security
        app.include_router(users_router(sec, clk, _viewer(sec, clk, Role.ADMIN)))

        @app.post("/api/auth/token", response_model=TokenReply, tags=["auth"])
        def token(body: TokenRequest, request: Request) -> TokenReply:
            now = clk.now()
            peer = request.client.host if request.client else "unknown"
            client = client_address(peer, request.headers, sec.proxies).address
            wait = sec.login_limit.take(client, now)
            if wait > 0:
                raise too_many(wait, "login attempts")
            user = sec.users.verify(body.username, body.password)
            if user is None:
                sec.counters.inc("auth.login_refused")
                raise HTTPException(401, "wrong user name or password")
            secret, _ = sec.sessions.open(user.name, "bearer", now)
            return TokenReply(token=secret, role=user.role.value)

    return app
