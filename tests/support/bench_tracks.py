"""The tracker's output on a public benchmark file, computed once per pytest run.

Several test files track the same public scenario with the default pipeline
(``radar3d_site`` and ``plots2d_N10_C50`` in the referee and GOSPA tests, ``night_launch`` in
the investigation and launch-point tests); each run took 5-25 s of a worker. ``BenchTracks``
keeps one ``tracks.jsonl`` per scenario in a directory every xdist worker of the run shares
(pytest's base temporary directory's parent, fresh for each run, so a cached file is always
the output of the code under test), and an exclusive ``flock`` per scenario makes a second
worker wait for the first worker's file instead of tracking the scenario again.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from skywarden.runtime.offline.bench_io import TrackRunResult, track_file


@dataclass(frozen=True)
class Tracked:
    """One scenario's ``tracks.jsonl`` (read only: tests share it) and the run's result."""

    path: Path
    result: TrackRunResult


class BenchTracks:
    """``track_file`` of ``<bench>/<name>.scenario.jsonl`` with the default pipeline, once."""

    def __init__(self, bench: Path, cache: Path) -> None:
        self._bench = bench
        self._cache = cache
        cache.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Tracked:
        path = self._cache / f"{name}.tracks.jsonl"
        meta = self._cache / f"{name}.result.pickle"
        with (self._cache / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not meta.exists():
                part = path.with_suffix(".part")
                with part.open("w", encoding="utf-8") as out:
                    result = track_file(self._bench / f"{name}.scenario.jsonl", out)
                os.replace(part, path)
                meta.write_bytes(pickle.dumps(result))  # last: it marks the file complete
            result = pickle.loads(meta.read_bytes())
        assert isinstance(result, TrackRunResult)
        return Tracked(path, result)
