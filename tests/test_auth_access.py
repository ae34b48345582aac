"""Access control, endpoint by endpoint and role by role, over the real app (ScriptedSource).

Each route has a least role; every weaker principal is refused (401 when anonymous, 403 when
logged in with too low a role) and every sufficient one gets through (whatever the route then
answers: 2xx, 404, 409, 422, but never 401/403). Cookie sessions without the CSRF token are
refused on every state-changing route; bearer tokens need none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service_helpers import (
    PASSWORDS,
    PictureMaker,
    bearer,
    fast_users,
    login,
    make_site,
    standard_tracks,
)
from skywarden.core.clock import ManualClock
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from support.scripted import ScriptedSource

ZONE = {
    "type": "Feature",
    "properties": {"id": "gate", "kind": "warning", "center_enu": [10, 20], "radius_m": 30},
}
# method, path, json body, least role
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/api/site", None, "viewer"),
    ("GET", "/api/tracks", None, "viewer"),
    ("GET", "/api/history", None, "viewer"),
    ("GET", "/api/alerts", None, "viewer"),
    ("GET", "/api/stats", None, "viewer"),
    ("GET", "/api/config", None, "viewer"),
    ("GET", "/api/zones", None, "viewer"),
    ("GET", "/api/whitelist", None, "viewer"),
    ("GET", "/api/sensors", None, "viewer"),
    ("GET", "/api/auth/me", None, "viewer"),
    ("GET", "/metrics", None, "viewer"),
    ("POST", "/api/alerts/{aid}/ack", None, "operator"),
    ("POST", "/api/alerts/{aid}/resolve", None, "operator"),
    ("POST", "/api/zones", ZONE, "admin"),
    (
        "PUT",
        "/api/zones/residence",
        {**ZONE, "properties": {**ZONE["properties"], "id": "residence"}},
        "admin",
    ),
    ("DELETE", "/api/zones/perimeter", None, "admin"),
    ("POST", "/api/whitelist", {"icao": "4ca123", "note": "mail plane"}, "admin"),
    ("DELETE", "/api/whitelist/FRIEND1", None, "admin"),
    ("POST", "/api/sensors/radar-1/token", None, "admin"),
    ("DELETE", "/api/sensors/radar-1/token", None, "admin"),
    ("GET", "/api/users", None, "admin"),
    (
        "POST",
        "/api/users",
        {"name": "newbie", "password": "newbie-pass-1", "role": "viewer"},
        "admin",
    ),
    ("PATCH", "/api/users/victor", {"role": "viewer"}, "admin"),
    ("DELETE", "/api/users/newbie", None, "admin"),
    ("GET", "/api/audit", None, "admin"),
]
RANK = {"anonymous": -1, "viewer": 0, "operator": 1, "admin": 2}
WHO = {"viewer": "victor", "operator": "olga", "admin": "admin"}


@pytest.fixture
def app_and_source() -> Iterator[tuple[Any, ScriptedSource]]:
    source = ScriptedSource(make_site(), now=1_700_000_100.0)
    app = create_app(ServiceSettings(), source, ManualClock(1_700_000_000.0), users=fast_users())
    pm = PictureMaker(source.site)
    source.push(pm.make(standard_tracks()))
    yield app, source


def _call(c: TestClient, method: str, path: str, body: Any, aid: str, **kw: Any) -> int:
    r = c.request(method, path.replace("{aid}", aid), json=body, **kw)
    return r.status_code


def _aid(source: ScriptedSource) -> str:
    pic = source.current()
    assert pic is not None and pic.alerts
    return pic.alerts[0].id


@pytest.mark.parametrize("role", ["anonymous", "viewer", "operator", "admin"])
def test_each_route_refuses_weaker_roles_and_admits_sufficient_ones(
    app_and_source: tuple[Any, ScriptedSource], role: str
) -> None:
    app, source = app_and_source
    with TestClient(app) as c:
        if role != "anonymous":
            login(c, WHO[role])
        refused, admitted = [], []
        for method, path, body, least in ROUTES:
            code = _call(c, method, path, body, _aid(source))
            if RANK[role] < RANK[least]:
                want = 401 if role == "anonymous" else 403
                (refused if code == want else admitted).append((method, path, code))
            else:
                assert code not in (401, 403), (role, method, path, code)
        # every route too strong for this role was refused with the right code
        assert admitted == [], admitted
        assert len(refused) == sum(1 for r in ROUTES if RANK[role] < RANK[r[3]])


def test_bearer_tokens_work_without_csrf_and_respect_roles(
    app_and_source: tuple[Any, ScriptedSource],
) -> None:
    app, source = app_and_source
    with TestClient(app) as c:
        hv, ho = bearer(c, "victor"), bearer(c, "olga")
        aid = _aid(source)
        assert c.get("/api/tracks", headers=hv).status_code == 200
        assert c.post(f"/api/alerts/{aid}/ack", headers=hv).status_code == 403
        r = c.post(f"/api/alerts/{aid}/ack", headers=ho)
        assert r.status_code == 200 and r.json()["acknowledged_by"] == "olga"
        assert c.get("/api/tracks", headers={"Authorization": "Bearer nope"}).status_code == 401
        # a bearer token is for API clients: it is no session cookie
        c.cookies.set("skywarden_session", ho["Authorization"][7:])
        assert c.get("/api/tracks").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"), [(m, p, b) for m, p, b, least in ROUTES if m != "GET"]
)
def test_cookie_session_without_csrf_token_is_refused(
    app_and_source: tuple[Any, ScriptedSource], method: str, path: str, body: Any
) -> None:
    app, source = app_and_source
    with TestClient(app) as c:
        login(c, "admin")
        del c.headers["X-CSRF-Token"]
        assert _call(c, method, path, body, _aid(source)) == 403
        c.headers["X-CSRF-Token"] = "forged"
        assert _call(c, method, path, body, _aid(source)) == 403


def test_session_cookie_is_httponly_and_samesite_strict(
    app_and_source: tuple[Any, ScriptedSource],
) -> None:
    app, _ = app_and_source
    with TestClient(app) as c:
        r = c.post("/api/auth/login", json={"username": "olga", "password": PASSWORDS["olga"]})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/").headers["content-security-policy"] == "frame-ancestors 'none'"
        assert PASSWORDS["olga"] not in r.text
        me = c.get("/api/auth/me").json()
        assert me == {
            "name": "olga",
            "role": "operator",
            "via": "cookie",
            "csrf_token": me["csrf_token"],
        }
        c.headers["X-CSRF-Token"] = me["csrf_token"]
        assert c.post("/api/auth/logout").status_code == 204
        assert c.get("/api/auth/me").status_code == 401


def test_wrong_password_and_login_rate_limit(app_and_source: tuple[Any, ScriptedSource]) -> None:
    app, _ = app_and_source
    with TestClient(app) as c:
        bad = {"username": "olga", "password": "wrong-password"}
        codes = [c.post("/api/auth/login", json=bad).status_code for _ in range(5)]
        assert codes == [401] * 5
        # the bucket (5 attempts, clock frozen) is empty: even the right password waits
        r = c.post("/api/auth/login", json={"username": "olga", "password": PASSWORDS["olga"]})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        clock = app.state.skywarden.clock
        clock.advance(11.0)  # 6 per minute refill: one attempt back after 10 s
        r = c.post("/api/auth/login", json={"username": "olga", "password": PASSWORDS["olga"]})
        assert r.status_code == 200
        assert c.get("/api/stats").json()["counters"]["auth.login_limited"] == 1.0


def test_local_viewer_only_on_a_loopback_host_header(
    app_and_source: tuple[Any, ScriptedSource],
) -> None:
    app, source = app_and_source
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        assert c.get("/api/tracks").status_code == 200
        assert c.get("/api/auth/me").json()["via"] == "local"
        assert c.post(f"/api/alerts/{_aid(source)}/ack").status_code == 401
    with TestClient(app, base_url="http://evil.example:8080") as c:  # a DNS-rebinding page
        assert c.get("/api/tracks").status_code == 401


def test_no_local_viewer_when_bound_beyond_loopback() -> None:
    source = ScriptedSource(make_site())
    app = create_app(ServiceSettings(host="0.0.0.0"), source, users=fast_users())
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        assert c.get("/api/tracks").status_code == 401
        assert c.get("/api/health").status_code == 200  # liveness stays open


def test_websocket_needs_a_viewer_and_the_same_origin(
    app_and_source: tuple[Any, ScriptedSource],
) -> None:
    app, _ = app_and_source
    with TestClient(app) as c:
        with pytest.raises(Exception), c.websocket_connect("/ws/picture"):  # noqa: B017
            pass
        login(c, "victor")
        with c.websocket_connect("/ws/picture") as ws:
            assert ws.receive_json()["resync"] is True
        with (
            pytest.raises(Exception),  # noqa: B017
            c.websocket_connect("/ws/picture", headers={"Origin": "http://evil.example"}),
        ):
            pass
        with c.websocket_connect("/ws/picture", headers={"Origin": "http://testserver"}) as ws:
            assert ws.receive_json()["type"] == "picture"
        assert app.state.skywarden.security.counters.get("auth.ws_refused") == 2


def test_changing_a_password_or_removing_a_user_ends_their_sessions(
    app_and_source: tuple[Any, ScriptedSource],
) -> None:
    app, _ = app_and_source
    with TestClient(app) as admin, TestClient(app) as victor:
        login(admin, "admin")
        login(victor, "victor")
        assert victor.get("/api/tracks").status_code == 200
        r = admin.patch("/api/users/victor", json={"password": "a-new-pass-99"})
        assert r.status_code == 200
        assert victor.get("/api/tracks").status_code == 401
        assert admin.delete("/api/users/admin").status_code == 409  # the last admin stays
        assert admin.patch("/api/users/admin", json={"role": "viewer"}).status_code == 409
        assert admin.delete("/api/users/victor").status_code == 204
        assert [u["name"] for u in admin.get("/api/users").json()] == ["admin", "olga"]
