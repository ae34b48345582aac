"""Slew-to-cue: an alert's track is looked at by the best-placed PTZ camera, and what the
camera sees is fused back into the track. Sensor tasking only.

``CueController.on_frame(frame, t)`` is pure logic over pipeline frames. While a track has
an open alert, the oldest such track without a camera gets the free registered camera node
(one track per camera) that can look at it soonest (slew time from its current pointing,
within its range); the controller builds a SAPIENT LookAt task with
``sensors.sapient_task.look_at_task`` -- the one builder, which refuses any destination that
is not a registered camera and any command that is not a sensor command. While the track
lasts the camera follows it, pointed where the track will be when the slew ends: a new
LookAt when the track has moved by more than a quarter of the field of view from the last
commanded direction, or every ``refresh_s``. The assignment ends when the track is gone or
its alert is resolved. The LookAt's extent never zooms out past where a small drone stays
detectable, and when the camera does not see the track on its estimate the controller
searches across the estimate's uncertainty (``runtime.cue.search``: pointing -> searching
-> locked).

``run_cue_loop`` closes the loop in simulation (what ``tests/test_cue_loop.py`` and the
``cue`` demo run): the simulated site's sensors feed the engine (``runtime.engine.engine``, a tick
every ``TICK_S``; the controller sees the tick's last frame with every alert event of the
tick); each task is framed, sent to the simulated PTZ camera (``sim.ptz``), which parses and
obeys it; the camera's detections travel as SAPIENT DetectionReports
(``nodes.sapient_node``) through ``SapientSessions`` like a real node's, and go to the
tracker as az/el measurements with the camera's class and chip. ``CueLog`` records alert,
task, on-target and confirmation times.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec, Site
from skywarden.runtime.cue.search import (
    CueState,
    SearchConfig,
    advance,
    azel_sd,
    detectable_fov,
    raster,
)
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Frame
from skywarden.sensors.sapient import SapientSessions, frame, parse_message
from skywarden.sensors.sapient_task import LookAt, look_at_task, registered_nodes
from skywarden.sensors.skybench import Scan
from skywarden.sim.ptz import FRAME_SPAN_M, PtzCamera, PtzSpec, direction

TICK_S = 0.5


@dataclass
class _Assignment:
    track_id: str
    camera: str
    az: float = 0.0
    el: float = 0.0
    t_task: float = -math.inf
    sent: bool = False
    # the search (``runtime.cue.search``): the loop's state, the raster of the current
    # search (offsets from the moving estimate) and its constant field of view
    state: CueState = field(default_factory=lambda: CueState("pointing", math.inf))
    pattern: tuple[tuple[float, float], ...] = ((0.0, 0.0),)
    search_fov: float = 0.0


@dataclass(frozen=True)
class Tasking:
    """One task to send: the camera node's id and the framed SAPIENT message."""

    node_id: str
    track_id: str
    message: bytes
    azimuth_rad: float
    elevation_rad: float
    slew_time_s: float


