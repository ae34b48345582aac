"""Warning bars on benchmark families drawn from other seeds (issue 19).

For every family and seed: ``skywarden simulate family:NAME --seed N`` (or ``harder:NAME``),
``skywarden track``, then the referee ``score.py``; prints one row per file with the warning
share of each hostile drone (warning_s / warning_limit_s), false-alert tracks and class
accuracy, and whether the bars hold (>= 80 % of the limit, 0 false-alert tracks (or <= 1
per simulated hour with ``--harder``), class accuracy >= 0.9).

    .venv/bin/python benchmarks/bench_families.py --seeds 1-5 [--harder] [--public] [--work DIR]

``--work DIR`` keeps every file there (scenario, truth, tracks and the referee's JSON as
``NAME.score.json``) so a failing file can be traced (``benchmarks/trace_warning.py``); a
file whose score is already there is not simulated or tracked again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"  # ../shared beside the repo
FAMILIES = ("radar3d_site", "multisensor_attack", "birds_night", "night_launch")


def _run(exe: Path, scen: Path, truth: Path, score: Path, work: Path) -> dict[str, object]:
    kept = work / (scen.name.removesuffix(".scenario.jsonl") + ".score.json")
    if kept.exists():
        return dict(json.loads(kept.read_text()))
    out = work / (scen.name + ".tracks.jsonl")
    subprocess.run(
        [str(exe), "track", str(scen), "-o", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    res = subprocess.run(
        [sys.executable, str(score), str(scen), str(truth), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    kept.write_text(res.stdout)
    return dict(json.loads(res.stdout))


def _row(name: str, r: dict[str, object], duration_s: float, harder: bool) -> tuple[str, bool, int]:
    warn = r.get("warning_s") or {}
    lim = r.get("warning_limit_s") or {}
    assert isinstance(warn, dict) and isinstance(lim, dict)
    parts, ok = [], True
    for k in sorted(lim):
        w, lv = warn.get(k), lim[k]
        share = (w or 0.0) / lv if lv else 1.0
        ok &= w is not None and share >= 0.8
        parts.append(f"{k}:{w}/{lv}")
    fa = int(r["false_alert_tracks"])  # type: ignore[call-overload]
    ok &= fa <= (duration_s / 3600.0 if harder else 0)
    acc = r.get("class_accuracy")
    ok &= acc is None or float(acc) >= 0.9  # type: ignore[arg-type]
    acc_s = "-" if acc is None else f"{float(acc):.3f}"  # type: ignore[arg-type]
    row = f"| {name} | {' '.join(parts) or '-'} | {fa} | {acc_s} | {'yes' if ok else 'NO'} |"
    return row, ok, fa


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1-5")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--harder", action="store_true")
    ap.add_argument("--public", action="store_true", help="also the public files")
    ap.add_argument("--bench", default=str(BENCH))
    ap.add_argument("--work", help="keep the files here (default: a temporary directory)")
    a = ap.parse_args()
    lo, _, hi = a.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1)
    exe = Path(sys.executable).parent / "skywarden"
    bench = Path(a.bench)
    score = bench / "score.py"
    print("| file | warning_s / limit per hostile drone | false-alert tracks | class acc | bars |")
    print("| --- | --- | --- | --- | --- |")
    n_ok = n = n_false = 0
    hours = 0.0
    if a.work:
        Path(a.work).mkdir(parents=True, exist_ok=True)
    with nullcontext(a.work) if a.work else tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for fam in a.families.split(","):
            files = []
            if a.public:
                files.append((fam, bench / f"{fam}.scenario.jsonl", bench / f"{fam}.truth.jsonl"))
            for s in seeds:
                spec = f"{'harder' if a.harder else 'family'}:{fam}"
                nm = f"{fam}{'_harder' if a.harder else ''}_s{s}"
                if not (work / f"{nm}.score.json").exists():
                    subprocess.run(
                        [str(exe), "simulate", spec, "--seed", str(s), "--out", tmp],
                        check=True,
                        stdout=subprocess.DEVNULL,
                    )
                files.append((nm, work / f"{nm}.scenario.jsonl", work / f"{nm}.truth.jsonl"))
            for nm, scen, truth in files:
                with scen.open() as f:
                    dur = float(json.loads(f.readline())["duration_s"])
                line, ok, fa = _row(nm, _run(exe, scen, truth, score, work), dur, a.harder)
                print(line, flush=True)
                n += 1
                n_ok += ok
                n_false += fa
                hours += dur / 3600.0
    print(f"\n{n_ok}/{n} files meet the bars (per file; --harder: 0 false-alert tracks in a file")
    print(f"shorter than an hour); {n_false} false-alert tracks in {hours:.2f} h simulated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
