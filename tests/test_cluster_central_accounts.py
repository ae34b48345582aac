"""Central's accounts and roles survive a restart and a fail-over to another central.

The cluster has no HTTP sensor path (a pooled site's sensors reach the raw stream through
``skywarden gateway``'s links or a ``JetStreamIngestPort``; no sensor token is involved), so
what a client of the cluster authenticates against is central's HTTP. Here a real
``skywarden central --http --journal`` on a real nats-server: an admin adds users through
``/api/cluster/users`` and removes one; central is SIGKILLed and another central is started
on the same journal (the SQLite file, or the loopback PostgreSQL schema a standby central
would share) *without* the first admin's password in its environment. The users log in with
the roles they had, the bearer tokens the first central issued are still accepted, the
removed user and its token are refused, and no new first admin was made. Beside it: the
session table on both backends, and the user routes' roles and refusals (in process).
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
from fastapi.testclient import TestClient

from nats_helpers import free_port, require_nats_server, single_server
from skywarden.runtime.cluster.central import CentralPicture
from skywarden.service.auth import build_security
from skywarden.service.cluster_api import cluster_app
from skywarden.service.sessions import SessionStore, digest
from skywarden.service.settings import ServiceSettings
from skywarden.store.accounts import AccountTables
from skywarden.store.journal import open_journal
from support.postgres import drop_postgres_schema, fresh_postgres_url, postgres_base_url

ADMIN_PW = "central-admin-password"


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
        yield f"sqlite://{tmp_path}/central.sqlite"


def test_sessions_persist_as_digests_closed_and_expired_ones_do_not(journal_url: str) -> None:
    j = open_journal(journal_url)
    store = SessionStore(ttl_s=100.0, tables=AccountTables(j.database))
    kept, s1 = store.open("olga", "bearer", 1000.0)
    closed, _ = store.open("olga", "bearer", 1001.0)
    gone, _ = store.open("gone", "bearer", 1002.0)
    assert store.close(closed)
    assert store.close_user("gone") == 1
    j.close()
    j = open_journal(journal_url)
    tables = AccountTables(j.database)
    rows = tables.sessions()
    assert [r.digest for r in rows] == [digest(kept)]  # a digest, never the token
    assert all(kept.encode() not in r.digest for r in rows)
    again = SessionStore(ttl_s=100.0, tables=tables)
    assert again.get(kept, 1050.0) == s1
    assert again.get(closed, 1050.0) is None
    assert again.get(gone, 1050.0) is None
    assert again.get(kept, 1100.0) is None  # expired: refused and deleted
    assert tables.sessions() == []
    j.close()


class Central:
    """One ``skywarden central --http`` process; its output goes to ``log``."""

    def __init__(self, nats_url: str, journal: str, log: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = log
        cmd = [sys.executable, "-m", "skywarden.cli.main", "central", "--nats", nats_url]
        cmd += ["--journal", journal, "--http", f"127.0.0.1:{self.port}", "--every", "1"]
        self.proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            assert self.proc.poll() is None, log.read_text()
            try:
                # anonymous is refused (401): the server is up and checks logins
                if self.http.get("/api/cluster/sites").status_code == 401:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"central did not serve within 60 s:\n{log.read_text()}")

    def bearer(self, user: str, password: str) -> dict[str, str] | None:
        r = self.http.post("/api/auth/token", json={"username": user, "password": password})
        if r.status_code != 200:
            assert r.status_code == 401, r.text
            return None
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def kill(self) -> None:
        self.http.close()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(20)


def test_central_accounts_survive_a_kill_and_a_second_central(
    tmp_path: Path, journal_url: str
) -> None:
    require_nats_server()
    srv = single_server(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "SKYWARDEN_ADMIN_PASSWORD"}
    first = Central(
        srv.url, journal_url, tmp_path / "c1.log", {**env, "SKYWARDEN_ADMIN_PASSWORD": ADMIN_PW}
    )
    second: Central | None = None
    try:
        admin = first.bearer("admin", ADMIN_PW)
        assert admin is not None
        for name, role in (("olga", "operator"), ("vic", "viewer"), ("gone", "viewer")):
            body = {"name": name, "password": f"{name}-password", "role": role}
            r = first.http.post("/api/cluster/users", json=body, headers=admin)
            assert r.status_code == 201, r.text
        olga = first.bearer("olga", "olga-password")
        assert olga is not None
        # an operator is not an admin
        assert first.http.get("/api/cluster/users", headers=olga).status_code == 403
        gone = first.bearer("gone", "gone-password")
        assert gone is not None
        assert first.http.get("/api/cluster/sites", headers=gone).status_code == 200
        assert first.http.delete("/api/cluster/users/gone", headers=admin).status_code == 204
        # removal is at once: the open session and a new login are refused
        assert first.http.get("/api/cluster/sites", headers=gone).status_code == 401
        assert first.bearer("gone", "gone-password") is None
        # the last admin cannot be removed
        assert first.http.delete("/api/cluster/users/admin", headers=admin).status_code == 409
        first.kill()

        # another central on the same journal, without the first admin's password
        second = Central(srv.url, journal_url, tmp_path / "c2.log", env)
        assert "one-time password" not in second.log.read_text()  # no new first admin
        admin2 = second.bearer("admin", ADMIN_PW)
        assert admin2 is not None
        users = second.http.get("/api/cluster/users", headers=admin2)
        assert users.status_code == 200, users.text
        assert sorted((u["name"], u["role"]) for u in users.json()) == [
            ("admin", "admin"),
            ("olga", "operator"),
            ("vic", "viewer"),
        ]
        # bearer tokens issued by the first central: still accepted, the closed one refused
        assert second.http.get("/api/cluster/sites", headers=olga).status_code == 200
        assert second.http.get("/api/cluster/users", headers=admin).status_code == 200
        assert second.http.get("/api/cluster/sites", headers=gone).status_code == 401
        olga2 = second.bearer("olga", "olga-password")
        vic2 = second.bearer("vic", "vic-password")
        assert olga2 is not None and vic2 is not None
        assert second.http.get("/api/cluster/sites", headers=vic2).status_code == 200
        assert second.http.get("/api/cluster/users", headers=olga2).status_code == 403
        assert second.bearer("olga", "wrong-password-1") is None
        assert second.bearer("gone", "gone-password") is None  # removed stays removed
    finally:
        for c in (first, second):
            if c is not None and c.proc.poll() is None:
                c.kill()
        srv.stop()


def test_central_user_routes_need_an_admin_and_refuse_with_reasons() -> None:
    sec = build_security(
        ServiceSettings(local_viewer=False), env={"SKYWARDEN_ADMIN_PASSWORD": ADMIN_PW}
    )
    c = TestClient(cluster_app(CentralPicture(), None, sec))

    def bearer(user: str, pw: str) -> dict[str, str]:
        r = c.post("/api/auth/token", json={"username": user, "password": pw})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    admin = bearer("admin", ADMIN_PW)
    olga = {"name": "olga", "password": "olga-password", "role": "viewer"}
    assert c.post("/api/cluster/users", json=olga).status_code == 401
    assert c.post("/api/cluster/users", json=olga, headers=admin).status_code == 201
    assert c.post("/api/cluster/users", json=olga, headers=admin).status_code == 409  # twice
    viewer = bearer("olga", "olga-password")
    assert c.get("/api/cluster/users", headers=viewer).status_code == 403
    assert c.delete("/api/cluster/users/admin", headers=viewer).status_code == 403
    short = {"name": "bob", "password": "short", "role": "viewer"}
    assert c.post("/api/cluster/users", json=short, headers=admin).status_code == 422
    odd = {"name": "bob", "password": "bob-password", "role": "root"}
    assert c.post("/api/cluster/users", json=odd, headers=admin).status_code == 422
    assert c.delete("/api/cluster/users/nobody", headers=admin).status_code == 404
    assert c.delete("/api/cluster/users/admin", headers=admin).status_code == 409  # last admin
    assert sorted(u.name for u in sec.users) == ["admin", "olga"]
