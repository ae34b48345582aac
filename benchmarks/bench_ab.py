"""Old code against new code on one machine in one run: the honest way to measure a speed-up
on a shared VM, whose speed drifts by tens of percent within minutes.

Checks REV out into a worktree under the system temp directory, then alternates runs of the
two source trees (``PYTHONPATH`` pointing at each ``src``), each run a fresh process:

- ``--scenario FILE``: in-process ``track_file`` of a skybench/1 file, the best of 3 calls
  per process (start-up excluded, which is the same code on both sides); with ``--cpu`` the
  process's CPU time instead of wall time (less disturbed when other jobs load the machine);
- ``--site-step``: ``benchmarks/bench_site_step.py`` (a pooled site's worker CPU per report);
- ``--whole --scenario FILE``: the wall time of the whole ``skywarden track`` process
  (``python -m skywarden.cli.main track FILE -o ...``), start-up and exit included.

Both trees are byte-compiled first: with ``PYTHONDONTWRITEBYTECODE`` set (as here), a module
without an up-to-date ``.pyc`` is compiled again in every process, which would charge the
edited side tens of milliseconds that a fresh install never pays.

Prints the medians and the new/old ratio as JSON.

    .venv/bin/python benchmarks/bench_ab.py --old f990e87 --scenario FILE --repeat 7
    .venv/bin/python benchmarks/bench_ab.py --old f990e87 --site-step --repeat 5
    .venv/bin/python benchmarks/bench_ab.py --old e7a06fa --whole --scenario FILE --repeat 21
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACK = """import io, sys, time
from skywarden.runtime.offline.bench_io import track_file
clock = time.process_time if sys.argv[2] == "cpu" else time.perf_counter
best = float("inf")
for _ in range(3):
    t = clock()
    track_file(sys.argv[1], io.StringIO())
    best = min(best, clock() - t)
print(best)
"""


def worktree(rev: str) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"skywarden_ab_{sha}"
    if not path.exists():
        subprocess.run(
            ["git", "worktree", "add", "-q", "--detach", str(path), sha], cwd=ROOT, check=True
        )
    return path


def one_run(src: Path, a: argparse.Namespace) -> float:
    env = dict(os.environ, PYTHONPATH=str(src))
    if a.whole:
        out_file = Path(tempfile.gettempdir()) / "skywarden_ab_tracks.jsonl"
        cmd = [sys.executable, "-m", "skywarden.cli.main", "track", a.scenario, "-o", str(out_file)]
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        return time.perf_counter() - t0
    if a.site_step:
        cmd = [sys.executable, str(ROOT / "benchmarks/bench_site_step.py")]
    else:
        cmd = [sys.executable, "-c", TRACK, a.scenario, "cpu" if a.cpu else "wall"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    last = out.strip().splitlines()[-1]
    return float(json.loads(last)["cpu_ms_per_report"]) if a.site_step else float(last)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="git revision to compare against")
    ap.add_argument("--scenario", help="skybench/1 scenario file to track")
    ap.add_argument("--site-step", action="store_true", help="bench_site_step instead")
    ap.add_argument("--whole", action="store_true", help="whole-process wall time of track")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--cpu", action="store_true", help="process CPU time of track_file, not wall time"
    )
    a = ap.parse_args()
    if not a.site_step and not a.scenario:
        ap.error("give --scenario FILE or --site-step")
    sides = {"old": worktree(a.old) / "src", "new": ROOT / "src"}
    for src in sides.values():
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
    res: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(a.repeat):
        for side, src in sides.items():
            res[side].append(one_run(src, a))
    med = {k: statistics.median(v) for k, v in res.items()}
    what = "cpu_ms_per_report" if a.site_step else ("process_s" if a.whole else "track_s")
    what += "_cpu" if a.cpu and not (a.site_step or a.whole) else ""
    print(
        json.dumps(
            {
                "measure": what,
                "old": a.old,
                "runs": {k: [round(x, 4) for x in v] for k, v in res.items()},
                "median_old": round(med["old"], 4),
                "median_new": round(med["new"], 4),
                "ratio_new_over_old": round(med["new"] / med["old"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
