"""``[[cue.cameras]]`` of ``skywarden.toml``: an installation names its ONVIF PTZ cameras.

The table is parsed strictly (a misspelt key exits 2 naming its path, a password in the file
is refused), and ``skywarden run --config FILE`` -- a real process, the built-in simulated
site feeding tracks -- drives the named camera: an alert's ``cue.task`` (journaled) reaches
the camera's PTZ service (on loopback, ``support.onvif``: it checks the WS-Security digest)
as an AbsoluteMove pointing at the track.
"""

from __future__ import annotations

import base64
import math
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skywarden.core.errors import ConfigError
from skywarden.nodes.onvif_ptz import look_hfov
from skywarden.runtime.config_file import load_config, parse_config
from skywarden.runtime.cue.config import onvif_drivers
from skywarden.runtime.live.cue import TASK_KEY
from skywarden.sensors.sapient import parse_message
from skywarden.sensors.sapient_task import read_look_at
from skywarden.store.journal import open_journal
from skywarden.store.records import ConfigChange, TrackRecord
from support.onvif import PASSWORD, FakePtzService
from test_live_run import SKYWARDEN, _free_port, _interrupt

ENV = "SKYWARDEN_TEST_ONVIF_PASSWORD"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "skywarden.toml"
SITE = {"name": "x", "origin": {"lat": 51.0, "lon": -1.0}}


def _camera(**onvif: Any) -> dict[str, Any]:
    return {
        "id": "mast-ptz",
        "position_enu_m": [5.0, -5.0, 12.0],
        "zero_azimuth_rad": 1.0,
        "pan_min_rad": -3.0,
        "pan_max_rad": 3.0,
        "tilt_min_rad": -0.5,
        "tilt_max_rad": 1.5,
        "slew_rad_s": 1.0,
        "onvif": {"address": "127.0.0.1", "port": 8999, "profile": "prof_1", "user": "op",
                  "password_env": ENV, **onvif},
    }  # fmt: skip


def test_a_camera_table_parses_into_the_model_and_the_mount() -> None:
    c = parse_config({"site": SITE, "cue": {"cameras": [_camera(path="/ptz")]}})
    (cam,) = c.cameras
    assert cam.spec.id == "mast-ptz" and cam.spec.position_enu == (5.0, -5.0, 12.0)
    assert cam.spec.slew_rad_s == 1.0 and cam.mount.zero_azimuth_rad == 1.0
    assert (cam.mount.tilt_min_rad, cam.mount.tilt_max_rad) == (-0.5, 1.5)
    assert cam.onvif is not None and cam.onvif.url == "http://127.0.0.1:8999/ptz"
    assert cam.onvif.password_env == ENV  # the name of the variable, never the password
    # the example documents one
    (ex,) = load_config(EXAMPLE).cameras
    assert ex.onvif is not None and ex.onvif.password_env == "SKYWARDEN_PTZ1_PASSWORD"


