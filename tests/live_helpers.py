"""The real runtime on loopback for end-to-end adapter tests.

``running_service(site_toml, tmp_path)`` starts what ``skywarden run --site FILE`` starts:
the site's :class:`LinkedLiveSource` (journal in ``tmp_path``, sensor links bound as the
site says), ``create_app`` and uvicorn on a free port, all on the test's event loop, and
yields a :class:`Service` with an ``httpx.AsyncClient`` logged in as an operator. The journal
stays open after the service stopped, so the test can read what was recorded (and closes it).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from skywarden.core.clock import WallClock
from skywarden.runtime.live.adapters import LinkedLiveSource
from skywarden.runtime.live.feeds import site_feed
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from skywarden.store.journal import Journal, open_journal

USER, PASSWORD = "tester", "tester-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    source: LinkedLiveSource
    journal: Journal
    http: httpx.AsyncClient
    port: int

    async def poll(self, path: str, ok: Callable[[Any], bool], timeout_s: float = 30.0) -> Any:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        body: Any = None
        while loop.time() < end:
            body = (await self.http.get(path)).json()
            if ok(body):
                return body
            await asyncio.sleep(0.2)
        raise AssertionError(f"{path}: condition not met in {timeout_s} s; last: {body!r}")


@asynccontextmanager
async def running_service(site_toml: str, tmp_path: Path) -> AsyncIterator[Service]:
    site_file = tmp_path / "site.toml"
    site_file.write_text(site_toml, encoding="utf-8")
    journal = open_journal(str(tmp_path / "journal.sqlite"))
    clock = WallClock()
    source = LinkedLiveSource(site_feed(site_file), clock, journal, tick_s=0.2, lag_s=0.3)
    port = free_port()
    settings = ServiceSettings(
        host="127.0.0.1", port=port, admin_user=USER, admin_password=PASSWORD
    )
    app = create_app(settings, source, clock=clock, ingest=source.ingest)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.02)
        assert server.started, "the service did not start"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            r = await http.post("/api/auth/login", json={"username": USER, "password": PASSWORD})
            assert r.status_code == 200, r.text
            http.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            yield Service(source, journal, http, port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)  # the lifespan stops links, then the journal writer
