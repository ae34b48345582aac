"""ONVIF PTZ ``AbsoluteMove`` for IP cameras: slew-to-cue without SAPIENT.

ONVIF PTZ Service (ver20/ptz/wsdl) ``AbsoluteMove(ProfileToken, Position)`` in the generic
absolute spaces: pan/tilt ``x, y`` in [-1, 1] spanning the head's pan and tilt ranges, zoom
``x`` in [0, 1] from wide to tele. SOAP 1.2 over HTTP POST, authenticated with a WS-Security
UsernameToken (PasswordDigest = Base64(SHA-1(nonce + created + password))). This is the only
ONVIF operation skywarden sends: it points a camera, nothing else.

``PtzMount`` converts a direction (azimuth from true north, elevation) and a wanted field
of view into the generic coordinates: pan is taken relative to the azimuth the head's zero
faces (``zero_azimuth_rad``), zoom is linear in focal length between the lens's wide and
tele fields of view. Time (``created``) and the nonce are passed in.

``OnvifPtzClient`` is what the slew-to-cue loop drives (``runtime.cue``): the same
AbsoluteMove sent by a real ONVIF client library (``onvif-zeep``, the ``onvif`` extra), fed
the SAPIENT LookAt the controller built -- so an IP camera is tasked through exactly the
path (and the guard) a SAPIENT camera node is.
"""

from __future__ import annotations

import base64
import hashlib
import math
import urllib.request
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from skywarden.sensors.sapient_task import LookAt, read_look_at

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
B64 = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
PTZ = "http://www.onvif.org/ver20/ptz/wsdl"
TT = "http://www.onvif.org/ver10/schema"
FRAME_SPAN_M = 12.0  # as ``sim.ptz``: a LookAt with a range frames this many metres across


@dataclass(frozen=True)
class PtzMount:
    zero_azimuth_rad: float = 0.0
    pan_min_rad: float = -math.pi
    pan_max_rad: float = math.pi
    tilt_min_rad: float = -math.pi / 2
    tilt_max_rad: float = math.pi / 2
    hfov_wide_rad: float = math.radians(60.0)
    hfov_tele_rad: float = math.radians(2.0)

    def position(self, az: float, el: float, hfov: float) -> tuple[float, float, float]:
        """Generic (pan x, tilt y, zoom) for a direction and field of view, clamped."""
        pan = (az - self.zero_azimuth_rad + math.pi) % (2 * math.pi) - math.pi
        x = 2 * (pan - self.pan_min_rad) / (self.pan_max_rad - self.pan_min_rad) - 1
        y = 2 * (el - self.tilt_min_rad) / (self.tilt_max_rad - self.tilt_min_rad) - 1

        def focal(h: float) -> float:
            return 1.0 / math.tan(h / 2)

        h = min(self.hfov_wide_rad, max(self.hfov_tele_rad, hfov))
        f_w, f_t = focal(self.hfov_wide_rad), focal(self.hfov_tele_rad)
        z = (focal(h) - f_w) / (f_t - f_w)
        return (max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y)), max(0.0, min(1.0, z)))


def password_digest(nonce: bytes, created: str, password: str) -> str:
    return base64.b64encode(
        hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    ).decode()


def absolute_move(
    profile: str,
    xyz: tuple[float, float, float],
    user: str,
    password: str,
    nonce: bytes,
    created: str,
) -> bytes:
    """The SOAP envelope of one AbsoluteMove (``created``: xsd:dateTime in UTC)."""
    x, y, z = xyz
    for v in (x, y, z):
        if not math.isfinite(v):
            raise ValueError(f"position {xyz}")
    digest = password_digest(nonce, created, password)
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}"><s:Header>'
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}" s:mustUnderstand="1">'
        f"<wsse:UsernameToken><wsse:Username>{escape(user)}</wsse:Username>"
        f'<wsse:Password Type="{DIGEST}">{digest}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{B64}">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
        f"<wsu:Created>{escape(created)}</wsu:Created></wsse:UsernameToken></wsse:Security>"
        f"</s:Header><s:Body>"
        f'<tptz:AbsoluteMove xmlns:tptz="{PTZ}" xmlns:tt="{TT}">'
        f"<tptz:ProfileToken>{escape(profile)}</tptz:ProfileToken>"
        f'<tptz:Position><tt:PanTilt x="{x:.6f}" y="{y:.6f}"/><tt:Zoom x="{z:.6f}"/>'
        f"</tptz:Position></tptz:AbsoluteMove></s:Body></s:Envelope>"
    )
    return body.encode()


