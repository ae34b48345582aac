"""Accounts, roles and sensor tokens persist in the journal's database and survive restarts.

Two levels: the stores over ``store.accounts`` on both backends (SQLite and the loopback
PostgreSQL), and a real ``skywarden run`` process stopped and started again on the same
journal, where a token issued before the restart is still accepted and a revoked one is not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from skywarden.service.sessions import SensorTokens, digest
from skywarden.service.users import Role, UserError, UserStore
from skywarden.store.accounts import AccountTables
from skywarden.store.journal import Journal, open_journal
from support.postgres import drop_postgres_schema, fresh_postgres_url, postgres_base_url

SKYWARDEN = Path(sys.executable).parent / "skywarden"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        base, why = postgres_base_url()
        if base is None:
            pytest.skip(why or "PostgreSQL unavailable")
        url = fresh_postgres_url(base)
        yield url
        drop_postgres_schema(url)
    else:
        yield f"sqlite://{tmp_path}/j.sqlite"


def _reopen(url: str, old: Journal) -> tuple[Journal, AccountTables]:
    old.close()
    j = open_journal(url)
    return j, AccountTables(j.database)


def test_users_and_roles_are_written_through_and_reloaded(journal_url: str) -> None:
    j = open_journal(journal_url)
    users = UserStore(CHEAP, AccountTables(j.database))
    users.add("root", "root-password-1", Role.ADMIN)
    users.add("alice", "alice-password", Role.VIEWER)
    users.add("bob", "bob-password-1", Role.OPERATOR)
    users.set_role("alice", Role.OPERATOR)
    users.set_password("bob", "bob-password-2")
    users.add("carol", "carol-password", Role.VIEWER)
    users.remove("carol")
    j, tables = _reopen(journal_url, j)
    again = UserStore(CHEAP, tables)
    assert [(u.name, u.role) for u in again] == [
        ("alice", Role.OPERATOR),
        ("bob", Role.OPERATOR),
        ("root", Role.ADMIN),
    ]
    assert again.verify("bob", "bob-password-2") is not None
    assert again.verify("bob", "bob-password-1") is None
    assert again.get("carol") is None
    # nothing in clear: the stored form is the argon2id hash
    rows = {r.name: r for r in tables.users()}
    assert rows["alice"].password_hash.startswith("$argon2id$")
    assert "alice-password" not in rows["alice"].password_hash
    # the last-admin rule still holds on a reloaded store
    with pytest.raises(UserError):
        again.remove("root")
    j.close()


def test_sensor_tokens_persist_as_digests_and_revocation_too(journal_url: str) -> None:
    j = open_journal(journal_url)
    tokens = SensorTokens(AccountTables(j.database))
    t1 = tokens.issue("radar-1")
    t2 = tokens.issue("rid-1")
    tokens.set("cam-1", "a-configured-token-0001")
    tokens.set("env-1", "from-the-environment-01", persist=False)
    assert tokens.revoke("rid-1")
    j, tables = _reopen(journal_url, j)
    stored = tables.tokens()
    assert stored == {"radar-1": digest(t1), "cam-1": digest("a-configured-token-0001")}
    assert all(t1.encode() not in d for d in stored.values())
    again = SensorTokens(tables)
    assert again.verify("radar-1", t1)
    assert not again.verify("rid-1", t2)  # revoked before the restart stays revoked
    assert not again.verify("env-1", "from-the-environment-01")  # the environment's own
    assert again.registered() == ["cam-1", "radar-1"]
    j.close()


# ------------------------------------------------------------------ a real `skywarden run`

SITE_TOML = """
name = "gatehouse"
[origin]
lat = 51.5
lon = -0.12
alt_m = 20.0
[[sensors]]
id = "radar-1"
kind = "radar"
measures = "range_az_el_radial"
position_enu_m = [0, 0, 8]
sigma = {range_m = 4.0, az_rad = 0.008, el_rad = 0.01, radial_mps = 0.5}
max_range_m = 3000
[[sensors]]
id = "radar-2"
kind = "radar"
measures = "range_az_el_radial"
position_enu_m = [50, 0, 8]
sigma = {range_m = 4.0, az_rad = 0.008, el_rad = 0.01, radial_mps = 0.5}
max_range_m = 3000
"""
ADMIN_PW = "first-admin-password"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Run:
    """One ``skywarden run`` process on a free port; ``stop`` is SIGINT and a clean exit."""

    def __init__(self, site: Path, journal: str, admin_password: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "SKYWARDEN_ADMIN_PASSWORD": admin_password}
        cmd = [str(SKYWARDEN), "run", "--port", str(self.port), "--site", str(site)]
        self.proc = subprocess.Popen(
            [*cmd, "--journal", journal],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.proc.communicate()[0]
            try:
                if self.http.get("/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError("skywarden run did not start within 60 s")

    def bearer(self, user: str, password: str) -> dict[str, str] | None:
        r = self.http.post("/api/auth/token", json={"username": user, "password": password})
        if r.status_code != 200:
            return None
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def post(self, sensor_id: str, token: str, t: float) -> int:
        polar = {"range_m": 400, "az_deg": 10, "el_deg": 4, "radial_mps": -2}
        body = {"t": t, "detections": [{"polar": polar}]}
        r = self.http.post(f"/api/ingest/{sensor_id}", json=body, headers={"X-Sensor-Token": token})
        return r.status_code

    def stop(self) -> str:
        self.http.close()
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=30)
        assert self.proc.returncode in (0, 130), out
        return out


def test_tokens_users_and_roles_survive_a_restart_of_skywarden_run(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(SITE_TOML, encoding="utf-8")
    journal = f"sqlite://{tmp_path}/journal.sqlite"
    first = Run(site, journal, ADMIN_PW)
    try:
        admin = first.bearer("admin", ADMIN_PW)
        assert admin is not None
        tok1 = first.http.post("/api/sensors/radar-1/token", headers=admin).json()["token"]
        tok2 = first.http.post("/api/sensors/radar-2/token", headers=admin).json()["token"]
        new_user = {"name": "olga", "password": "olga-password", "role": "viewer"}
        assert first.http.post("/api/users", json=new_user, headers=admin).status_code == 201
        r = first.http.patch("/api/users/olga", json={"role": "operator"}, headers=admin)
        assert r.status_code == 200, r.text
        t = time.time()
        assert first.post("radar-1", tok1, t) == 202
        assert first.post("radar-2", tok2, t) == 202
        assert first.http.delete("/api/sensors/radar-2/token", headers=admin).status_code == 204
        assert first.post("radar-2", tok2, t) == 401
    finally:
        first.stop()
    # a different password in the environment now: the stored admin is kept, not re-created
    second = Run(site, journal, "another-admin-password")
    try:
        t = time.time()
        assert second.post("radar-1", tok1, t) == 202
        assert second.post("radar-2", tok2, t) == 401
        assert second.post("radar-1", "swt_not-the-token-at-all", t) == 401
        assert second.bearer("admin", "another-admin-password") is None
        admin = second.bearer("admin", ADMIN_PW)
        assert admin is not None
        olga = second.bearer("olga", "olga-password")
        assert olga is not None
        me = second.http.get("/api/auth/me", headers=olga).json()
        assert me["role"] == "operator"
        sensors = {
            s["id"]: s["token"] for s in second.http.get("/api/sensors", headers=admin).json()
        }
        assert sensors == {"radar-1": True, "radar-2": False}
    finally:
        second.stop()
