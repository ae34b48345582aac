"""Retention in the running system: alert windows survive age limits, the rest goes, the
chain still verifies (SQLite here; the store's own tests cover PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from skywarden.core.clock import ManualClock
from skywarden.runtime.live.retention import RetentionConfig, RetentionKeeper
from skywarden.store.journal import RetentionPolicy, open_journal
from skywarden.store.records import AlertRecord, RawMessage


def _raw(t: float) -> RawMessage:
    return RawMessage(t, "radar-1", "skybench/1", b'{"type":"detections"}', {"n": int(t)})


def test_alert_windows_are_kept_and_old_data_dropped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}?segment_records=50"
    with open_journal(url) as j:
        j.append_many([_raw(float(t)) for t in range(0, 1000)])  # 20 segments of 50 s
        j.append(AlertRecord(300.0, "A1", "T7", "raised", None, "residence", "alert"))
        j.append(AlertRecord(340.0, "A1", "T7", "resolved", "acknowledged", "residence"))
        j.append(AlertRecord(900.0, "A2", "T9", "raised", None, "residence", "warning"))
        j.append_many([_raw(float(t)) for t in range(1000, 1100)])
        clock = ManualClock(1100.0)
        cfg = RetentionConfig(RetentionPolicy(max_age_s=200.0, incident_margin_s=0.0), 1.0, 60.0)
        keeper = RetentionKeeper(j, cfg, clock)
        res = keeper.run_once()
        assert res.dropped
        kept = sorted(int(e.record.t) for e in j.read(kinds=["raw"]))
        # the closed alert's window (240..400) and the open one's (840..now) survive
        assert any(240 <= t <= 260 for t in kept) and any(380 <= t <= 400 for t in kept)
        assert any(850 <= t <= 880 for t in kept)
        # outside every window and older than the limit: gone
        assert not any(100 <= t < 200 for t in kept) and not any(500 <= t < 700 for t in kept)
        assert keeper.counters.get("incidents.alerts") == 1
        assert keeper.counters.get("incidents.open_alerts") == 1
        assert {i.label for i in j.incidents()} >= {"alert A1", "alert A2 (open)"}
        assert j.verify().ok
        # a second run marks nothing new for the closed alert
        keeper.run_once()
        assert keeper.counters.get("incidents.alerts") == 1


def test_keeper_runs_periodically_and_stops(tmp_path: Path) -> None:
    async def run() -> None:
        with open_journal(f"sqlite:///{tmp_path / 'k.sqlite'}") as j:
            j.append(_raw(1.0))
            keeper = RetentionKeeper(
                j, RetentionConfig(RetentionPolicy(max_age_s=1e6), every_s=0.05), ManualClock(2.0)
            )
            await keeper.start()
            for _ in range(100):
                if keeper.counters.get("runs") >= 2:
                    break
                await asyncio.sleep(0.02)
            await keeper.stop()
            assert keeper.counters.get("runs") >= 2 and keeper.counters.get("errors") == 0

    asyncio.run(run())
