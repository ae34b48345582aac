"""A local HTTP peer that records what push services would receive (json://, ntfy://)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Threaded HTTP server on 127.0.0.1; every request is kept as (monotonic t, path,
    headers, body). ``status`` is what it answers (500 makes every delivery fail)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.got: list[tuple[float, str, dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                t = time.monotonic()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")
                with outer.arrived:
                    outer.got.append((t, self.path, dict(self.headers.items()), body))
                    outer.arrived.notify_all()

            do_PUT = do_POST

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, n: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.got) >= n, timeout)
