"""Offline tracking of a skybench/1 scenario into ``tracks.jsonl`` (FORMAT.md), and back.

This is the benchmark path and the simplest end-to-end path through the stages: the file's
scans go into the same :class:`~skywarden.runtime.engine.engine.Engine` as the live service's
messages, one tick per distinct scan time, driven by the file's own times instead of a
clock. A scan time earlier than one already stepped is refused and counted
(``machine.rejected.too_late``), as live; skybench files are in time order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, TextIO

from skywarden.core.counters import Counters
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Frame, PipelineConfig
from skywarden.sensors.skybench import Scan, SkybenchReader

if TYPE_CHECKING:
    from pathlib import Path  # a type only: pathlib costs ~3 ms to import at start-up


@dataclass(frozen=True)
class TrackRunResult:
    """What tracking one scenario file produced, with the counters of every stage."""

    scans: int
    snapshots: int
    alerts: int
    rejected_lines: int
    counters: dict[str, int]


def scans_by_time(reader: SkybenchReader) -> Iterator[tuple[float, list[Scan]]]:
    for t, group in groupby(reader, key=lambda s: s.t):
        yield t, list(group)


def engine_steps(
    reader: SkybenchReader, engine: Engine
) -> Iterator[tuple[float, list[Scan], list[Frame]]]:
    """The file stepped through ``engine``: per scan time, its scans fed, then (t, scans, the
    tick's frames); the engine's events are drained after each step (an offline run has no
    follower: ``track_file`` writes them as the frames' alert lines)."""
    for t, scans in scans_by_time(reader):
        for s in scans:
            engine.scan(s)
        yield t, scans, engine.tick(t)
        engine.drain_events()


def track_file(
    scenario: str | Path, out: TextIO, config: PipelineConfig | None = None
) -> TrackRunResult:
    """Track every scan of ``scenario`` and write snapshot and alert lines to ``out``."""
    # one encoder for the whole file: json.dumps with separators builds a new one per call
    encode = json.JSONEncoder(separators=(",", ":")).encode
    reader = SkybenchReader.open(scenario)
    engine = Engine(reader.site, config, records=False)
    n_scans = n_snap = n_alerts = 0
    try:
        for _, scans, frames in engine_steps(reader, engine):
            n_scans += len(scans)
            for frame in frames:
                for a in frame.alert_lines:
                    out.write(encode(a) + "\n")
                    n_alerts += 1
                out.write(encode(frame.snapshot_line()) + "\n")
                n_snap += 1
    finally:
        reader.close()
    c = Counters()
    for k, v in reader.counters.snapshot().items():
        c.inc(f"reader.{k}", v)
    for k, v in engine.pipeline.stats().items():
        c.inc(k, v)
    return TrackRunResult(n_scans, n_snap, n_alerts, len(reader.rejected), c.snapshot())
