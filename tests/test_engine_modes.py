"""One engine, several transports: a journal recorded by the live runtime gives the same
frames and alert events, field by field, as the live run itself, through ``replay_journal``
(the live path's replay) and through ``track``-style offline stepping.

The record holds sensor messages, ticks, an operator's acknowledgement and a zone an admin
added while it ran (a configuration change: in force from the next step in every mode). The
live leg is what the running engine stepped (its ``on_step`` hook; snapshots are taken
meanwhile, so the hook is shown to stay out of them) and the alert events its pictures
carried to the outputs. The comparison helper is ``tests/support/same_outputs.py``; the
cluster's legs (pooled worker, edge) use the same helper."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from skywarden.alerts.lifecycle import AlertState
from skywarden.core.clock import WallClock
from skywarden.core.errors import StateError
from skywarden.core.site import ZoneKind, ZoneSpec
from skywarden.runtime.engine.pipeline import Frame
from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY
from skywarden.runtime.live.feeds import simulated_feed
from skywarden.runtime.live.source import LiveSource
from skywarden.sensors.skybench import Scan
from skywarden.service.source import Picture, UnknownAlertError
from skywarden.store.journal import open_journal
from skywarden.store.records import OperatorAction
from support.same_outputs import (
    ModeOutputs,
    assert_same_outputs,
    first_difference,
    offline_leg,
    replay_leg,
)

SIM_SECONDS = 40.0
DEPOT = ZoneSpec("depot", ZoneKind.PROTECTED, (0.0, 0.0), 600.0, ceiling_m=300.0)


async def _record_live(url: str) -> tuple[ModeOutputs, str | None]:
    journal = open_journal(url)
    feed = simulated_feed(seed=3)
    src = LiveSource(feed, WallClock(), journal, speed=10.0, tick_s=0.1, snapshot_s=5.0)
    live = ModeOutputs("live")
    await src.start()

    def stepped(_: Sequence[Scan], fr: Frame) -> None:
        live.frames.append(fr)

    def shown(pic: Picture) -> None:
        live.events.extend(pic.events)

    src.machine.on_step = stepped  # before the consumer's first batch: start() awaits no more
    src.subscribe(shown)
    acked: str | None = None
    edited = False
    try:
        t0: float | None = None
        while True:
            pic = src.current()
            if pic is not None:
                t0 = pic.t if t0 is None else t0
                if not edited and pic.t - t0 >= 5.0:
                    site = src.site
                    await src.update_site(dataclasses.replace(site, zones=(*site.zones, DEPOT)))
                    edited = True
                raised = [a for a in pic.alerts if a.state is AlertState.RAISED]
                if acked is None and raised:
                    with contextlib.suppress(StateError, UnknownAlertError):
                        acked = (await src.acknowledge(raised[0].id, "duty-officer")).id
                if (pic.t - t0 >= SIM_SECONDS and acked is not None) or pic.t - t0 >= 160.0:
                    break
            await asyncio.sleep(0.02)
    finally:
        await src.stop()
        journal.close()
    assert src.stats().get("live.snapshots", 0) >= 1  # the hook did not break a snapshot
    live.zones = tuple(z.id for z in src.machine.pipeline.site.zones)
    return live, acked


def test_live_replay_and_offline_give_the_same_frames_and_events(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/modes.sqlite"
    live, acked = asyncio.run(_record_live(url))
    assert acked is not None, "the residence attack raises an alert to acknowledge"
    j = open_journal(url)
    try:
        records = [e.record for e in j.read(kinds=("operator", "config"))]
        site = simulated_feed(seed=3).site
        replayed = replay_leg(j, site)
        offline = offline_leg(j, site)
    finally:
        j.close()
    assert any(isinstance(r, OperatorAction) and r.target == acked for r in records)
    assert any(getattr(r, "key", None) == SITE_EDIT_KEY for r in records)
    # the record is not trivial: tracks, alerts, the operator's acknowledgement
    assert len(live.frames) >= 30 and any(fr.tracks for fr in live.frames)
    kinds = [(ev.kind, ev.by) for ev in live.events]
    assert ("raised", None) in kinds and ("acknowledged", "duty-officer") in kinds
    # the zone edit reached the engine live and offline (replay: the same frames show it)
    assert "depot" in live.zones and live.zones == offline.zones
    assert_same_outputs(live, replayed)
    assert_same_outputs(live, offline)


def test_the_comparison_names_the_first_differing_field() -> None:
    """The helper can fail: a changed number deep in a frame is found and named."""
    import numpy as np

    from skywarden.core.track import TrackState, TrackStatus

    tr = TrackState(
        "T1", 1.0, np.zeros(6), np.eye(6), TrackStatus.CONFIRMED, class_probs={"drone": 1.0}
    )
    fr = Frame(1.0, (tr,), (), ())
    x = tr.x.copy()
    x[4] = 1e-12
    other = Frame(1.0, (dataclasses.replace(tr, x=x),), (), ())
    assert first_difference([fr], [fr]) is None
    assert first_difference([fr], [other]) == f"[0].tracks[0].x ({tr.x!r} != {x!r})"
    a, b = ModeOutputs("a", [fr]), ModeOutputs("b", [fr, fr])
    try:
        assert_same_outputs(a, b)
    except AssertionError as e:
        assert "frames (length 1 != 2)" in str(e)
    else:
        raise AssertionError("a missing frame went unnoticed")


def test_a_snapshot_leaves_the_step_hook_out_and_keeps_pending_events() -> None:
    """``on_step`` is no state: an engine with a hook snapshots (the codec refuses
    functions), and the loaded engine has none; undrained alert events are state and come
    back."""
    from skywarden.alerts.lifecycle import AlertEvent, AlertManager
    from skywarden.runtime.engine.engine import Engine
    from skywarden.runtime.engine.restore import dump_state, load_state
    from skywarden.threat.assess import ThreatAssessment, ThreatLevel

    site = simulated_feed(seed=3).site
    e = Engine(site)
    seen: list[float] = []
    e.on_step = lambda _s, fr: seen.append(fr.t)
    e.tick(10.0)
    assert seen == [10.0]
    (ev,) = AlertManager().update(
        [ThreatAssessment("T1", 10.0, ThreatLevel.WARNING, 0.5, "warning", None, "drone", False)],
        10.0,
    )
    e._events.append(ev)
    loaded, extra = load_state(dump_state(e, {"k": 1}))
    assert loaded.on_step is None and e.on_step is not None and extra == {"k": 1}
    (back,) = loaded.drain_events()
    assert isinstance(back, AlertEvent) and first_difference(back, ev) is None
    assert loaded.tick(11.0)[0].t == 11.0 and seen == [10.0]
