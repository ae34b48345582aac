"""Issue 18 (service): forged X-Forwarded-For, lockout per address/account/device, real peer.

Over the real app (``TestClient`` with a chosen peer address), a ``ManualClock`` for the
backoff, and the pure ``lockout``/``clientaddr`` pieces on their own.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service_helpers import PASSWORDS, fast_users, make_site
from skywarden.core.clock import ManualClock
from skywarden.service.app import create_app
from skywarden.service.auth_api import DEVICE_COOKIE
from skywarden.service.clientaddr import client_address, parse_networks
from skywarden.service.lockout import Backoff, LoginGuard
from skywarden.service.settings import ServiceSettings
from support.scripted import ScriptedSource

NOW = 1_700_000_000.0
ADMIN = {"username": "admin", "password": PASSWORDS["admin"]}
WRONG = {"username": "admin", "password": "not-the-password"}


def _app(**settings: Any) -> Any:
    source = ScriptedSource(make_site(), now=NOW)
    return create_app(ServiceSettings(**settings), source, ManualClock(NOW), users=fast_users())


def _audit(app: Any) -> list[Any]:
    return list(app.state.skywarden.security.audit.recent.entries())


def test_forged_forwarded_for_neither_bypasses_the_limit_nor_enters_the_audit() -> None:
    app = _app()  # no trusted proxies: the default
    with TestClient(app, client=("127.0.0.1", 40000)) as c:
        codes = [
            c.post(
                "/api/auth/login", json=WRONG, headers={"X-Forwarded-For": f"10.9.8.{i}"}
            ).status_code
            for i in range(8)
        ]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    fails = [r for r in _audit(app) if r.action == "login_failed"]
    assert len(fails) == 5
    for i, r in enumerate(fails):
        assert r.detail["client"] == "127.0.0.1"  # the real peer
        assert r.detail["claimed_for"] == f"10.9.8.{i}"  # the forged claim, marked as one


def test_forwarded_for_is_believed_only_from_a_configured_proxy() -> None:
    app = _app(trusted_proxies=("10.0.0.0/8",))
    with TestClient(app, client=("10.0.0.5", 40000)) as c:
        r = c.post("/api/auth/login", json=ADMIN, headers={"X-Forwarded-For": "203.0.113.7"})
        assert r.status_code == 200
    with TestClient(app, client=("192.0.2.1", 40000)) as c:  # not a proxy: header ignored
        r = c.post("/api/auth/login", json=ADMIN, headers={"X-Forwarded-For": "203.0.113.8"})
        assert r.status_code == 200
    logins = [r.detail for r in _audit(app) if r.action == "login"]
    assert logins[0] == {"client": "203.0.113.7", "proxy": "10.0.0.5"}
    assert logins[1] == {"client": "192.0.2.1", "claimed_for": "203.0.113.8"}


@pytest.mark.parametrize(
    ("peer", "xff", "want"),
    [
        ("10.0.0.5", "1.2.3.4", "1.2.3.4"),
        ("10.0.0.5", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the left entry is the client's own claim
        ("10.0.0.5", "1.2.3.4, 10.0.0.9", "1.2.3.4"),  # a chain of trusted proxies
        ("10.0.0.5", "garbage", "10.0.0.5"),
        ("10.0.0.5", "1.2.3.4, garbage", "10.0.0.5"),
        ("10.0.0.5", "[2001:db8::1]:443", "2001:db8::1"),
        ("8.8.8.8", "1.2.3.4", "8.8.8.8"),
    ],
)
def test_client_address_reads_the_chain_from_the_right(peer: str, xff: str, want: str) -> None:
    proxies = parse_networks(["10.0.0.0/8"])
    assert client_address(peer, {"x-forwarded-for": xff}, proxies).address == want


def test_bad_trusted_proxy_setting_is_refused() -> None:
    with pytest.raises(ValueError):
        ServiceSettings(trusted_proxies=("not-an-address",))


def test_backoff_doubles_and_is_capped() -> None:
    b = Backoff(threshold=3, base_s=1.0, max_s=8.0, forget_s=1000.0)
    waits = []
    for k in range(8):
        b.failed("k", 100.0)
        waits.append(b.wait("k", 100.0))
        assert b.failures("k", 100.0) == k + 1
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert b.wait("k", 107.5) == pytest.approx(0.5)
    assert b.wait("k", 2000.0) == 0.0 and b.failures("k", 2000.0) == 0  # forgotten
    b.failed("k", 2000.0)
    b.clear("k")
    assert b.failures("k", 2000.0) == 0


def test_device_cookie_is_bound_to_its_account() -> None:
    g = LoginGuard(key=b"k" * 32)
    cookie = g.device_cookie("admin")
    device = g.device_of("admin", cookie)
    assert device is not None
    assert g.device_of("olga", cookie) is None  # not valid for another account
    assert g.device_of("admin", cookie[:-2] + "AA") is None  # forged MAC
    assert LoginGuard(key=b"j" * 32).device_of("admin", cookie) is None  # other key
    assert g.device_cookie("admin", cookie) == cookie  # a success keeps the device id


def test_attacker_sharing_the_address_cannot_keep_the_admin_out() -> None:
    """The admin's browser logged in before (device cookie); then an attacker behind the
    same address hammers the admin account. New clients are locked out with growing waits;
    the admin's browser still gets in, at once."""
    app = _app(login_burst=1000, lockout_after=3)
    clock = app.state.skywarden.clock
    with (
        TestClient(app, client=("192.0.2.10", 1)) as admin,
        TestClient(app, client=("192.0.2.10", 2)) as attacker,
    ):
        assert admin.post("/api/auth/login", json=ADMIN).status_code == 200
        assert DEVICE_COOKIE in admin.cookies
        waits = []
        for _ in range(6):
            r = attacker.post("/api/auth/login", json=WRONG)
            if r.status_code == 429:
                waits.append(int(r.headers["retry-after"]))
                clock.advance(float(r.headers["retry-after"]))
                r = attacker.post("/api/auth/login", json=WRONG)
            assert r.status_code == 401
        assert waits == [1, 2, 4]  # per address and per account, doubling
        # a new client (no device cookie) with the right password is locked out too ...
        r = attacker.post("/api/auth/login", json=ADMIN)
        assert r.status_code == 429
        # ... but the admin's own browser is judged by its own record: in
        r = admin.post("/api/auth/login", json=ADMIN)
        assert r.status_code == 200, r.text
        counters = admin.get("/api/stats").json()["counters"]
        assert counters["auth.login_locked"] == 4


