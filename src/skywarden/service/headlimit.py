"""uvicorn's httptools protocol with a bound on the request head (line + headers): HTTP 431.

uvicorn's httptools protocol sets no limit on the size of a request line or header block, and
both the parser (for a header value) and uvicorn (for the URL) grow their buffer by
concatenation, once per socket read: a client streaming a 20 MB header costs the event loop
time quadratic in its size (measured: 19.7 MB took 17 s of the loop) and the process its
memory. No ASGI middleware can help: the head is parsed before the app is called.

``BoundedHttpToolsProtocol`` counts the bytes fed to the parser while a request's head is
incomplete; past ``MAX_HEAD_BYTES`` it answers ``431 Request Header Fields Too Large`` and
closes the connection. The bytes of one socket read are fed before the check, so a legitimate
request whose head and body arrive in one read is never refused for its body. Counted in
``refused`` (class-wide; the service's ``Counters`` are the app's, out of reach here).
``runtime.live.build_server`` passes it to uvicorn as ``http=``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 65_536
_MSG = b"request line and headers larger than 65536 bytes"
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_MSG), _MSG)
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    max_head_bytes: ClassVar[int] = MAX_HEAD_BYTES
    refused: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # what comes next on this connection is the next request's head
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        counting = self._in_head
        super().data_received(data)
        if counting and self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                BoundedHttpToolsProtocol.refused += 1
                self.transport.write(_431)
                self.transport.close()
