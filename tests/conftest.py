"""Shared fixtures: where the shared benchmark and data live (skip clearly when absent)."""

from __future__ import annotations

from pathlib import Path

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
