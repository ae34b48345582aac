"""Other seeds of ``night_launch`` for the live launch estimate (``skywarden track``): the same
generator as ``gen_night_launch.py`` (``sim.families``), files named ``night_launch_sSEED``.

usage: gen_night_launch_live.py PUBLIC.scenario.jsonl OUT_DIR --seeds 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_night_launch import generate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("public")
    ap.add_argument("out_dir")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    a = ap.parse_args()
    with open(a.public, encoding="utf-8") as f:
        header = json.loads(f.readline())
    for seed in a.seeds:
        print(*generate(header, seed, Path(a.out_dir) / f"night_launch_s{seed}"))


if __name__ == "__main__":
    main()
