"""Replay equals live: the simulated residence recorded by the live runtime (journal on SQLite
and on PostgreSQL), then ``replay_journal`` over the record gives the same track and alert
records, compared field by field, including an operator's acknowledgement."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest

from record_helpers import BACKENDS, journal_url
from skywarden.alerts.lifecycle import AlertState
from skywarden.core.clock import WallClock
from skywarden.core.errors import StateError
from skywarden.runtime.engine.pipeline import PipelineConfig
from skywarden.runtime.live.feeds import simulated_feed
from skywarden.runtime.live.source import LiveSource
from skywarden.runtime.offline.replay import diff_records, replay_journal
from skywarden.service.source import UnknownAlertError
from skywarden.store.journal import open_journal
from skywarden.store.records import AlertRecord, TrackRecord
from skywarden.threat.assess import ThreatConfig

SIM_SECONDS = 60.0
SPEED = 10.0


@pytest.fixture(scope="module", params=BACKENDS)
def recorded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str | None]]:
    """A live record of the simulated residence (one per backend, shared by the tests)."""
    for url in journal_url(request.param, tmp_path_factory.mktemp("replay")):
        _, acked = asyncio.run(_record(url))
        yield url, acked


async def _record(url: str, seconds: float = SIM_SECONDS) -> tuple[float, str | None]:
    """Run the live source fast for ``seconds`` of site time (and until an alert was
    acknowledged, at most 4x longer)."""
    journal = open_journal(url)
    src = LiveSource(simulated_feed(seed=3), WallClock(), journal, speed=SPEED, tick_s=0.1)
    await src.start()
    acked: str | None = None
    try:
        t0: float | None = None
        while True:
            pic = src.current()
            if pic is not None:
                t0 = pic.t if t0 is None else t0
                if acked is None:
                    raised = [a for a in pic.alerts if a.state is AlertState.RAISED]
                    if raised:  # at this speed it may resolve before the ack lands: next one
                        with contextlib.suppress(StateError, UnknownAlertError):
                            acked = (await src.acknowledge(raised[0].id, "duty-officer")).id
                run = pic.t - t0
                if (run >= seconds and acked is not None) or run >= 4 * seconds:
                    break
            await asyncio.sleep(0.02)
    finally:
        await src.stop()
        journal.close()
    return t0 or 0.0, acked


def test_replay_of_a_live_record_is_identical_field_by_field(
    recorded: tuple[str, str | None],
) -> None:
    url, acked = recorded
    j = open_journal(url)
    try:
        recorded = list(j.records(kinds=["track", "alert"]))
        res = replay_journal(j)
    finally:
        j.close()
    tracks = [r for r in recorded if isinstance(r, TrackRecord)]
    alerts = [r for r in recorded if isinstance(r, AlertRecord)]
    assert len({r.track_id for r in tracks}) >= 3, "the residence should give several tracks"
    assert alerts, "the residence attack should raise alerts within a minute"
    assert acked is not None
    assert any(a.alert_id == acked and a.actor == "duty-officer" for a in alerts)
    # field by field, in order, every record
    rep_tracks = [r for r in res.replayed_outputs if isinstance(r, TrackRecord)]
    rep_alerts = [r for r in res.replayed_outputs if isinstance(r, AlertRecord)]
    assert len(rep_tracks) == len(tracks) and len(rep_alerts) == len(alerts), res.summary()
    for a, b in zip(tracks + alerts, rep_tracks + rep_alerts, strict=True):
        assert diff_records(a, b) is None, (a, b)
        assert a.to_dict() == b.to_dict()
    assert res.identical, res.summary()
    assert res.starts == 1
    assert res.recorded_code == {res.replay_code} and "NOTE" not in res.summary()


def test_replay_with_other_settings_reports_where_it_departs(
    recorded: tuple[str, str | None],
) -> None:
    j = open_journal(recorded[0])
    try:
        cfg = PipelineConfig(threat=ThreatConfig(min_age_s=20.0))
        res = replay_journal(j, config=cfg)
    finally:
        j.close()
    assert not res.alerts.identical
    assert res.alerts.first is not None
    assert "DIFFERENT" in res.summary()