def test_account_lockout_holds_across_addresses_and_clears_on_success() -> None:
    app = _app(login_burst=1000, lockout_after=2)
    clock = app.state.skywarden.clock
    for i in range(2):  # distributed guessing: each address fails once
        with TestClient(app, client=(f"198.51.100.{i}", 1)) as c:
            assert c.post("/api/auth/login", json=WRONG).status_code == 401
    with TestClient(app, client=("198.51.100.99", 1)) as c:  # a fresh address, same account
        r = c.post("/api/auth/login", json=ADMIN)
        assert r.status_code == 429
        clock.advance(float(r.headers["retry-after"]))
        assert c.post("/api/auth/login", json=ADMIN).status_code == 200
        # the success cleared the account's record: one failure does not lock it again
        assert c.post("/api/auth/login", json=WRONG).status_code == 401
        assert c.post("/api/auth/login", json=ADMIN).status_code == 200


def test_a_stolen_guess_from_a_known_device_is_still_slowed() -> None:
    app = _app(login_burst=1000, lockout_after=2)
    with TestClient(app, client=("192.0.2.20", 1)) as c:
        assert c.post("/api/auth/login", json=ADMIN).status_code == 200
        codes = [c.post("/api/auth/login", json=WRONG).status_code for _ in range(3)]
        assert codes == [401, 401, 429]  # the device's own record locks it


def test_concurrent_guesses_cannot_slip_past_the_lockout() -> None:
    """Each attempt counts as a failure before its password is checked (cleared on success),
    so a burst of parallel guesses is cut at the threshold, not after the slowest hash."""
    import asyncio

    import httpx

    app = _app(login_burst=1000, lockout_after=3)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("192.0.2.30", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            rs = await asyncio.gather(*(c.post("/api/auth/login", json=WRONG) for _ in range(20)))
        return [r.status_code for r in rs]

    codes = asyncio.run(burst())
    assert codes.count(401) == 3 and codes.count(429) == 17
