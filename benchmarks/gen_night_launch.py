"""Other seeds of the ``night_launch`` family, to score ``skywarden investigate`` and the live
launch estimate off the public file: a thin front over ``sim.families`` (the one generator).

The public scenario's header gives the site (origin, sensors with their data-sheet values,
zones, whitelist); the seed draws the night (``sim.families._launches``): three hostile
drones taking off from the ground, two inside radar coverage and one beyond it, remotely
piloted and heard by the RF direction finders from take-off; twenty birds; the site's own
drone patrolling with Remote ID and its own control link. The simulator (``sim.run``) makes
the sensor reports; truth carries each hostile drone's ``launch_enu_m``.

    python benchmarks/gen_night_launch.py ../shared/bench/night_launch.scenario.jsonl \\
        --seed 7 --out /tmp/nl7     # -> /tmp/nl7.scenario.jsonl, /tmp/nl7.truth.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from skywarden.sim.families import family_scenario
from skywarden.sim.run import simulate, write_skybench
from skywarden.sim.scenario import parse_scenario


def generate(header: dict[str, Any], seed: int, out: Path) -> tuple[Path, Path]:
    """Write ``OUT.scenario.jsonl`` and ``OUT.truth.jsonl`` of ``seed``; return their paths."""
    sc = family_scenario("night_launch", seed, site=header)
    run = simulate(parse_scenario(sc, source=f"night_launch seed {seed}"), seed)
    return write_skybench(run, out.parent, out.name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("public", help="the public night_launch.scenario.jsonl (its header)")
    ap.add_argument("--seed", type=int, nargs="+", required=True)
    ap.add_argument("--out", required=True, help="output prefix (with several seeds: + seed)")
    a = ap.parse_args()
    with open(a.public, encoding="utf-8") as f:
        header = json.loads(f.readline())
    for s in a.seed:
        out = Path(a.out + (str(s) if len(a.seed) > 1 else ""))
        print(*generate(header, s, out))


if __name__ == "__main__":
    main()
