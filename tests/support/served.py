"""An ASGI app served by a real uvicorn on a free loopback port, in a thread of its own.

For the tests that need a real socket in the test process (a browser, an outside HTTP client):
``with ServedApp(app) as srv:`` returns once the server accepts connections and stops it after.
``srv.call(fn, *args)`` runs ``fn`` on the server's loop (a test pushing a picture to a source
that lives there). One class, so the browser and live API tests start and stop a server the
same way.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any, Self


class ServedApp:
    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve()

        asyncio.run(main())

    def __enter__(self) -> Self:
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def call(self, fn: Any, *args: Any) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(fn, *args)
