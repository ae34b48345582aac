"""The project's own GOSPA agrees with the referee's score.py on real tracker output."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import referee_score
from skywarden.runtime.offline.metrics import evaluate
from support.bench_tracks import BenchTracks


@pytest.mark.parametrize("name", ["plots2d_N10_C50", "radar3d_site"])
def test_own_gospa_matches_score_py(bench_dir: Path, bench_tracks: BenchTracks, name: str) -> None:
    out = bench_tracks(name).path  # the default pipeline's tracks, shared with other files
    scen, truth = bench_dir / f"{name}.scenario.jsonl", bench_dir / f"{name}.truth.jsonl"
    ref = referee_score(bench_dir, scen, truth, out)
    own = evaluate(scen, truth, out)
    assert own.gospa == pytest.approx(ref["gospa_mean"], rel=1e-9)
    assert own.loc == pytest.approx(ref["gospa_loc"], rel=1e-9)
    assert own.missed == pytest.approx(ref["gospa_missed"])
    assert own.false == pytest.approx(ref["gospa_false"])
    assert own.id_switches == ref["id_switches"]
