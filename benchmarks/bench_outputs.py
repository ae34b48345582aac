"""What the outputs cost: the live loop's call per picture, and the encoder thread's work.

Run: ``.venv/bin/python -m pytest benchmarks/bench_outputs.py --benchmark-enable -s``.

- ``test_on_picture_cost``: the live loop calls ``OutputSet.on_picture`` on the event loop
  thread once per processed batch. Measured: one picture of N confirmed tracks with a TAK
  and a SAPIENT output due, plus one new alert event offered to the web hook and e-mail
  queues and encoded for both peers. Peers point at closed ports and are not started; the
  call runs inside the loop with no await, so the sink workers get no turn.
- ``test_encode_cost``: what each peer's encoder thread does per picture (CoT XML or a
  SAPIENT DetectionReport per track); it bounds how many tracks a peer can publish per
  ``rate_s``. ``extra_info`` has microseconds per track.
"""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from skywarden.alerts.dispatch import DispatcherConfig
from skywarden.alerts.lifecycle import AlertManager
from skywarden.core.clock import WallClock
from skywarden.core.track import TrackState, TrackStatus
from skywarden.runtime.live.feeds import simulated_feed
from skywarden.runtime.outputs.config import parse_outputs
from skywarden.runtime.outputs.output_set import OutputSet
from skywarden.service.source import Picture
from skywarden.threat.assess import ThreatAssessment, ThreatLevel

SITE = simulated_feed(1).site
HIGHER = "0f8fad5b-d9cb-469f-a165-70867728950e"


def _tracks(n: int) -> tuple[TrackState, ...]:
    return tuple(
        TrackState(
            id=f"T{i}",
            t=100.0,
            x=np.array([10.0 * i, 50.0, 60.0, 3.0, -1.0, 0.0]),
            P=np.diag([9.0, 9.0, 25.0, 1.0, 1.0, 1.0]),
            status=TrackStatus.CONFIRMED,
            class_probs={"drone": 0.7, "bird": 0.2, "unknown": 0.1},
            first_t=90.0,
        )
        for i in range(n)
    )


class _Source:
    def __init__(self) -> None:
        self.alerts = AlertManager()
        self.machine = self.pipeline = self

    def subscribe(self, listener: object) -> object:
        return lambda: None


@pytest.mark.parametrize("n_tracks", [10, 100, 1000])
def test_on_picture_cost(benchmark: BenchmarkFixture, n_tracks: int) -> None:
    cfg = parse_outputs(
        {
            "queue": {"size": 1_000_000},
            "webhook": [{"url": "http://127.0.0.1:9/x", "outbox": ":memory:"}],
            "email": [{"host": "127.0.0.1", "port": 9, "from": "a@b.c", "to": ["d@e.f"]}],
            "tak": [{"host": "127.0.0.1", "port": 9, "rate_s": 1e-9}],
            "sapient": [
                {
                    "host": "127.0.0.1",
                    "port": 9,
                    "rate_s": 1e-9,
                    "destination_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                }
            ],
        }
    )
    pic = Picture(seq=1, t=100.0, wall_t=0.0, tracks=_tracks(n_tracks))

    async def main() -> None:
        outs = OutputSet(cfg, SITE, WallClock())
        src = _Source()
        await outs.dispatcher.start()  # queues and workers; peers not started
        outs.attach(src)  # type: ignore[arg-type]
        k = [0]

        def one() -> None:  # runs inside the loop, no await: the workers never get a turn
            k[0] += 1
            a = ThreatAssessment(
                f"X{k[0]}", 0.0, ThreatLevel.WARNING, 0.5, "z", None, "drone", False
            )
            events = src.alerts.update([a], float(k[0]))  # one raised (+ resolutions later)
            outs.on_picture(dataclasses.replace(pic, events=tuple(events)))

        benchmark.pedantic(one, rounds=30, iterations=1, warmup_rounds=2)
        outs.dispatcher.cfg = DispatcherConfig(drain_s=0.0)
        await outs.stop()

    asyncio.run(main())
    med = benchmark.stats.stats.median
    benchmark.extra_info["us_per_track"] = round(med * 1e6 / n_tracks, 2)
    print(f"\n{n_tracks} tracks: median {med * 1e3:.2f} ms, {med * 1e6 / n_tracks:.1f} us/track")


@pytest.mark.parametrize("kind", ["tak", "sapient"])
def test_encode_cost(benchmark: BenchmarkFixture, kind: str) -> None:
    n = 100
    cfg = parse_outputs(
        {
            "tak": [{"host": "127.0.0.1", "port": 9}],
            "sapient": [{"host": "127.0.0.1", "port": 9, "destination_id": HIGHER}],
        }
    )
    outs = OutputSet(cfg, SITE, WallClock())
    peer = next(p for p in outs.peers if p.name == kind)
    pic = Picture(seq=1, t=100.0, wall_t=0.0, tracks=_tracks(n))
    msgs = benchmark.pedantic(peer.encode_picture, args=(pic,), rounds=20, warmup_rounds=1)
    assert len(msgs) == n
    med = benchmark.stats.stats.median
    benchmark.extra_info["us_per_track"] = round(med * 1e6 / n, 1)
    print(f"\n{kind} encoder: {med * 1e6 / n:.0f} us/track")
