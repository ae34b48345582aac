"""Where the live loop's scans come from: the built-in simulator, a skybench/1 file, or nothing.

A :class:`Feed` is a site plus a factory of *passes*: ``passes(k)`` yields the ``k``-th pass
of scans in time order, with times starting near 0 (scenario seconds). The live loop shifts
each pass onto the wall clock and plays them back to back, so a demo never runs dry; the
simulator uses seed ``seed + k`` for pass ``k`` so every pass differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from skywarden.core.site import Site, load_site
from skywarden.sensors.skybench import Scan, SkybenchReader
from skywarden.sim import load_scenario, simulate

DEFAULT_SCENARIO = "residence"


@dataclass(frozen=True)
class Feed:
    site: Site
    mode: str  # simulation | replay | live
    description: str
    passes: Callable[[int], Iterator[Scan]] | None = None
    pass_duration_s: float = 0.0


def simulated_feed(seed: int, scenario: str = DEFAULT_SCENARIO) -> Feed:
    """The built-in simulated site (default: the residence attack), repeated with new seeds."""
    sc = load_scenario(scenario)
    first = simulate(sc, seed)

    def passes(k: int) -> Iterator[Scan]:
        run = first if k == 0 else simulate(sc, seed + k)
        return run.scans()

    desc = f"simulated site {sc.name!r} (seed {seed}, {sc.duration_s:.0f} s, repeating)"
    return Feed(first.site, "simulation", desc, passes, sc.duration_s)


def skybench_feed(path: str | Path) -> Feed:
    """Replay a skybench/1 scenario file in real time, repeated."""
    reader = SkybenchReader.open(path)
    site = reader.site
    duration = float(reader.header.get("duration_s", 0.0))
    reader.close()

    def passes(k: int) -> Iterator[Scan]:
        r = SkybenchReader.open(path)
        try:
            yield from r
        finally:
            r.close()

    return Feed(site, "replay", f"skybench replay of {path}", passes, duration)


def site_feed(site_path: str | Path) -> Feed:
    """A real site from its TOML file: no simulated traffic (sensor adapters come later)."""
    site = load_site(site_path)
    return Feed(site, "live", f"site {site.name!r} from {site_path} (no sensor inputs wired)")
