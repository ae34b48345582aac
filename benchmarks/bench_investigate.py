"""Live against retrospective (``skywarden investigate``) on night_launch: public file and seeds.

    .venv/bin/python benchmarks/bench_investigate.py [--seeds 1 2 ...] [--work /tmp/nl]

Other seeds come from ``benchmarks/gen_night_launch.py`` (the one generator, ``sim.families``:
the public header, geometry drawn from the seed; H0 and H1 take off inside radar coverage,
H2 beyond it). Prints one line per file (GOSPA, launch error per hostile drone live and
retrospective, first tracked time) and the medians: launch error inside coverage (live and
retrospective) and beyond it (retrospective), GOSPA.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path("/work/shared/bench")
ROOT = Path(__file__).resolve().parents[1]
SW = str(ROOT / ".venv" / "bin" / "skywarden")


def score(scen: Path, tracks: Path) -> dict[str, object]:
    truth = str(scen).replace(".scenario.", ".truth.")
    out = subprocess.run(
        [sys.executable, str(BENCH / "score.py"), str(scen), truth, str(tracks)],
        capture_output=True,
        text=True,
        check=True,
    )
    res: dict[str, object] = json.loads(out.stdout)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=list(range(1, 21)))
    ap.add_argument("--work", default="/tmp/nl_bench")
    ap.add_argument("--no-public", action="store_true", help="generated seeds only")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    public = BENCH / "night_launch.scenario.jsonl"
    files = [] if a.no_public else [public]
    for s in a.seeds:
        scen = work / f"nl{s}.scenario.jsonl"
        if not scen.exists():
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "benchmarks" / "gen_night_launch.py"),
                    str(public),
                    "--seed",
                    str(s),
                    "--out",
                    str(work / f"nl{s}"),
                ],
                check=True,
                capture_output=True,
            )
        files.append(scen)
    inside, beyond, g_live, g_retro, earlier, total = [], [], [], [], 0, 0
    live_inside: list[float | None] = []
    for scen in files:
        live, retro = work / (scen.stem + ".live.jsonl"), work / (scen.stem + ".retro.jsonl")
        subprocess.run([SW, "track", str(scen), "-o", str(live)], check=True, capture_output=True)
        subprocess.run(
            [
                SW,
                "investigate",
                str(scen),
                "-o",
                str(retro),
                "--record",
                str(work / (scen.stem + ".inv.json")),
            ],
            check=True,
            capture_output=True,
        )
        sl, sr = score(scen, live), score(scen, retro)
        err, ft, fl = sr["launch_error_m"], sr["first_tracked_t"], sl["first_tracked_t"]
        assert isinstance(err, dict) and isinstance(ft, dict) and isinstance(fl, dict)
        inside += [err["H0"], err["H1"]]
        el = sl["launch_error_m"]
        assert isinstance(el, dict)
        live_inside += [el.get("H0"), el.get("H1")]
        beyond.append(err["H2"])
        g_live.append(float(sl["gospa_mean"]))  # type: ignore[arg-type]
        g_retro.append(float(sr["gospa_mean"]))  # type: ignore[arg-type]
        for h in ("H0", "H1", "H2"):
            total += 1
            earlier += int(ft[h] is not None and (fl[h] is None or ft[h] < fl[h]))
        print(
            f"{scen.name}: gospa live {g_live[-1]:.1f} retro {g_retro[-1]:.1f}; launch retro "
            f"{err} live {el}; first tracked retro {ft} live {fl}",
            flush=True,
        )
    big = 1e9
    med = statistics.median
    print(
        f"live launch error inside coverage: median {med([e or big for e in live_inside]):.1f} m "
        f"({sum(e is not None and e < 300 for e in live_inside)}/{len(live_inside)} under 300 m)"
    )
    print(
        f"launch error inside coverage: median {med([e or big for e in inside]):.1f} m "
        f"({sum(e is not None and e < 150 for e in inside)}/{len(inside)} under 150 m)"
    )
    print(
        f"launch error beyond coverage: median {med([e or big for e in beyond]):.1f} m "
        f"({sum(e is not None and e < 600 for e in beyond)}/{len(beyond)} under 600 m)"
    )
    print(f"first tracked earlier than live: {earlier}/{total}")
    print(
        f"GOSPA median live {med(g_live):.1f} retro {med(g_retro):.1f}; retro lower in "
        f"{sum(r < x for r, x in zip(g_retro, g_live, strict=True))}/{len(files)} files"
    )


if __name__ == "__main__":
    main()
