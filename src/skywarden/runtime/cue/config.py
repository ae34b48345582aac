"""``[[cue.cameras]]`` of ``skywarden.toml``: the PTZ cameras slew-to-cue may task.

A camera is named in the configuration, not discovered, because tasking one is an action
on the world: the operator says which heads the system may point, where each stands and
how it moves. Each entry gives the camera model the controller plans with (position, slew
rate, lens; ``sim.ptz.PtzSpec``), the head's mounting (the azimuth its pan zero faces, its
pan and tilt limits; ``nodes.onvif_ptz.PtzMount``) and, in an ``[cue.cameras.onvif]``
table, how to reach its ONVIF PTZ service. Units are SI (metres, radians, rad/s).

The password is never in the file (the file is journaled and copied into reports): the
table names the environment variable that holds it (``password_env``), read when the run
starts; a ``password`` key is refused with that reason. Every table is checked strictly
(``core.strict``): an unknown key fails the load with its path and the nearest valid key.

Only pointing is configured here: the ONVIF client sends ``AbsoluteMove`` and nothing else,
fed the SAPIENT LookAt the controller built (``sensors.sapient_task``'s guard included).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from skywarden.core import config_fields as f
from skywarden.core.errors import ConfigError
from skywarden.core.strict import check_keys
from skywarden.sim.ptz import PtzSpec

if TYPE_CHECKING:  # the controller pulls in the engine, the nodes their own libraries:
    # the loader (on `skywarden run`'s start-up path) needs neither
    from skywarden.nodes.onvif_ptz import PtzMount
    from skywarden.runtime.cue.controller import PtzDriver

_PI = math.pi
#: camera key -> (default, lower bound, upper bound): every number is checked in range
_NUMBERS: dict[str, tuple[float, float, float]] = {
    "slew_rad_s": (math.radians(60.0), 1e-6, 100.0),
    "hfov_wide_rad": (math.radians(40.0), 1e-4, _PI),
    "hfov_tele_rad": (math.radians(2.0), 1e-4, _PI),
    "zoom_rate": (4.0, 1.0 + 1e-6, 1e3),
    "max_range_m": (3000.0, 1.0, 1e6),
    "zero_azimuth_rad": (0.0, -2 * _PI, 2 * _PI),
    "pan_min_rad": (-_PI, -2 * _PI, 2 * _PI),
    "pan_max_rad": (_PI, -2 * _PI, 2 * _PI),
    "tilt_min_rad": (-_PI / 2, -_PI, _PI),
    "tilt_max_rad": (_PI / 2, -_PI, _PI),
}
CAMERA_KEYS = frozenset({"id", "position_enu_m", "onvif", *_NUMBERS})
ONVIF_KEYS = frozenset({"address", "port", "path", "profile", "user", "password_env", "timeout_s"})
DEFAULT_PATH = "/onvif/ptz_service"


@dataclass(frozen=True)
class OnvifSettings:
    """How to reach one camera's ONVIF PTZ service; the password is read from the
    environment variable ``password_env`` when the run starts, never stored here."""

    address: str
    profile: str
    user: str
    password_env: str
    port: int = 80
    path: str = DEFAULT_PATH
    timeout_s: float = 5.0

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}{quote(self.path)}"


@dataclass(frozen=True)
class CueCamera:
    """One PTZ camera slew-to-cue may task: its model, its mounting, its ONVIF service."""

    id: str
    position_enu_m: tuple[float, float, float]
    slew_rad_s: float = _NUMBERS["slew_rad_s"][0]
    hfov_wide_rad: float = _NUMBERS["hfov_wide_rad"][0]
    hfov_tele_rad: float = _NUMBERS["hfov_tele_rad"][0]
    zoom_rate: float = _NUMBERS["zoom_rate"][0]
    max_range_m: float = _NUMBERS["max_range_m"][0]
    zero_azimuth_rad: float = 0.0
    pan_min_rad: float = -_PI
    pan_max_rad: float = _PI
    tilt_min_rad: float = -_PI / 2
    tilt_max_rad: float = _PI / 2
    onvif: OnvifSettings | None = None

    @property
    def spec(self) -> PtzSpec:
        """The model the controller plans with (and the simulated site's camera plays)."""
        return PtzSpec(
            self.id,
            self.position_enu_m,
            slew_rad_s=self.slew_rad_s,
            hfov_wide_rad=self.hfov_wide_rad,
            hfov_tele_rad=self.hfov_tele_rad,
            zoom_rate=self.zoom_rate,
            max_range_m=self.max_range_m,
        )

    @property
    def mount(self) -> PtzMount:
        from skywarden.nodes.onvif_ptz import PtzMount

        return PtzMount(
            self.zero_azimuth_rad,
            self.pan_min_rad,
            self.pan_max_rad,
            self.tilt_min_rad,
            self.tilt_max_rad,
            self.hfov_wide_rad,
            self.hfov_tele_rad,
        )


def parse_cue(d: Mapping[str, Any], path: str = "cue") -> tuple[CueCamera, ...]:
    """``[cue]``: its ``[[cue.cameras]]``; ConfigError naming the bad key's path."""
    check_keys(d, ("cameras",), path)
    raw = d.get("cameras", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{path}.cameras", "must be an array of tables ([[cue.cameras]])")
    out: list[CueCamera] = []
    for i, c in enumerate(raw):
        cam = _camera(f.table(c, f"{path}.cameras[{i}]"), f"{path}.cameras[{i}]")
        if any(o.id == cam.id for o in out):
            raise ConfigError(f"{path}.cameras[{i}].id", f"{cam.id!r} is named twice")
        out.append(cam)
    return tuple(out)


def _camera(d: Mapping[str, Any], path: str) -> CueCamera:
    check_keys(d, CAMERA_KEYS, path)
    pos = f.vec(f.req(d, "position_enu_m", path), 3, f"{path}.position_enu_m")
    nums: dict[str, Any] = {}  # the given numbers, keyword arguments of CueCamera
    for k, (_, lo, hi) in _NUMBERS.items():
        if k in d:
            v = f.num(d[k], f"{path}.{k}")
            if not lo <= v <= hi:
                raise ConfigError(f"{path}.{k}", f"must be in [{lo:g}, {hi:g}], got {v:g}")
            nums[k] = v
    cam = CueCamera(f.ident(d, path), (pos[0], pos[1], pos[2]), **nums)
    for lo_k, hi_k in (
        ("pan_min_rad", "pan_max_rad"),
        ("tilt_min_rad", "tilt_max_rad"),
        ("hfov_tele_rad", "hfov_wide_rad"),
    ):
        if getattr(cam, lo_k) >= getattr(cam, hi_k):
            raise ConfigError(f"{path}.{hi_k}", f"must be greater than {lo_k}")
    if "onvif" in d:
        onvif = _onvif(f.table(d["onvif"], f"{path}.onvif"), f"{path}.onvif")
        cam = replace(cam, onvif=onvif)
    return cam


def _onvif(d: Mapping[str, Any], path: str) -> OnvifSettings:
    f.no_secret(d, path)
    check_keys(d, ONVIF_KEYS, path)
    s = {k: f.string(f.req(d, k, path), f"{path}.{k}") for k in ("address", "profile", "user")}
    env = f.string(f.req(d, "password_env", path), f"{path}.password_env")
    port = f.integer(d.get("port", 80), f"{path}.port", 1, 65535)
    sub = f.string(d.get("path", DEFAULT_PATH), f"{path}.path")
    if not sub.startswith("/"):
        raise ConfigError(f"{path}.path", "must start with '/'")
    timeout = f.num(d.get("timeout_s", 5.0), f"{path}.timeout_s", positive=True)
    return OnvifSettings(s["address"], s["profile"], s["user"], env, port, sub, timeout)


def onvif_drivers(
    cameras: tuple[CueCamera, ...], environ: Mapping[str, str]
) -> dict[str, PtzDriver]:
    """Camera id -> its ``OnvifPtzClient`` (``controller.PtzDriver``), for the cameras with
    an ``onvif`` table. ConfigError naming the key when a password variable is unset or the
    ``onvif`` extra is not installed. The client is built here, once, at start: it reads the
    WSDL then and sends nothing until a task."""
    out: dict[str, PtzDriver] = {}
    for i, cam in enumerate(cameras):
        o = cam.onvif
        if o is None:
            continue
        where = f"cue.cameras[{i}].onvif"
        password = environ.get(o.password_env)
        if password is None:
            raise ConfigError(
                f"{where}.password_env", f"the environment variable {o.password_env} is not set"
            )
        try:
            from skywarden.nodes.onvif_ptz import OnvifPtzClient

            out[cam.id] = OnvifPtzClient(
                o.url, o.user, password, o.profile, cam.mount, timeout_s=o.timeout_s
            )
        except ImportError as e:
            raise ConfigError(
                where, f"needs the onvif extra (pip install 'skywarden[onvif]'): {e}"
            ) from None
    return out
