"""Shared fixtures: where the shared benchmark and data live (skip clearly when absent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# One BLAS thread per test process, set before anything imports numpy (no plugin does) and
# inherited by the `skywarden` processes the tests start. `make test` runs two xdist workers
# on two cores; OpenBLAS's default of a thread per core gave each worker two threads that
# spin while they wait for a core: test_nodes_acoustic (audio features, small
# scikit-learn fits) took 304 CPU s against 55 s on one thread, on a loaded machine (session
# 16, docs/DEVELOPING.md). A variable already set wins, so a run can still ask for threads.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
BLAS_THREADS_ASKED = {v: os.environ[v] for v in BLAS_THREAD_VARS if v in os.environ}
for _var in BLAS_THREAD_VARS:
    os.environ.setdefault(_var, "1")

if TYPE_CHECKING:
    from support.bench_tracks import BenchTracks

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BENCH = SHARED / "bench"
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    if not (BENCH / "score.py").exists():
        pytest.skip(f"benchmark files not found at {BENCH} (../shared/bench)")
    return BENCH


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.exists():
        pytest.skip(f"shared data not found at {DATA} (../shared/data)")
    return DATA


@pytest.fixture(scope="session")
def bench_tracks(
    bench_dir: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> BenchTracks:
    """``bench_tracks(name)``: the default pipeline's tracks of a public scenario, tracked
    once per run and shared by every file and xdist worker (``support.bench_tracks``)."""
    from support.bench_tracks import BenchTracks

    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # gw0, gw1 share the parent
    return BenchTracks(bench_dir, shared / "bench_tracks")


def referee_score(bench: Path, scenario: Path, truth: Path, tracks: Path) -> dict[str, Any]:
    """The referee's own verdict: ``score.py`` run as a separate process, its JSON parsed."""
    out = subprocess.run(
        [sys.executable, str(bench / "score.py"), str(scenario), str(truth), str(tracks)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result
