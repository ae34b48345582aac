"""uvicorn's httptools protocol with a bound on the request head (line + headers): HTTP 431.

uvicorn's httptools protocol sets no limit on the size of a request line or header block, and
both the parser (for a header value) and uvicorn (for the URL) grow their buffer by
concatenation, once per socket read: a client streaming a 20 MB header costs the event loop
time quadratic in its size (measured: 19.7 MB took 17 s of the loop) and the process its
memory. No ASGI middleware can help: the head is parsed before the app is called.

``BoundedHttpToolsProtocol`` counts the bytes fed to the parser while a request's head is
incomplete; past ``MAX_HEAD_BYTES`` it answers ``431 Request Header Fields Too Large`` and
closes the connection. Only reads that went entirely to one incomplete head are counted, so a
read that holds a body (or a whole request, or the end of one body and the next head) never
counts against a head. Counted in
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
        self._heads_done = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads_done += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # what comes next on this connection is the next request's head

    def data_received(self, data: bytes) -> None:
        in_head, heads_before = self._in_head, self._heads_done
        super().data_received(data)
        if self._heads_done != heads_before:
            self._head_bytes = 0  # a head completed in this read: a new one starts counting
        elif in_head and self._in_head and not self.transport.is_closing():
            # the whole read went to one head, incomplete before and after it (a read that
            # ends a body, or holds a whole message, never counts)
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                BoundedHttpToolsProtocol.refused += 1
                self.transport.write(_431)
                self.transport.close()
