"""Why one drone is first tracked later by the investigation than live: second by second.

    python benchmarks/trace_first_tracked.py NL.scenario.jsonl NL.live.jsonl NL.retro.jsonl \
        --id H2 --from 55 --to 110

For each truth time of the object: its position, ground speed and climb rate, and for the
live and the retrospective output the nearest confirmed track (score.py's lookup: the latest
snapshot at most 1.5 s old, carried by its velocity) with its 3-D, horizontal and vertical
error and its id. ``first_tracked_t`` (score.py) is the first time any confirmed track is
within c = 100 m (3-D); the table shows whether a late one is horizontal (the bearing-only
stretch's range) or vertical (height, which a direction finder does not measure), and whether
the live pass within c is one second or a stretch. Written for issue 21 (session 12, H2 of
night-launch seeds 15, 17, 32, 34): see docs/investigation.md.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
from pathlib import Path
from typing import Any

C_M = 100.0  # score.py's cutoff c


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Output:
    """One tracks.jsonl, looked up as score.py does."""

    def __init__(self, path: Path) -> None:
        self.snaps = sorted((s for s in _rows(path) if "tracks" in s), key=lambda s: s["t"])
        self.times = [s["t"] for s in self.snaps]

    def nearest(self, r: dict[str, Any]) -> tuple[float, float, float, str] | None:
        """(3-D, horizontal, vertical error, track id) of the nearest confirmed track."""
        k = bisect.bisect_right(self.times, r["t"] + 1e-6) - 1
        if k < 0 or r["t"] - self.times[k] > 1.5:
            return None
        dt = r["t"] - self.times[k]
        best: tuple[float, float, float, str] | None = None
        for tr in self.snaps[k]["tracks"]:
            if tr.get("confirmed", True) is False:
                continue
            e = tr["x"] + tr.get("vx", 0.0) * dt - r["x"]
            n = tr["y"] + tr.get("vy", 0.0) * dt - r["y"]
            u = tr.get("z", 0.0) + tr.get("vz", 0.0) * dt - r["z"]
            d = math.sqrt(e * e + n * n + u * u)
            if best is None or d < best[0]:
                best = (d, math.hypot(e, n), u, str(tr["id"]))
        return best


def _cell(b: tuple[float, float, float, str] | None) -> str:
    if b is None:
        return f"{'none':>27}"
    mark = "*" if b[0] < C_M else " "
    return f"{b[0]:6.0f}{mark} h {b[1]:5.0f} v {b[2]:5.0f} {b[3]:>5}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", type=Path)
    ap.add_argument("live", type=Path)
    ap.add_argument("retro", type=Path)
    ap.add_argument("--id", default="H2")
    ap.add_argument("--from", dest="t0", type=float, default=-math.inf)
    ap.add_argument("--to", dest="t1", type=float, default=math.inf)
    a = ap.parse_args()
    truth_path = Path(str(a.scenario).replace(".scenario.", ".truth."))
    truth = sorted((r for r in _rows(truth_path) if r.get("id") == a.id), key=lambda r: r["t"])
    live, retro = Output(a.live), Output(a.retro)
    print(f"{'t':>6} {'truth e, n, u (m)':>22} {'v':>5} {'vu':>5} | {'live':^27} | {'retro':^27}")
    first: dict[str, float | None] = {"live": None, "retro": None}
    for r in truth:
        bl, br = live.nearest(r), retro.nearest(r)
        for name, b in (("live", bl), ("retro", br)):
            if first[name] is None and b is not None and b[0] < C_M:
                first[name] = r["t"]
        if not a.t0 <= r["t"] <= a.t1:
            continue
        speed = math.hypot(r.get("vx", 0.0), r.get("vy", 0.0))
        print(
            f"{r['t']:6.1f} ({r['x']:7.0f},{r['y']:7.0f},{r['z']:5.0f}) {speed:5.1f} "
            f"{r.get('vz', 0.0):5.1f} | {_cell(bl)} | {_cell(br)}"
        )
    print(f"first within {C_M:.0f} m: live {first['live']}, retro {first['retro']}")


if __name__ == "__main__":
    main()
