"""``skywarden bench``: every public scenario tracked, timed and scored, written to BENCH.md.

Wall time is the whole ``skywarden track`` process (start-up and import included), the median
of ``repeat`` runs; GOSPA by the project's own metrics (``runtime.offline.metrics``). With
``--compare stonesoup`` the referee's Stone Soup baseline script runs on the same files in the
same session, when the ``stonesoup`` extra is installed, and the ratios are reported.

Fairness: the two trackers' runs alternate (skywarden, Stone Soup, skywarden, ...), so a
machine whose speed drifts during the session (a shared virtual machine's does, by a factor
of two within minutes here) slows both alike; and skywarden's bytecode is compiled first, as
pip compiles Stone Soup's at install (an editable checkout under PYTHONDONTWRITEBYTECODE would
otherwise recompile its modules on every start).
"""

from __future__ import annotations

import compileall
import importlib.util
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from skywarden.runtime.offline.metrics import GospaResult, evaluate

PUBLIC = [
    "plots2d_N10_C10",
    "plots2d_N10_C50",
    "plots2d_N50_C50",
    "radar3d_site",
    "multisensor_attack",
    "birds_night",
    "stress_N1000_C5000",
]
STONESOUP_OK = {"plots2d_N10_C10", "plots2d_N10_C50", "plots2d_N50_C50", "radar3d_site"}


@dataclass(frozen=True)
class BenchRow:
    name: str
    tracker: str
    wall_s: float
    result: GospaResult


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def _command(bench: Path, name: str, out: Path, tracker: str) -> list[str]:
    scen = str(bench / f"{name}.scenario.jsonl")
    if tracker == "skywarden":
        return [sys.executable, "-m", "skywarden.cli.main", "track", scen, "-o", str(out)]
    q = ["--q", "3"] if name == "radar3d_site" else []
    return [sys.executable, str(bench / "stonesoup_baseline.py"), scen, str(out), *q]


def run_trackers(
    bench: Path, name: str, out_dir: Path, trackers: list[str], repeat: int = 1
) -> list[BenchRow]:
    """Each tracker ``repeat`` times on one file, runs interleaved; median wall per tracker."""
    outs = {tr: out_dir / f"{name}.{tr}.tracks.jsonl" for tr in trackers}
    walls: dict[str, list[float]] = {tr: [] for tr in trackers}
    for _ in range(max(repeat, 1)):
        for tr in trackers:
            walls[tr].append(_timed(_command(bench, name, outs[tr], tr)))
    scen, truth = bench / f"{name}.scenario.jsonl", bench / f"{name}.truth.jsonl"
    return [
        BenchRow(name, tr, statistics.median(walls[tr]), evaluate(scen, truth, outs[tr]))
        for tr in trackers
    ]


def run_one(bench: Path, name: str, out_dir: Path, tracker: str, repeat: int = 1) -> BenchRow:
    return run_trackers(bench, name, out_dir, [tracker], repeat)[0]


def render(rows: list[BenchRow]) -> str:
    lines = [
        "| scenario | tracker | wall s | GOSPA | loc | missed | false | id switches |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        g = r.result
        lines.append(
            f"| {r.name} | {r.tracker} | {r.wall_s:.2f} | {g.gospa:.1f} | {g.loc:.1f} "
            f"| {g.missed:.1f} | {g.false:.1f} | {g.id_switches} |"
        )
    by = {(r.name, r.tracker): r for r in rows}
    ratios = []
    for name in sorted({r.name for r in rows}):
        a, b = by.get((name, "skywarden")), by.get((name, "stonesoup"))
        if a and b and b.result.gospa > 0:
            ratios.append(
                f"| {name} | {a.result.gospa / b.result.gospa:.2f} | {b.wall_s / a.wall_s:.1f} |"
            )
    if ratios:
        lines += [
            "",
            "| scenario | GOSPA ratio (skywarden / Stone Soup) | speed-up (median wall) |",
            "| --- | --- | --- |",
            *ratios,
        ]
        plots = [
            by[(n, "skywarden")].result.gospa / by[(n, "stonesoup")].result.gospa
            for n in sorted({r.name for r in rows})
            if n.startswith("plots2d") and (n, "stonesoup") in by
        ]
        if plots:
            lines.append(
                f"\nMean GOSPA ratio over {len(plots)} plots2d files: {sum(plots) / len(plots):.3f}"
            )
    return "\n".join(lines) + "\n"


def main(
    bench: Path,
    out_dir: Path,
    names: list[str],
    compare: str | None,
    md_path: Path | None,
    repeat: int = 1,
) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    compileall.compile_dir(Path(__file__).resolve().parents[1], quiet=1)
    if compare == "stonesoup" and importlib.util.find_spec("stonesoup") is None:
        raise SystemExit("--compare stonesoup needs: pip install -e '.[stonesoup]'")
    rows = []
    for name in names:
        trackers = ["skywarden"]
        if compare == "stonesoup" and name in STONESOUP_OK:
            trackers.append("stonesoup")
        rows += run_trackers(bench, name, out_dir, trackers, repeat)
    text = render(rows)
    text += (
        f"\nWall times: median of {max(repeat, 1)} run(s) each, same session, the trackers' "
        "runs alternating.\n"
    )
    if md_path is not None:
        md_path.write_text(
            "# Benchmark\n\nWritten by `skywarden bench`; GOSPA by "
            "`skywarden.runtime.offline.metrics` (cross-checked against score.py).\n\n" + text
        )
    return text
