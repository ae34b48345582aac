"""ONVIF PTZ AbsoluteMove: coordinates, WS-Security digest, and a POST to an HTTP server on
loopback that parses the envelope as a camera's PTZ service would."""

from __future__ import annotations

import base64
import hashlib
import math
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from skywarden.nodes.onvif_ptz import PTZ, SOAP, TT, WSSE, WSU, PtzMount, absolute_move, send


def test_mount_maps_directions_to_generic_space() -> None:
    m = PtzMount(zero_azimuth_rad=math.radians(90.0))
    assert m.position(math.radians(90.0), 0.0, m.hfov_wide_rad) == pytest.approx((0.0, 0.0, 0.0))
    x, y, z = m.position(math.radians(180.0), math.radians(45.0), m.hfov_tele_rad)
    assert (x, y, z) == pytest.approx((0.5, 0.5, 1.0))
    x, _, _ = m.position(math.radians(0.0), 0.0, 1.0)
    assert x == pytest.approx(-0.5)  # 90 degrees left of the head's zero
    _, _, z_mid = m.position(0.0, 0.0, math.radians(10.0))
    assert 0.0 < z_mid < 1.0
    assert m.position(0.0, math.radians(120.0), 0.01)[1:] == (1.0, 1.0)  # clamped


def test_absolute_move_reaches_a_ptz_service_with_a_valid_digest() -> None:
    got: list[bytes] = []

    class Service(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/soap+xml")
            self.end_headers()
            self.wfile.write(b"<ok/>")

        def log_message(self, *args: object) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), Service)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        nonce, created = b"0123456789abcdef", "2026-12-06T12:00:00Z"
        env = absolute_move("prof_1", (0.25, -0.5, 0.75), "op", "s3cret&", nonce, created)
        url = f"http://127.0.0.1:{srv.server_address[1]}/onvif/ptz_service"
        assert send(url, env) == 200
    finally:
        srv.shutdown()
    root = ET.fromstring(got[0])
    ns = {"s": SOAP, "wsse": WSSE, "wsu": WSU, "tptz": PTZ, "tt": TT}
    move = root.find("s:Body/tptz:AbsoluteMove", ns)
    assert move is not None and move.findtext("tptz:ProfileToken", namespaces=ns) == "prof_1"
    pt = move.find("tptz:Position/tt:PanTilt", ns)
    zoom = move.find("tptz:Position/tt:Zoom", ns)
    assert pt is not None and zoom is not None
    assert (float(pt.get("x", "")), float(pt.get("y", "")), float(zoom.get("x", ""))) == (
        0.25, -0.5, 0.75,
    )  # fmt: skip
    tok = root.find("s:Header/wsse:Security/wsse:UsernameToken", ns)
    assert tok is not None and tok.findtext("wsse:Username", namespaces=ns) == "op"
    n = base64.b64decode(tok.findtext("wsse:Nonce", namespaces=ns) or "")
    c = tok.findtext("wsu:Created", namespaces=ns) or ""
    want = base64.b64encode(hashlib.sha1(n + c.encode() + b"s3cret&").digest()).decode()
    assert tok.findtext("wsse:Password", namespaces=ns) == want
    # nothing but the one pointing operation is in the body
    body = root.find("s:Body", ns)
    assert body is not None
    (only,) = list(body)
    assert only.tag == f"{{{PTZ}}}AbsoluteMove"


def test_bad_position_is_refused() -> None:
    with pytest.raises(ValueError):
        absolute_move("p", (math.nan, 0.0, 0.0), "u", "p", b"n", "2026-01-01T00:00:00Z")