@pytest.mark.parametrize(
    ("cam", "field", "reason"),
    [
        ({**_camera(), "slew_rad": 1.0}, "cue.cameras[0].slew_rad", "did you mean 'slew_rad_s'?"),
        (_camera(adress="h"), "cue.cameras[0].onvif.adress", "did you mean 'address'?"),
        (_camera(password="hunter2"), "cue.cameras[0].onvif.password", "password_env"),
        (_camera(port=0), "cue.cameras[0].onvif.port", "must be in [1, 65535]"),
        ({**_camera(), "pan_max_rad": -3.5}, "cue.cameras[0].pan_max_rad", "greater than"),
        ({**_camera(), "position_enu_m": [1, 2]}, "cue.cameras[0].position_enu_m", "3 numbers"),
        ({k: v for k, v in _camera().items() if k != "id"}, "cue.cameras[0].id", "required"),
    ],
)
def test_bad_camera_tables_name_the_path(cam: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config({"site": SITE, "cue": {"cameras": [cam]}}, "skywarden.toml")
    assert e.value.field == field and reason in e.value.reason, e.value
    with pytest.raises(ConfigError) as e:
        parse_config({"cue": {"camera": []}})
    assert e.value.field == "cue.camera" and "did you mean 'cameras'?" in e.value.reason


def test_a_camera_named_like_a_sensor_or_twice_is_refused() -> None:
    sensor = {"id": "mast-ptz", "kind": "camera", "measures": "az_el",
              "position_enu_m": [0, 0, 0], "sigma": {"az_rad": 0.01, "el_rad": 0.01}}  # fmt: skip
    with pytest.raises(ConfigError, match="already a sensor"):
        parse_config({"site": SITE, "sensors": [sensor], "cue": {"cameras": [_camera()]}})
    with pytest.raises(ConfigError, match="named twice"):
        parse_config({"cue": {"cameras": [_camera(), _camera()]}})


def test_the_password_comes_from_the_environment_only() -> None:
    pytest.importorskip("onvif", reason="the onvif extra (onvif-zeep) is not installed")
    (cam,) = parse_config({"cue": {"cameras": [_camera()]}}).cameras
    with pytest.raises(ConfigError) as e:
        onvif_drivers((cam,), {})
    assert e.value.field == "cue.cameras[0].onvif.password_env" and ENV in e.value.reason
    assert set(onvif_drivers((cam,), {ENV: "x"})) == {"mast-ptz"}


def _config(tmp_path: Path, svc_port: int, extra: str = "") -> Path:
    cfg = tmp_path / "skywarden.toml"
    cfg.write_text(
        f'[service]\njournal = "{tmp_path / "j.sqlite"}"\nspeed = 5.0\ntick_s = 0.1\n'
        "[[cue.cameras]]\n"
        'id = "mast-ptz"\nposition_enu_m = [5.0, -5.0, 12.0]\nslew_rad_s = 1.0\n'
        "zero_azimuth_rad = 1.0\npan_min_rad = -3.0\npan_max_rad = 3.0\n"
        "tilt_min_rad = -0.5\ntilt_max_rad = 1.5\nhfov_wide_rad = 0.7\n"
        "[cue.cameras.onvif]\n"
        f'address = "127.0.0.1"\nport = {svc_port}\nprofile = "prof_1"\nuser = "op"\n'
        f'password_env = "{ENV}"\n{extra}',
        encoding="utf-8",
    )
    return cfg


def _gap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return max(abs(p - q) for p, q in zip(a, b, strict=True))


def test_run_config_drives_the_named_onvif_camera(tmp_path: Path) -> None:
    pytest.importorskip("onvif", reason="the onvif extra (onvif-zeep) is not installed")
    svc = FakePtzService(PASSWORD)
    cfg = _config(tmp_path, svc.port)
    env = {**os.environ, ENV: PASSWORD}
    proc = subprocess.Popen(
        [str(SKYWARDEN), "run", "--config", str(cfg), "--port", str(_free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        end = time.monotonic() + 120.0  # the first alert is raised ~74 s in: ~15 s at speed 5
        while time.monotonic() < end and len(svc.moves) < 3:
            assert proc.poll() is None, "skywarden run exited early"
            time.sleep(0.3)
    finally:
        out = _interrupt(proc) if proc.poll() is None else proc.communicate()[0]
        svc.close()
    assert svc.moves, f"no AbsoluteMove reached the camera; log:\n{out[-3000:]}"
    assert not svc.bad  # every request carried a digest of the password from the environment
    assert "slew-to-cue drives ONVIF cameras: mast-ptz" in out
    (cam,) = load_config(cfg).cameras
    mount, pos = cam.mount, np.asarray(cam.position_enu_m)

    journal = open_journal(str(tmp_path / "j.sqlite"))
    records = [e.record for e in journal.read()]
    journal.close()
    tasks = [r for r in records if isinstance(r, ConfigChange) and r.key == TASK_KEY]
    assert tasks and all(t.new["camera"] == "mast-ptz" for t in tasks)
    tracks: dict[str, list[TrackRecord]] = {}
    raised: dict[str, float] = {}
    for r in records:
        if isinstance(r, TrackRecord):
            tracks.setdefault(r.track_id, []).append(r)
        elif r.kind == "alert":
            raised.setdefault(r.track_id, r.t)  # type: ignore[attr-defined]
    for t in tasks:  # each task was for a track with an alert raised by then
        assert t.t >= raised[t.new["track_id"]] - 1e-6, t.new

    def sent(task: ConfigChange) -> tuple[float, float, float]:
        body = base64.b64decode(task.new["sapient_b64"])[4:]
        look = read_look_at(parse_message(body, task.t).message)
        return mount.position(look.azimuth_rad, look.elevation_rad, look_hfov(look, mount))

    on_record = [sent(t) for t in tasks]
    for profile, x, y, z, _ in svc.moves:
        # each move is the AbsoluteMove of a journaled task (the pump sends only the newest)
        i = min(
            range(len(tasks)),
            key=lambda k: float(np.abs(np.subtract(on_record[k], (x, y, z))).max()),
        )
        assert profile == "prof_1"
        assert (x, y, z) == pytest.approx(on_record[i], abs=1e-5)
        # and it points at the track: the head's pan/tilt, back in azimuth and elevation,
        # is within half the wide field of view of where the track was when tasked
        task = tasks[i]
        az = (
            mount.zero_azimuth_rad
            + mount.pan_min_rad
            + (x + 1) / 2 * (mount.pan_max_rad - mount.pan_min_rad)
        )
        el = mount.tilt_min_rad + (y + 1) / 2 * (mount.tilt_max_rad - mount.tilt_min_rad)
        before = [r for r in tracks[task.new["track_id"]] if r.t <= task.t + 1e-6]
        assert before, task.new
        d = np.asarray(before[-1].x[:3]) - pos
        t_az, t_el = math.atan2(d[0], d[1]), math.atan2(d[2], math.hypot(d[0], d[1]))
        miss = math.hypot((az - t_az + math.pi) % (2 * math.pi) - math.pi, el - t_el)
        assert miss <= cam.hfov_wide_rad / 2, (task.new, miss)


def test_run_config_with_a_misspelt_camera_key_exits_2(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 8999, extra='profle = "p"\n')
    proc = subprocess.run(
        [str(SKYWARDEN), "run", "--config", str(cfg)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cue.cameras[0].onvif.profle: unknown key; did you mean 'profile'?" in proc.stderr
    # an unset password variable also stops the run before anything is served
    cfg = _config(tmp_path, 8999)
    env = {k: v for k, v in os.environ.items() if k != ENV}
    proc = subprocess.run(
        [str(SKYWARDEN), "run", "--config", str(cfg), "--port", str(_free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2 and f"{ENV} is not set" in proc.stderr, proc.stderr[-2000:]


def test_a_real_site_gets_the_cameras_as_sensors_and_plans_with_their_models() -> None:
    """With a ``[site]`` nothing is simulated: the camera is a camera sensor of the site (and
    of the journaled site, for replay), and its model follows the tasks it is sent."""
    from skywarden.runtime.live.cue import LiveCue
    from skywarden.runtime.live.feeds import config_feed, site_from_ref
    from skywarden.runtime.live.run import with_cameras

    c = parse_config({"site": SITE, "cue": {"cameras": [_camera()]}}, "skywarden.toml")
    assert c.site is not None
    feed = with_cameras(config_feed(c.site, c.source), tuple(k.spec for k in c.cameras))
    assert feed.world is None and feed.site.sensor_map["mast-ptz"].kind.value == "camera"
    assert "mast-ptz" in site_from_ref(feed.site_ref).sensor_map
    assert feed.site_ref["path"] == "skywarden.toml"
    got: list[bytes] = []

    class Head:  # the ONVIF client's place (its AbsoluteMove is tested above, on loopback)
        def obey(self, body: bytes, t_unix: float) -> object:
            return got.append(body)

    cue = LiveCue(feed, drivers={"mast-ptz": Head()})
    cue.start(100.0)
    assert cue.observe(101.0) == []  # no world to look at: what it sees comes over a link
    (model,) = cue.cameras.values()
    assert model.spec.slew_rad_s == 1.0 and model.spec.position_enu == (5.0, -5.0, 12.0)
    # an alert on a track tasks the named camera: journaled, and sent to its head
    from skywarden.alerts.lifecycle import Alert, AlertEvent, AlertLevel, AlertState
    from skywarden.core.track import TrackState, TrackStatus
    from skywarden.runtime.engine.pipeline import Frame

    x = np.array([305.0, 395.0, 112.0, 0.0, 0.0, 0.0])
    tr = TrackState("7", 102.0, x, np.eye(6), TrackStatus.CONFIRMED)
    alert = Alert("a1", "7", "z", AlertLevel.ALERT, AlertState.RAISED, 102.0, 102.0)
    out = cue.on_frame(Frame(102.0, (tr,), (), ()), [AlertEvent("raised", 102.0, alert)], 102.0)
    (task,) = [r for r in out if r.key == TASK_KEY]
    assert task.new["camera"] == "mast-ptz" and task.new["track_id"] == "7"
    assert cue.pump.drain(10.0) and len(got) == 1
    look = read_look_at(parse_message(got[0], 102.0).message)
    assert look.azimuth_rad == pytest.approx(math.atan2(300.0, 400.0), abs=1e-6)
    assert look.elevation_rad == pytest.approx(math.atan2(100.0, 500.0), abs=1e-6)
    cue.pump.close()
