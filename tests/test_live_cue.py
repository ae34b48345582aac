"""Slew-to-cue inside `skywarden run`: the built-in simulated site (sped up, in-process, the
service app in front) has a PTZ camera. An alert tasks it (a SAPIENT LookAt, journaled); it
slews at its rate; its detections come back as journaled SAPIENT messages fused into the
alerting track, whose class the camera confirms (checked against the simulated truth)."""

from __future__ import annotations

import base64
import inspect
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from skywarden.core.clock import WallClock
from skywarden.core.track import ObjectClass
from skywarden.runtime.cue.search import SearchConfig
from skywarden.runtime.live.cue import CHIP_KEY, TASK_KEY
from skywarden.runtime.live.feeds import SIM_CAMERAS, simulated_feed
from skywarden.runtime.live.source import LiveSource
from skywarden.runtime.outputs.config import parse_outputs
from skywarden.runtime.outputs.output_set import OutputSet, OutputsSource
from skywarden.sensors.sapient import parse_message
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from skywarden.service.source import ChipSource
from skywarden.store.journal import open_journal
from skywarden.store.records import ConfigChange, RawMessage, TickRecord, TrackRecord
from skywarden.store.report import render_html, report_from_journal

SPEED = 5.0
TICK_S = 0.1
LAG_S = 0.5
SEARCH = SearchConfig()  # the cue loop's (runtime.cue.controller's default)


def _camera_tracks(client: TestClient) -> list[dict[str, Any]]:
    tracks = client.get("/api/tracks?confirmed_only=true").json()
    return [t for t in tracks if "ptz-1" in t["sensors"]]


