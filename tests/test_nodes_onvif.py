"""ONVIF PTZ AbsoluteMove: coordinates, WS-Security digest, and a POST to an HTTP server on
loopback that parses the envelope as a camera's PTZ service would."""

from __future__ import annotations

import base64
import hashlib
import math
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from skywarden.nodes.onvif_ptz import (
    PTZ,
    SOAP,
    TT,
    WSSE,
    WSU,
    PtzMount,
    absolute_move,
    look_hfov,
    send,
)
from skywarden.sensors.sapient import frame, parse_message
from skywarden.sensors.sapient_task import (
    CameraNode,
    LookAt,
    TaskRefused,
    look_at_task,
    read_look_at,
)
from support.onvif import PASSWORD, FakePtzService


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


# -- the cue loop drives ONVIF heads through a real client library (onvif-zeep) ------------

OWN = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"
CAMERA_NODE = "c0ffee00-1111-4222-8333-000000000000"


def _client(svc: FakePtzService, mount: PtzMount) -> Any:
    pytest.importorskip("onvif", reason="the onvif extra (onvif-zeep) is not installed")
    from skywarden.nodes.onvif_ptz import OnvifPtzClient

    return OnvifPtzClient(svc.url, "op", PASSWORD, "prof_1", mount)


def _task(look: LookAt, t: float, seq: int = 1) -> bytes:
    from skywarden.nodes.sapient_node import ulid

    node = CameraNode(CAMERA_NODE, (4,))  # NODE_TYPE_CAMERA
    return frame(look_at_task(node, OWN, look, ulid(t, seq), t))[4:]


def _expected(body: bytes, mount: PtzMount) -> tuple[float, float, float]:
    look = read_look_at(parse_message(body, 0.0).message)
    return mount.position(look.azimuth_rad, look.elevation_rad, look_hfov(look, mount))


def test_onvif_client_turns_a_look_at_into_one_absolute_move() -> None:
    svc = FakePtzService(PASSWORD)
    try:
        mount = PtzMount(zero_azimuth_rad=math.radians(90.0))
        cli = _client(svc, mount)
        look = LookAt(math.radians(180.0), math.radians(45.0), 200.0)  # 3.4 deg view
        t = 1_765_000_000.0  # 2025-12-06T05:46:40Z: the token's time is the one passed in
        sent = cli.obey(_task(look, t), t)
        ((profile, x, y, z, created),) = svc.moves
        assert not svc.bad  # the digest the library computed checks out
        assert profile == "prof_1" and created.startswith("2025-12-06T05:46:40")
        assert (x, y) == pytest.approx((0.5, 0.5), abs=1e-6)  # 90 deg right, 45 deg up
        assert 0.0 < z < 1.0 and (x, y, z) == pytest.approx(sent, abs=1e-6)
        assert z == pytest.approx(_expected(_task(look, t), mount)[2], abs=1e-6)
        # anything but a LookAt is refused before a byte reaches the camera
        from skywarden.nodes.sapient_node import registration

        reg = frame(registration(CAMERA_NODE, OWN, t, "camera", "x"))[4:]
        with pytest.raises(TaskRefused):
            cli.obey(reg, t)
        assert len(svc.moves) == 1
    finally:
        svc.close()


def test_cue_loop_drives_an_onvif_head() -> None:
    """The simulated residence site under slew-to-cue, its camera's head an ONVIF one: every
    task the controller built reaches the service as the AbsoluteMove of its LookAt."""
    from skywarden.runtime.cue.controller import run_cue_loop
    from skywarden.sim import load_scenario, simulate
    from skywarden.sim.ptz import PtzSpec

    svc = FakePtzService(PASSWORD)
    try:
        mount = PtzMount(hfov_wide_rad=math.radians(40.0), hfov_tele_rad=math.radians(2.0))
        cli = _client(svc, mount)
        bodies: list[bytes] = []

        class Recorded:
            def obey(self, body: bytes, t_unix: float) -> object:
                bodies.append(body)
                return cli.obey(body, t_unix)

        run = simulate(load_scenario("residence"), 1)
        spec = PtzSpec("ptz-1", (5.0, -5.0, 12.0))
        log, _ = run_cue_loop(run, [spec], 90.0, drivers={"ptz-1": Recorded()})
        assert log.first_task, "no alert was cued in 90 s (the first is raised at 74 s)"
        assert log.driven == log.tasks == len(bodies) == len(svc.moves) and not svc.bad
        for body, (_, x, y, z, _) in zip(bodies, svc.moves, strict=True):
            assert (x, y, z) == pytest.approx(_expected(body, mount), abs=1e-6)
        # it followed the track: the pointing changed (in tilt: the residence's drone flies
        # straight in, and once the camera has it its pan stays within 0.01 deg)
        assert len({(round(m[1], 3), round(m[2], 3)) for m in svc.moves}) > 1
    finally:
        svc.close()


def test_driver_pump_sends_the_newest_task_and_counts_failures() -> None:
    from skywarden.core.counters import Counters
    from skywarden.runtime.cue.pump import DriverPump

    svc = FakePtzService(PASSWORD)
    mount = PtzMount()
    counters = Counters()
    try:
        dead = FakePtzService(PASSWORD)
        dead.close()  # a camera that does not answer
        pump = DriverPump({"a": _client(svc, mount), "b": _client(dead, mount)}, counters)
        tasks = [_task(LookAt(math.radians(10.0 * k), 0.1, 500.0), 100.0 + k, k) for k in (1, 2, 3)]
        for k, body in enumerate(tasks):
            assert pump.submit("a", body, 100.0 + k)
        assert not pump.submit("nobody", tasks[0], 100.0)  # no head for that camera
        assert pump.drain(30.0)
        sent, gone = counters.get("cue.driver_sent"), counters.get("cue.driver_superseded")
        assert sent >= 1 and sent + gone == 3 and sent == len(svc.moves)
        assert svc.moves[-1][1:4] == pytest.approx(_expected(tasks[-1], mount), abs=1e-6)
        assert pump.submit("b", tasks[0], 100.0) and pump.drain(30.0)
        assert counters.get("cue.driver_failed") == 1  # counted, not raised
        pump.close()
    finally:
        svc.close()
