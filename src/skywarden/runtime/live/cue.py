"""Slew-to-cue inside ``skywarden run``: the site's PTZ cameras (the built-in simulated
site's, or those a ``skywarden.toml`` names in ``[[cue.cameras]]``, ``runtime.cue.config``).

The live loop (``LiveSource``) hands every stepped frame, with the alert events of that step,
to :meth:`LiveCue.on_frame`; the
:class:`~skywarden.runtime.cue.controller.CueController` decides which camera looks at
which alerting track and builds each SAPIENT LookAt with
``sensors.sapient_task.look_at_task`` (the only tasker: camera nodes, sensor commands).
Each task is journaled (a ``ConfigChange`` under :data:`TASK_KEY`, actor ``cue``, with the
framed message) and then obeyed by the simulated camera (``sim.ptz``), which slews at its
rate. Nothing here can address an effector. While the camera's detections are in a cued
track, its latest image chip is journaled beside the track (:data:`CHIP_KEY`, every
:data:`CHIP_EVERY_S`; the simulated camera's chips are rendered, and say so) and served by
the API (``LiveSource.track_chip``).

Every tick the ticker calls :meth:`LiveCue.observe` with the site time: each camera moves,
looks at the simulated world of the pass then playing (``Feed.world``), and what it sees
travels as a SAPIENT DetectionReport (``nodes.sapient_node``) through ``SapientSessions``
like a real node's; the accepted message becomes an ``Inbound`` (source ``sapient``, the
framed bytes as payload, the az/el detections with the camera's class and confidence) that
the ticker submits through the ingest port -- journaled before the engine sees it, fused
into the track like any other sensor's, and replayed from the journal like any other.

A real site (no simulated world) still plans with each camera's model -- where it was
last sent, how fast it slews -- but nothing is simulated through it: ``observe`` only moves
the models, and what the real camera sees reaches the system over its own link.

Time: the site clock of the ticker (``t0`` where the feed's passes start); the pass ``k``
playing at ``t`` and its own time are ``LineClock``'s arithmetic.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from skywarden.alerts.lifecycle import AlertEvent
from skywarden.core.counters import Counters
from skywarden.core.geo import GeoOrigin
from skywarden.core.inbound import Inbound
from skywarden.core.observation import Detection
from skywarden.runtime.cue.controller import CueController, PtzDriver, _jpeg
from skywarden.runtime.cue.pump import DriverPump
from skywarden.runtime.engine.pipeline import Frame
from skywarden.runtime.live.feeds import Feed
from skywarden.sensors.sapient import SapientSessions, frame, parse_message
from skywarden.sim.ptz import PtzCamera
from skywarden.store.records import ConfigChange

TASK_KEY = "cue.task"
CHIP_KEY = "cue.chip"
CHIP_EVERY_S = 5.0  # a cued track's chip is journaled at most this often
CHIP_NOTE = "synthetic image rendered by the simulated PTZ camera (sim.ptz), not a photograph"
OWN_NODE = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"


class LiveCue:
    """The cameras of a live feed (simulated where the feed is), and the controller that
    tasks them."""

    def __init__(
        self, feed: Feed, seed: int = 0, drivers: Mapping[str, PtzDriver] | None = None
    ) -> None:
        """``drivers``: camera id -> a real head (ONVIF ...) sent each task of that camera
        too, from a worker thread (``runtime.cue.pump``); the simulated camera still plays
        the motion and what is seen."""
        from skywarden.nodes import sapient_node as sn

        if not feed.cameras:
            raise ValueError("slew-to-cue needs a feed with cameras")
        self.feed = feed
        self.world = feed.world
        o = feed.site.origin
        self.node_ids = {
            s.id: f"c0ffee00-1111-4222-8333-{i:012d}" for i, s in enumerate(feed.cameras)
        }
        self.sessions = SapientSessions(
            GeoOrigin(o.lat_deg, o.lon_deg, o.alt_m),
            OWN_NODE,
            {
                self.node_ids[s.id]: (s.id, np.asarray(s.position_enu, dtype=float))
                for s in feed.cameras
            },
        )
        self.cameras = {self.node_ids[s.id]: PtzCamera(s) for s in feed.cameras}
        for nid, cam in self.cameras.items():
            body = frame(sn.registration(nid, OWN_NODE, 0.0, "camera", cam.spec.id))[4:]
            self.sessions.handle(parse_message(body, 0.0))
        self.controller = CueController(self.sessions, OWN_NODE, self.cameras)
        self.counters = Counters()
        self.rng = np.random.default_rng(seed)
        self.t0: float | None = None
        self._seq = 0
        self._last_chip: dict[str, dict[str, Any]] = {}  # camera id -> its latest chip
        self.chips: dict[str, dict[str, Any]] = {}  # track -> the chip journaled last
        self.pump = DriverPump(drivers or {}, self.counters)

    def start(self, t0: float) -> None:
        """The site time at which the feed's pass 0 starts (the ticker's first ``t_site``)."""
        self.t0 = t0

    def on_frame(self, fr: Frame, events: Sequence[AlertEvent], t: float) -> list[ConfigChange]:
        """Task the cameras for this frame; the task records to journal (already obeyed)."""
        tasks = self.controller.on_frame(dataclasses.replace(fr, events=tuple(events)), t)
        out = []
        for task in tasks:
            cam = self.cameras[task.node_id]
            cam.obey(task.message[4:], t)
            self.pump.submit(
                cam.spec.id, task.message[4:], t
            )  # sent from a worker; journaled below
            # slewing and zooming run together: the camera has settled after the longer
            zoom_s = abs(math.log(cam.hfov / cam.goal[2])) / math.log(cam.spec.zoom_rate)
            out.append(
                ConfigChange(
                    t,
                    "cue",
                    TASK_KEY,
                    None,
                    {
                        "camera": cam.spec.id,
                        "node_id": task.node_id,
                        "track_id": task.track_id,
                        "azimuth_rad": round(task.azimuth_rad, 6),
                        "elevation_rad": round(task.elevation_rad, 6),
                        "slew_time_s": round(task.slew_time_s, 3),
                        "settle_time_s": round(max(task.slew_time_s, zoom_s), 3),
                        "sapient_b64": base64.b64encode(task.message).decode("ascii"),
                    },
                    note="slew-to-cue LookAt (sensor tasking)",
                )
            )
            self.counters.inc("cue.tasks")
        return out + self._chips(fr, t)

    def _chips(self, fr: Frame, t: float) -> list[ConfigChange]:
        """The cued tracks' image chips, journaled beside the track (once per
        ``CHIP_EVERY_S``): the camera's latest chip when its detections are in the track."""
        tracks = {tr.id: tr for tr in fr.tracks}
        out = []
        for tid, a in self.controller.assigned.items():
            cam_id = self.cameras[a.camera].spec.id
            tr, chip = tracks.get(tid), self._last_chip.get(cam_id)
            if tr is None or chip is None or cam_id not in tr.sensors:
                continue
            prev = self.chips.get(tid)
            if prev is not None and chip["t_image"] - prev["t_image"] < CHIP_EVERY_S:
                continue
            entry = {"track_id": tid, **chip}
            self.chips[tid] = entry
            out.append(ConfigChange(t, "cue", CHIP_KEY, None, entry, note=CHIP_NOTE))
            self.counters.inc("cue.chips")
        return out

    def observe(self, t: float) -> list[Inbound]:
        """Move every camera to site time ``t`` and return what each saw, as accepted
        SAPIENT messages (one per detection)."""
        from skywarden.nodes import sapient_node as sn

        if self.world is None:  # a real site: the models follow their commands, nothing seen
            for cam in self.cameras.values():
                cam.step(t)
            return []
        if self.t0 is None or self.feed.pass_duration_s <= 0:
            return []
        k = max(0, math.floor((t - self.t0) / self.feed.pass_duration_s))
        offset = self.t0 + k * self.feed.pass_duration_s
        world = self.world(k).world
        states = world.at(t - offset)
        out: list[Inbound] = []
        for nid, cam in self.cameras.items():
            cam.step(t)
            for seen in cam.observe(states, world.ids, world.type, t, self.rng):
                self._seq += 1
                obj = sn.ulid(offset, 10_000 + world.ids.index(seen.object_id), nid)
                rep = sn.Report(
                    t,
                    obj,
                    sn.ulid(t, self._seq, nid),
                    seen.azimuth_rad,
                    seen.elevation_rad,
                    seen.sigma_rad,
                    seen.label,
                    seen.confidence,
                    _jpeg(seen.chip),
                )
                wire = frame(sn.detection(nid, OWN_NODE, rep))
                dets: tuple[Detection, ...] = tuple(
                    self.sessions.handle(parse_message(wire[4:], t)).detections
                )
                if dets:
                    out.append(Inbound(cam.spec.id, "sapient", t, wire, dets))
                    self.counters.inc("cue.camera_reports")
                    self.controller.note_report(nid, t)
                    self._last_chip[cam.spec.id] = {
                        "camera": cam.spec.id,
                        "t_image": t,
                        "label": seen.label,
                        "confidence": round(seen.confidence, 3),
                        "pixels": round(seen.pixels, 1),
                        "synthetic": True,
                        "jpeg_b64": base64.b64encode(rep.chip_jpeg).decode("ascii"),
                    }
        return out