def test_alert_tasks_the_camera_whose_detections_confirm_the_track(tmp_path: Path) -> None:
    journal = open_journal(str(tmp_path / "j.sqlite"))
    feed = simulated_feed(seed=1, cameras=SIM_CAMERAS)
    assert "ptz-1" in feed.site.sensor_map
    source = LiveSource(feed, WallClock(), journal, speed=SPEED, tick_s=TICK_S)
    # served as `skywarden run --outputs` serves it: wrapped with its outputs (none here);
    # the wrapper must still answer the chip endpoint (it used to hide it: 404)
    served = OutputsSource(source, OutputSet(parse_outputs({}), feed.site, WallClock()))
    assert isinstance(served, ChipSource)
    assert inspect.getattr_static(served, "track_chip", None) is not None  # not forwarded
    settings = ServiceSettings(admin_user="tester", admin_password="tester-password")
    with TestClient(create_app(settings, served)) as client:
        r = client.post(
            "/api/auth/login", json={"username": "tester", "password": "tester-password"}
        )
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        end = time.monotonic() + 90.0
        seen: list[dict[str, Any]] = []
        while time.monotonic() < end and len(seen) < 2:
            seen = _camera_tracks(client)
            time.sleep(0.3)
        assert seen, "no track carried the camera's detections"
        stats = client.get("/api/stats").json()["counters"]
        assert stats["cue.tasks"] >= 1 and stats["cue.camera_reports"] >= 1
        # the camera's detections may also join a track it was not cued to (a bird in the
        # frame beside the drone): that track has no chip; a cued one has
        cued = [tr for tr in seen if source.track_chip(tr["id"]) is not None]
        assert cued, "no cued track among those carrying the camera's detections"
        chip = client.get(f"/api/tracks/{cued[0]['id']}/chip")  # served for a cued track
        assert chip.status_code == 200 and chip.content[:2] == b"\xff\xd8"
        assert chip.headers["x-chip-synthetic"] == "true"
        assert client.get("/api/tracks/no-such-track/chip").status_code == 404
    assert source.cue is not None
    records = [e.record for e in journal.read()]
    assert journal.verify().ok  # tasks and chips are hash-chained with the rest
    report = render_html(report_from_journal(journal, records[0].t, records[-1].t + 1.0))
    journal.close()
    chips = [r for r in records if isinstance(r, ConfigChange) and r.key == CHIP_KEY]
    assert chips and all(c.new["synthetic"] for c in chips)
    # the incident report shows each cued track's chip, marked synthetic
    section = report.split("<h2>Camera chips</h2>", 1)[1]
    for tid in {c.new["track_id"] for c in chips}:
        card = section.split(f'data-track="{tid}"', 1)[1].split("</figure>", 1)[0]
        assert "data:image/jpeg;base64," in card and "(synthetic)" in card
    assert "cue.chip" not in report.split("<h2>Configuration changes</h2>")[-1]

    tasks = [r for r in records if isinstance(r, ConfigChange) and r.key == TASK_KEY]
    assert tasks, "no task journaled"
    for task in tasks:  # each journaled task is the SAPIENT LookAt that was sent
        msg = parse_message(base64.b64decode(task.new["sapient_b64"])[4:], task.t).message
        assert msg.WhichOneof("content") == "task" and task.new["camera"] == "ptz-1"
    raised: dict[str, float] = {}
    cam_hit: dict[str, float] = {}
    by_track: dict[str, list[TrackRecord]] = {}
    for r in records:
        if r.kind == "alert" and r.track_id not in raised:  # type: ignore[union-attr]
            raised[r.track_id] = r.t  # type: ignore[union-attr]
        if isinstance(r, TrackRecord):
            by_track.setdefault(r.track_id, []).append(r)
            if "ptz-1" in r.sensors:
                cam_hit.setdefault(r.track_id, r.t)
    cam_raw = [r for r in records if isinstance(r, RawMessage) and r.sensor_id == "ptz-1"]
    assert cam_raw and all(r.format == "sapient" for r in cam_raw)  # journaled as received

    first_task: dict[str, ConfigChange] = {}
    for task in tasks:
        first_task.setdefault(task.new["track_id"], task)
    assert source.cue.t0 is not None and feed.world is not None
    t0, dur = source.cue.t0, feed.pass_duration_s

    def truth_near(t: float, x: Sequence[float]) -> tuple[str, float, str]:
        """The simulated object nearest ``x`` at site time ``t``: (family, distance, id)."""
        k = int((t - t0) // dur)
        world = feed.world(k).world  # type: ignore[misc]
        d = np.linalg.norm(world.at(t - t0 - k * dur)[:, :3] - np.asarray(x[:3]), axis=1)
        j = int(np.nanargmin(d))
        return str(world.family[j]), float(d[j]), str(world.ids[j])

    confirmed = []
    # the loop's delays: the camera hears a task computed on a frame ``LAG_S`` behind the
    # site clock, moves and reports on a tick, its report is stepped on the next, and the
    # track's record follows that step: three ticks, counted as the ticker ran them (the
    # journaled steps; on a loaded machine a wall-clock tick may come 2-4 s late)
    ticks = sorted(r.t for r in records if isinstance(r, TickRecord))

    def deadline(t_ready: float) -> float:
        after = [x for x in ticks if x > t_ready]
        return max(t_ready + 3 * TICK_S * SPEED, after[2] if len(after) >= 3 else math.inf)

    for tid, task in first_task.items():
        assert tid in raised and task.t >= raised[tid] - 1e-6  # tasked because it alerted
        at_task = [r for r in by_track[tid] if r.t <= task.t]
        if tid not in cam_hit or not at_task:
            continue  # the track ended before the camera got there
        _, miss_m, oid = truth_near(task.t, at_task[-1].x)
        if miss_m > 30.0:
            continue  # no object where the track was (the camera saw nothing to confirm)
        # the camera's detections are on the track within its slew (and zoom) time and the
        # loop's delays: the cue pointed it at a real object ...
        slew = float(task.new["settle_time_s"])  # its slew, or its zoom if that is longer
        # ... or, when the estimate was off by more than the frame, found by the cue's search
        # in its first tilt steps (up, then down: a radar track's height is its worst axis)
        due = deadline(task.t + slew + LAG_S + SEARCH.wait_s + 2 * SEARCH.dwell_s)
        assert cam_hit[tid] <= due, (tid, oid, slew, cam_hit[tid] - task.t, due - task.t)
        rec = by_track[tid][-1]  # its class, as the camera left it, against the truth
        family, d, _ = truth_near(rec.t, rec.x)
        if d < 30.0:
            best = max(rec.class_probs, key=lambda c: rec.class_probs[c])
            assert ObjectClass(best).family == family, (tid, oid, rec.class_probs)
            # the camera names the family (sim.ptz: "drone" for multirotor and fixed wing),
            # so it is the family it confirms; the split inside it is the kinematics'
            p_family = sum(p for c, p in rec.class_probs.items() if ObjectClass(c).family == family)
            assert p_family > 0.6, (tid, oid, rec.class_probs)
            confirmed.append(oid)
    assert len(confirmed) >= 1, first_task.keys()