def send(url: str, envelope: bytes, timeout_s: float = 5.0) -> int:
    """POST the envelope to the camera's PTZ service; returns the HTTP status."""
    req = urllib.request.Request(
        url,
        data=envelope,
        headers={
            "Content-Type": f'application/soap+xml; charset=utf-8; action="{PTZ}/AbsoluteMove"'
        },
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        return int(resp.status)


def look_hfov(look: LookAt, mount: PtzMount, frame_span_m: float = FRAME_SPAN_M) -> float:
    """The field of view a LookAt asks for, as the simulated head reads it (``sim.ptz``):
    ``frame_span_m`` across the frame at the given range (wide when the range is unknown),
    never narrower than the region asked for, within the lens's wide and tele limits."""
    hfov = mount.hfov_wide_rad
    if look.range_m > 0:
        hfov = 2 * math.atan(frame_span_m / 2 / look.range_m)
    hfov = max(hfov, look.extent_rad)
    return min(mount.hfov_wide_rad, max(mount.hfov_tele_rad, hfov))


class OnvifPtzClient:
    """One IP camera's PTZ service, driven with the ``onvif-zeep`` client (the ``onvif``
    extra; MIT, as is zeep): the WSDL that package ships, SOAP through zeep, WS-Security
    UsernameToken digest. The token's ``created`` is the time passed in (not the library's
    own wall-clock read), so a test or a replay decides it.

    ``obey`` takes a SAPIENT task addressed to the camera's node: it is read with
    ``read_look_at`` -- a LookAt is the only command it accepts, anything else raises
    ``TaskRefused`` -- and becomes one ``AbsoluteMove``. Nothing else is ever called.
    Imported lazily: ``onvif`` configures the root logger at import, so it is only loaded
    when an ONVIF camera is configured."""

    def __init__(
        self,
        xaddr: str,
        user: str,
        password: str,
        profile: str,
        mount: PtzMount,
        timeout_s: float = 5.0,
    ) -> None:
        import importlib
        import os

        onvif: Any = importlib.import_module("onvif")  # untyped; optional (``onvif`` extra)
        transport: Any = importlib.import_module("zeep.transports").Transport
        ptz = importlib.import_module("onvif.definition").SERVICES["ptz"]
        wsdl = os.path.join(os.path.dirname(os.path.dirname(onvif.__file__)), "wsdl", ptz["wsdl"])
        self.service: Any = onvif.ONVIFService(
            xaddr,
            user,
            password,
            wsdl,
            encrypt=True,
            no_cache=True,  # no SQLite cache in the user's home
            binding_name=f"{{{ptz['ns']}}}{ptz['binding']}",
            transport=transport(timeout=timeout_s, operation_timeout=timeout_s),
        )
        self.profile = profile
        self.mount = mount
        self.moves = 0

    def move(self, az: float, el: float, hfov: float, t_unix: float) -> tuple[float, float, float]:
        """Point the head (azimuth from true north, elevation, wanted field of view; rad);
        returns the generic (pan, tilt, zoom) sent."""
        import datetime as dt

        x, y, z = self.mount.position(az, el, hfov)
        for v in (x, y, z):
            if not math.isfinite(v):
                raise ValueError(f"position {(x, y, z)}")
        wsse = self.service.zeep_client.wsse
        wsse.created = dt.datetime.fromtimestamp(t_unix, dt.UTC).replace(tzinfo=None)
        self.service.AbsoluteMove(
            {
                "ProfileToken": self.profile,
                "Position": {"PanTilt": {"x": x, "y": y}, "Zoom": {"x": z}},
            }
        )
        self.moves += 1
        return x, y, z

    def obey(self, body: bytes, t_unix: float) -> tuple[float, float, float]:
        """Apply one SAPIENT task (the message body, without its length prefix)."""
        from skywarden.sensors.sapient import parse_message

        look = read_look_at(parse_message(body, t_unix).message)
        return self.move(look.azimuth_rad, look.elevation_rad, look_hfov(look, self.mount), t_unix)
