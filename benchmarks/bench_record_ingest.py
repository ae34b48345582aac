"""Ingest throughput through the runtime's port: ``JournalingIngest.submit`` on SQLite (FULL).

Run: ``.venv/bin/python -m pytest benchmarks/bench_record_ingest.py --benchmark-enable -s``.
Each round pushes 5,000 radar messages (3 detections each, as a SAPIENT/JSON adapter hands
them over: an ``Inbound`` with parsed ``Detection`` values) through ``submit`` from
``concurrency`` adapters at once, each awaiting its own submit before the next, with ordered
delivery to a consumer. ``batch`` 1 is the worst case (every message its own call, e.g. one
HTTP POST each); ``batch`` 25 is a socket adapter submitting what one read brought. messages/s
= 5,000 / the round's time; the target is 5,000/s. Group commit is what gets there: the
same journal committing one message per transaction manages ~2-3k/s
(``bench_store_journal.py``, batch 1). Throughput with single-message submits is bounded by
(messages in flight) / (commit latency, i.e. the fsync), hence the concurrency.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from skywarden.core.inbound import Inbound
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.runtime.live.ingest import JournalingIngest
from skywarden.store.journal import open_journal

N = 5000
R = np.diag([16.0, 1e-4, 2e-4, 0.25])


def _messages(t0: float) -> list[Inbound]:
    out = []
    for i in range(N):
        t = t0 + i * 0.0002
        dets = tuple(
            Detection(
                t,
                "radar-1",
                MeasurementKind.RANGE_AZ_EL_RADIAL,
                np.array([800.0 + 10 * k, 1.2 + 0.01 * k, 0.05, -3.0 + k]),
                R,
                np.array([30.0, -20.0, 10.0]),
                rcs_dbsm=-18.0,
                attrs={"sensor_kind": "radar"},
            )
            for k in range(3)
        )
        payload = b'{"t": %r, "detections": [...3 polar plots...], "pad": "%s"}' % (t, b"x" * 200)
        out.append(Inbound("radar-1", "json", t, payload, dets))
    return out


async def _push(url: str, msgs: list[Inbound], concurrency: int, batch: int = 1) -> int:
    journal = open_journal(url)
    delivered = 0

    async def deliver(items: Sequence[tuple[int, Any]]) -> None:
        nonlocal delivered
        delivered += len(items)

    ingest = JournalingIngest(journal, deliver)
    await ingest.start()
    per = math.ceil(len(msgs) / concurrency)

    async def adapter(chunk: list[Inbound]) -> None:
        for k in range(0, len(chunk), batch):
            await ingest.submit(chunk[k : k + batch])

    await asyncio.gather(*(adapter(msgs[i : i + per]) for i in range(0, len(msgs), per)))
    await ingest.stop()
    journal.close()
    return delivered


@pytest.mark.parametrize(("concurrency", "batch"), [(64, 1), (256, 1), (8, 25)])
def test_ingest_port_throughput_sqlite(
    benchmark: BenchmarkFixture, tmp_path: Path, concurrency: int, batch: int
) -> None:
    url = f"sqlite://{tmp_path}/ingest.sqlite"
    state = {"t": 1_700_000_000.0}

    def setup() -> tuple[tuple[str, list[Inbound], int, int], dict[str, Any]]:
        state["t"] += 10.0
        return (url, _messages(state["t"]), concurrency, batch), {}

    def run(u: str, msgs: list[Inbound], c: int, b: int) -> int:
        return asyncio.run(_push(u, msgs, c, b))

    benchmark.pedantic(run, setup=setup, rounds=5, iterations=1)
    rate = N / benchmark.stats.stats.median
    benchmark.extra_info["msgs_per_s_median"] = round(rate)
    print(f"\nadapters={concurrency} batch={batch}: median {rate:,.0f} msgs/s through the port")
    j = open_journal(url)
    assert j.verify().ok
    assert sum(1 for _ in j.read(kinds=["raw"])) == 5 * N
    j.close()
