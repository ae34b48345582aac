"""``skywarden bench``: every public scenario tracked, timed and scored, written to BENCH.md.

Wall time is the whole ``skywarden track`` process (start-up and import included), the median
of ``repeat`` runs; GOSPA by the project's own metrics (``runtime.metrics``). With
``--compare stonesoup`` the referee's Stone Soup baseline script runs on the same files in the
same session, when the ``stonesoup`` extra is installed, and the ratios are reported.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from skywarden.runtime.metrics import GospaResult, evaluate

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


def run_one(bench: Path, name: str, out_dir: Path, tracker: str, repeat: int = 1) -> BenchRow:
    scen = bench / f"{name}.scenario.jsonl"
    out = out_dir / f"{name}.{tracker}.tracks.jsonl"
    if tracker == "skywarden":
        cmd = [sys.executable, "-m", "skywarden.cli.main", "track", str(scen), "-o", str(out)]
    else:
        q = ["--q", "3"] if name == "radar3d_site" else []
        cmd = [sys.executable, str(bench / "stonesoup_baseline.py"), str(scen), str(out), *q]
    wall = statistics.median(_timed(cmd) for _ in range(max(repeat, 1)))
    return BenchRow(name, tracker, wall, evaluate(scen, bench / f"{name}.truth.jsonl", out))


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
    rows = []
    for name in names:
        rows.append(run_one(bench, name, out_dir, "skywarden", repeat))
        if compare == "stonesoup" and name in STONESOUP_OK:
            if importlib.util.find_spec("stonesoup") is None:
                raise SystemExit("--compare stonesoup needs: pip install -e '.[stonesoup]'")
            rows.append(run_one(bench, name, out_dir, "stonesoup", repeat))
    text = render(rows)
    text += f"\nWall times: median of {max(repeat, 1)} run(s) each, same session.\n"
    if md_path is not None:
        md_path.write_text(
            "# Benchmark\n\nWritten by `skywarden bench`; GOSPA by "
            "`skywarden.runtime.metrics` (cross-checked against score.py).\n\n" + text
        )
    return text