class CueController:
    def __init__(
        self,
        sessions: SapientSessions,
        own_node_id: str,
        cameras: dict[str, PtzCamera],
        refresh_s: float = 2.0,
        search: SearchConfig | None = SearchConfig(),  # noqa: B008 (frozen, shared)
        seen_window_s: float = 1.5,
    ) -> None:
        """``cameras``: node id -> the camera's model (for its position, pointing and
        slew rate; in a real site the node's status reports would give these).
        ``search``: how to search when the camera does not see the track where its estimate
        is (``runtime.cue.search``); None points at the estimate only (the loop before
        session 12). ``seen_window_s``: a camera counts as seeing its track while the track
        carries the camera among its sensors and the camera reported a detection within
        this long (``note_report``; the track's sensor list alone remembers 10 s)."""
        self.sessions = sessions
        self.own = own_node_id
        self.cameras = cameras
        self.refresh_s = refresh_s
        self.search = search
        self.seen_window_s = seen_window_s
        self.assigned: dict[str, _Assignment] = {}
        self.alerted: dict[str, float] = {}  # track -> raised at, while its alert is open
        self.reports: dict[str, float] = {}  # camera node -> its last detection's time
        self._seq = 0

    def _ulid(self, t: float) -> str:
        from skywarden.nodes.sapient_node import ulid

        self._seq += 1
        return ulid(t, self._seq, self.own)

    def note_report(self, node_id: str, t: float) -> None:
        """Camera ``node_id`` reported a detection at ``t``. Where nothing calls this (a
        real camera whose reports reach the tracker over its own link), the track's sensor
        list alone says whether the camera sees it, and a lost target is noticed late."""
        self.reports[node_id] = max(t, self.reports.get(node_id, -math.inf))

    def _seen(self, a: _Assignment, sensors: tuple[str, ...], t: float) -> bool:
        if self.cameras[a.camera].spec.id not in sensors:
            return False
        last = self.reports.get(a.camera)
        return last is None or t - last <= self.seen_window_s

    def on_frame(self, fr: Frame, t: float) -> list[Tasking]:
        tracks = {tr.id: tr for tr in fr.tracks}
        for ev in fr.events:
            if ev.kind == "resolved":
                self.assigned.pop(ev.alert.track_id, None)
                self.alerted.pop(ev.alert.track_id, None)
            elif ev.kind == "raised":
                self.alerted.setdefault(ev.alert.track_id, t)
        for tid in [k for k in self.alerted if k not in tracks]:
            del self.alerted[tid]
        # the oldest open alert without a camera gets the best free one
        for tid in sorted(self.alerted, key=lambda k: self.alerted[k]):
            if tid not in self.assigned:
                self._assign(tid, np.asarray(tracks[tid].x[:3]))
        out = []
        for tid, a in list(self.assigned.items()):
            tr = tracks.get(tid)
            if tr is None:
                del self.assigned[tid]
                continue
            cam = self.cameras[a.camera]
            x, P = np.asarray(tr.x[:6], dtype=float), np.asarray(tr.P, dtype=float)
            az, el, rng = self._lead(cam, x)
            extent = self._extent(cam, P, rng)
            before = a.state
            if self.search is not None and a.sent:
                if a.state.mode != "searching":  # a search starts from the uncertainty now
                    self._layout(a, cam, x, P, rng, extent)
                a.state = advance(
                    a.state, t, self._seen(a, tr.sensors, t), len(a.pattern), self.search
                )
                if a.state.mode == "searching" and a.state.cycle != before.cycle:
                    self._layout(a, cam, x, P, rng, extent)
            if a.state.mode == "searching":  # the raster stays centred on the moving estimate
                d_across, d_el = a.pattern[min(a.state.step, len(a.pattern) - 1)]
                az = (az + d_across / max(math.cos(el), 1e-3)) % (2 * math.pi)
                el, extent = el + d_el, a.search_fov
            moved = math.hypot(((az - a.az + math.pi) % (2 * math.pi) - math.pi), el - a.el)
            stepped = (a.state.mode, a.state.step, a.state.cycle) != (
                before.mode,
                before.step,
                before.cycle,
            )
            if not a.sent or stepped or moved > cam.hfov / 4 or t - a.t_task >= self.refresh_s:
                out.append(self._task(a, az, el, rng, t, extent))
        return out

    def _extent(self, cam: PtzCamera, P: np.ndarray, rng: float) -> float:
        """The LookAt's extent: the angle the track's 3-sigma position uncertainty subtends
        (largest axis), so the camera zooms no tighter than where the object may be -- but,
        when the loop may search, no wider than a small drone stays detectable at (a 0.5 m
        drone at 2.2 km spans 2.2 pixels of a 3.7 deg frame, under the 3-pixel minimum:
        session 11's miss); the search then covers the rest of the uncertainty."""
        sigma_m = math.sqrt(max(0.0, float(np.linalg.eigvalsh(P[:3, :3]).max())))
        extent = 2.0 * math.atan(3.0 * sigma_m / max(rng, 1.0))
        if self.search is None:
            return extent
        return min(extent, detectable_fov(rng, cam.spec.width_px, self.search))

    @staticmethod
    def _fov(cam: PtzCamera, extent: float, rng: float) -> float:
        """The horizontal field of view a LookAt of this extent and range sets
        (``sim.ptz.PtzCamera.obey``: a FRAME_SPAN_M patch, or the extent, within the lens)."""
        want = max(2.0 * math.atan(FRAME_SPAN_M / 2.0 / max(rng, 1.0)), extent)
        return min(cam.spec.hfov_wide_rad, max(cam.spec.hfov_tele_rad, want))

    def _layout(
        self, a: _Assignment, cam: PtzCamera, x: np.ndarray, P: np.ndarray, rng: float, ext: float
    ) -> None:
        """The raster across the track's +-n_sd uncertainty at the zoom the search keeps."""
        assert self.search is not None
        fov = self._fov(cam, ext, rng)
        sd_across, sd_el = azel_sd(cam.spec.position_enu, x, P)
        vfov = fov * cam.spec.height_px / cam.spec.width_px
        a.pattern = raster(sd_across, sd_el, fov, vfov, self.search)
        a.search_fov = fov

    @staticmethod
    def _lead(cam: PtzCamera, x: np.ndarray) -> tuple[float, float, float]:
        """Where to point so the camera meets the track when it gets there: the track's
        position after the slew, x_p + v * t_slew (two fixed-point passes). Without the
        lead a 30 m/s aircraft at 2 km moves out of a 2 deg tele view during a 3 s slew."""
        at = np.asarray(cam.spec.position_enu, dtype=float)
        az, el, rng = direction(at, x[:3])
        for _ in range(2):
            lead_s = cam.spec.slew_time_s(cam.pan, cam.tilt, az, el)
            az, el, rng = direction(at, x[:3] + x[3:6] * lead_s)  # p(t + dt) = p + v dt
        return az, el, rng

    def _assign(self, tid: str, pos: np.ndarray) -> None:
        """Give the track the free camera that can look at it soonest (one track each)."""
        nodes = {n.node_id: n for n in registered_nodes(self.sessions.nodes.values())}
        busy = {a.camera for a in self.assigned.values()}
        best: tuple[float, str] | None = None
        for nid, cam in self.cameras.items():
            if nid in busy or nid not in nodes or not nodes[nid].registered:
                continue
            az, el, rng = direction(np.asarray(cam.spec.position_enu), pos)
            if rng > cam.spec.max_range_m:
                continue
            st = cam.spec.slew_time_s(cam.pan, cam.tilt, az, el)
            if best is None or st < best[0]:
                best = (st, nid)
        if best is not None:
            self.assigned[tid] = _Assignment(tid, best[1])

    def _task(
        self, a: _Assignment, az: float, el: float, rng: float, t: float, extent: float
    ) -> Tasking:
        """The LookAt: the direction to look (the estimate led by the slew, or a search
        step's) and the extent the frame must span (``_extent``, or the search's zoom)."""
        cam = self.cameras[a.camera]
        nodes = {n.node_id: n for n in registered_nodes(self.sessions.nodes.values())}
        msg = look_at_task(
            nodes[a.camera], self.own, LookAt(az, el, rng, extent_rad=extent), self._ulid(t), t
        )
        slew = cam.spec.slew_time_s(cam.pan, cam.tilt, az, el)
        if not a.sent:  # settled after the longer of slew and zoom; then the wait starts
            zoom = abs(math.log(cam.hfov / self._fov(cam, extent, rng)))
            settle = max(slew, zoom / math.log(cam.spec.zoom_rate))
            a.state = CueState("pointing", t + settle)
        a.az, a.el, a.t_task, a.sent = az, el, t, True
        return Tasking(a.camera, a.track_id, frame(msg), az, el, slew)


