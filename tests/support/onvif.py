"""A camera's ONVIF PTZ service on loopback, for the tests that drive one (no camera exists
here): ``FakePtzService(password)`` checks each request's WS-Security digest and records each
AbsoluteMove it got; ``.url`` is its PTZ service address, ``.port`` its port."""

from __future__ import annotations

import base64
import hashlib
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, HTTPServer

from skywarden.nodes.onvif_ptz import PTZ, SOAP, TT, WSSE, WSU

PASSWORD = "s3cret&"

RESPONSE = (
    f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP}"><s:Body>'
    f'<tptz:AbsoluteMoveResponse xmlns:tptz="{PTZ}"/></s:Body></s:Envelope>'
).encode()


class FakePtzService:
    """A camera's PTZ service on loopback (no camera exists here): it checks each request's
    WS-Security digest against the password, records the AbsoluteMove it got as
    (profile, pan, tilt, zoom, created) and answers as a camera does."""

    def __init__(self, password: str) -> None:
        moves: list[tuple[str, float, float, float, str]] = []
        self.moves = moves
        self.bad: list[bytes] = []
        bad = self.bad

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ns = {"s": SOAP, "wsse": WSSE, "wsu": WSU, "tptz": PTZ, "tt": TT}
                root = ET.fromstring(body)
                tok = root.find("s:Header/wsse:Security/wsse:UsernameToken", ns)
                move = root.find("s:Body/tptz:AbsoluteMove", ns)
                ok = tok is not None and move is not None
                if tok is not None:
                    n = base64.b64decode(tok.findtext("wsse:Nonce", namespaces=ns) or "")
                    c = tok.findtext("wsu:Created", namespaces=ns) or ""
                    h = hashlib.sha1(n + c.encode() + password.encode()).digest()
                    want = base64.b64encode(h).decode()
                    ok = ok and tok.findtext("wsse:Password", namespaces=ns) == want
                if not ok or move is None or tok is None:
                    bad.append(body)
                    self.send_response(400)
                    self.end_headers()
                    return
                pt = move.find("tptz:Position/tt:PanTilt", ns)
                zoom = move.find("tptz:Position/tt:Zoom", ns)
                assert pt is not None and zoom is not None
                moves.append(
                    (
                        move.findtext("tptz:ProfileToken", namespaces=ns) or "",
                        float(pt.get("x", "nan")),
                        float(pt.get("y", "nan")),
                        float(zoom.get("x", "nan")),
                        tok.findtext("wsu:Created", namespaces=ns) or "",
                    )
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(RESPONSE)))
                self.end_headers()
                self.wfile.write(RESPONSE)

            def log_message(self, *args: object) -> None:
                pass

        self.srv = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.srv.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/onvif/ptz_service"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()
