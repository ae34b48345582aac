"""Restart restores the picture: a second LiveSource on the same journal comes up with the
confirmed tracks and the alert states (an operator's acknowledgement, with who) of the first,
before serving anything new, the journal records both starts, and a replay across the restart
is identical to the record."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from skywarden.alerts.lifecycle import AlertState
from skywarden.core.clock import WallClock
from skywarden.core.errors import StateError
from skywarden.runtime.live.feeds import simulated_feed
from skywarden.runtime.live.source import LiveSource
from skywarden.runtime.offline.replay import replay_journal
from skywarden.service.source import UnknownAlertError
from skywarden.store.journal import open_journal
from skywarden.store.records import ConfigChange, TrackRecord

Alerts = dict[str, tuple[str, str | None]]


async def _first_run(url: str) -> tuple[set[str], Alerts, str]:
    j = open_journal(url)
    src = LiveSource(simulated_feed(seed=2), WallClock(), j, speed=10.0, tick_s=0.1)
    await src.start()
    acked = None
    try:
        for _ in range(3000):
            pic = src.current()
            if pic is not None and acked is None:
                for a in pic.alerts:
                    if a.state is AlertState.RAISED:
                        with contextlib.suppress(StateError, UnknownAlertError):
                            acked = (await src.acknowledge(a.id, "night-shift")).id
                            break
            if acked is not None:
                pic = src.current()
                assert pic is not None
                still = [a for a in pic.alerts if a.id == acked]
                if still and still[0].state is AlertState.ACKNOWLEDGED:
                    break
                acked = None  # resolved by itself already: take the next one
            await asyncio.sleep(0.02)
        assert acked is not None
    finally:
        await src.stop()  # a clean stop here; the SIGKILL case is test_record_crash_run
        j.close()
    pic = src.current()  # the last picture, after everything journaled was processed
    assert pic is not None
    tracks = {t.id for t in pic.tracks if t.confirmed}
    alerts = {a.id: (a.state.value, a.acknowledged_by) for a in pic.alerts}
    return tracks, alerts, acked


async def _second_run(url: str) -> tuple[set[str], Alerts]:
    j = open_journal(url)
    src = LiveSource(simulated_feed(seed=2), WallClock(), j, speed=10.0, tick_s=0.1)
    await src.start()
    try:
        pic = src.current()  # right after start: the restore, nothing new yet
        assert pic is not None and src.restored is not None
        tracks = {t.id for t in pic.tracks if t.confirmed}
        alerts = {a.id: (a.state.value, a.acknowledged_by) for a in pic.alerts}
        await asyncio.sleep(1.0)  # go on a little: this run's own outputs
    finally:
        await src.stop()
        starts = [
            r
            for r in j.records(kinds=["config"])
            if isinstance(r, ConfigChange) and r.key == "runtime.start"
        ]
        assert len(starts) == 2 and starts[1].new["restore_last_seq"] > 0
        assert starts[1].new["restore_snapshot_seq"] is not None  # the fast, exact path
        j.close()
    return tracks, alerts


def test_restart_restores_tracks_and_acknowledged_alerts(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/j.sqlite"
    tracks_before, alerts_before, acked = asyncio.run(_first_run(url))
    tracks_after, alerts_after = asyncio.run(_second_run(url))
    assert tracks_before and tracks_before == tracks_after
    assert alerts_before[acked][1] == "night-shift"
    assert alerts_after == alerts_before
    # a replay across the restart rebuilds the second run's state the way it did
    j = open_journal(url)
    try:
        res = replay_journal(j)
    finally:
        j.close()
    assert res.starts == 2 and res.identical, res.summary()
    sources = {r.source for r in res.replayed_outputs if isinstance(r, TrackRecord)}
    assert len(sources) == 2  # each run tags its tracks: ids restart per process