class PtzDriver(Protocol):
    """A real camera head behind a camera node: it takes the framed SAPIENT task the
    controller built (body without the length prefix) and moves the head -- e.g.
    ``nodes.onvif_ptz.OnvifPtzClient`` (ONVIF ``AbsoluteMove``). It must read the task with
    ``read_look_at``, which refuses anything but a LookAt."""

    def obey(self, body: bytes, t_unix: float) -> object: ...


@dataclass
class CueLog:
    """What happened, for the test and the demo."""

    alerts: dict[str, float] = field(default_factory=dict)  # track -> raised at
    first_task: dict[str, tuple[float, float]] = field(default_factory=dict)  # (t, slew s)
    on_target: dict[str, float] = field(default_factory=dict)
    confirmed: dict[str, tuple[float, str]] = field(default_factory=dict)  # (t, class)
    # the track's ENU position when a camera first joined it (what the camera confirmed)
    confirmed_at: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    camera_reports: int = 0
    tasks: int = 0
    chips: dict[str, bytes] = field(default_factory=dict)  # track -> last JPEG chip
    classes: dict[str, dict[str, float]] = field(default_factory=dict)  # last class_probs
    last_seen: dict[str, tuple[float, tuple[float, float, float]]] = field(default_factory=dict)
    driven: int = 0  # tasks also sent to a real head (``drivers``)


def camera_site(site: Site, specs: Sequence[PtzSpec]) -> Site:
    extra = tuple(
        SensorSpec(
            id=s.id,
            kind=SensorKind.CAMERA,
            measures=MeasurementKind.AZ_EL,
            position_enu=np.asarray(s.position_enu, dtype=float),
            sigma={"az_rad": 0.002, "el_rad": 0.002},
            update_s=TICK_S,
            max_range_m=s.max_range_m,
            pd=0.9,
            reports="objects",
        )
        for s in specs
    )
    return dataclasses.replace(site, sensors=tuple(site.sensors) + extra)


