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
"""

from __future__ import annotations

import base64
import hashlib
import math
import urllib.request
from dataclasses import dataclass
from xml.sax.saxutils import escape

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
