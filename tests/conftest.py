"""Shared fixtures: where the shared benchmark and data live (skip clearly when absent)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