def _jpeg(img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return bytes(buf) if ok else b""


def run_cue_loop(
    run: object,
    specs: Sequence[PtzSpec],
    until_s: float,
    seed: int = 0,
    drivers: Mapping[str, PtzDriver] | None = None,
) -> tuple[CueLog, Engine]:
    """Run a simulated site (``sim.run.SimRun``) with PTZ cameras under slew-to-cue.

    ``drivers``: camera id -> a real head that is sent every task of that camera as well
    (the simulated camera still plays the head's motion and what it sees)."""
    from skywarden.nodes import sapient_node as sn

    sim_run = run
    site = camera_site(sim_run.site, specs)  # type: ignore[attr-defined]
    world = sim_run.world  # type: ignore[attr-defined]
    own = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"
    node_ids = {s.id: f"c0ffee00-1111-4222-8333-{i:012d}" for i, s in enumerate(specs)}
    sessions = SapientSessions(
        GeoOrigin(site.origin.lat_deg, site.origin.lon_deg, site.origin.alt_m),
        own,
        {node_ids[s.id]: (s.id, np.asarray(s.position_enu, dtype=float)) for s in specs},
    )
    cams = {node_ids[s.id]: PtzCamera(s) for s in specs}
    for nid, cam in cams.items():
        body = frame(sn.registration(nid, own, 0.0, "camera", cam.spec.id))[4:]
        sessions.handle(parse_message(body, 0.0))
    engine = Engine(site, records=False)
    ctl = CueController(sessions, own, cams)
    log = CueLog()
    rng = np.random.default_rng(seed)
    scans: Iterator[Scan] = iter(sim_run.scans())  # type: ignore[attr-defined]
    pending = next(scans, None)
    seq = 0
    t = 0.0
    cam_scans: list[Scan] = []
    while t <= until_s:
        batch = list(cam_scans)
        while pending is not None and pending.t <= t:
            batch.append(pending)
            pending = next(scans, None)
        for s in batch:
            engine.scan(s)
        frames = engine.tick(t)
        last = frames[-1] if frames else engine.pipeline.last
        assert last is not None  # a tick past the last step always steps
        fr = dataclasses.replace(last, events=tuple(engine.drain_events()))
        for ev in fr.events:
            if ev.kind == "raised":
                log.alerts.setdefault(ev.alert.track_id, t)
        camera_ids = {c.spec.id for c in cams.values()}
        for tr in fr.tracks:
            if tr.id in ctl.assigned:
                log.classes[tr.id] = dict(tr.class_probs)
                log.last_seen[tr.id] = (t, (float(tr.x[0]), float(tr.x[1]), float(tr.x[2])))
                if tr.id not in log.confirmed and camera_ids & set(tr.sensors):
                    log.confirmed[tr.id] = (t, tr.best_class)
                    log.confirmed_at[tr.id] = log.last_seen[tr.id][1]
        for task in ctl.on_frame(fr, t):
            cams[task.node_id].obey(task.message[4:], t)
            driver = (drivers or {}).get(cams[task.node_id].spec.id)
            if driver is not None:
                driver.obey(task.message[4:], t)
                log.driven += 1
            log.tasks += 1
            log.first_task.setdefault(task.track_id, (t, task.slew_time_s))
        # the cameras move, look, and report over SAPIENT
        t_next = t + TICK_S
        cam_scans = []
        states = world.at(t_next)
        tracks = {tr.id: tr for tr in fr.tracks}
        for nid, cam in cams.items():
            cam.step(t_next)
            for tid, a in ctl.assigned.items():
                cued = tracks.get(tid)
                if a.camera == nid and cued is not None and tid not in log.on_target:
                    pos = np.asarray(cued.x[:3])
                    az, el, _ = direction(np.asarray(cam.spec.position_enu), pos)
                    if cam.on_target(az, el):
                        log.on_target[tid] = t_next
            dets: list[Detection] = []
            for seen in cam.observe(states, world.ids, world.type, t_next, rng):
                seq += 1
                rep = sn.Report(
                    t_next,
                    sn.ulid(0.0, 10_000 + world.ids.index(seen.object_id), nid),
                    sn.ulid(t_next, seq, nid),
                    seen.azimuth_rad,
                    seen.elevation_rad,
                    seen.sigma_rad,
                    seen.label,
                    seen.confidence,
                    _jpeg(seen.chip),
                )
                pm = parse_message(frame(sn.detection(nid, own, rep))[4:], t_next)
                dets.extend(sessions.handle(pm).detections)
                log.camera_reports += 1
                ctl.note_report(nid, t_next)
                url = pm.message.detection_report.associated_file[0].url
                for tid, a in ctl.assigned.items():
                    if a.camera == nid:
                        log.chips[tid] = base64.b64decode(url.split(",", 1)[1])
            if dets:
                cam_scans.append(Scan(t_next, cam.spec.id, tuple(dets), complete=False))
        t = t_next
    return log, engine
