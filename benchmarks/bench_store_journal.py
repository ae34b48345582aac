"""SQLite journal throughput: raw messages/s appended durably, by batch size.

Run: ``.venv/bin/python -m pytest benchmarks/bench_store_journal.py --benchmark-enable``.
Each round appends one batch in one transaction (one WAL fsync with synchronous=FULL);
messages/s = batch / time per round, printed in ``extra_info`` and at the end. Target: 5,000/s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from skywarden.store.journal import open_journal
from skywarden.store.records import RawMessage


def _messages(n: int, t0: float) -> list[RawMessage]:
    out = []
    for i in range(n):
        dets = [
            {"range_m": 812.5 + k, "az_rad": 1.234, "el_rad": 0.05, "radial_mps": -3.2 + k}
            for k in range(3)
        ]
        line = {"type": "detections", "t": t0 + i * 0.001, "sensor": "radar-1", "detections": dets}
        payload = json.dumps(line).encode()
        out.append(RawMessage(t0 + i * 0.001, "radar-1", "skybench/1", payload, line))
    return out


@pytest.mark.parametrize(
    ("batch", "sync"), [(1, "FULL"), (100, "FULL"), (500, "FULL"), (500, "NORMAL")]
)
def test_sqlite_append_throughput(
    benchmark: BenchmarkFixture, tmp_path: Path, batch: int, sync: str
) -> None:
    j = open_journal(f"sqlite://{tmp_path}/bench.sqlite?synchronous={sync}")
    state = {"t": 0.0}

    def setup() -> tuple[tuple[list[RawMessage]], dict[str, object]]:
        state["t"] += 1.0
        return (_messages(batch, state["t"]),), {}

    benchmark.pedantic(j.append_many, setup=setup, rounds=max(20, 2000 // batch), iterations=1)
    rate = batch / benchmark.stats.stats.median
    benchmark.extra_info["msgs_per_s_median"] = round(rate)
    print(f"\nbatch={batch} synchronous={sync}: median {rate:,.0f} msgs/s")
    assert j.verify().ok
    j.close()
