"""The site simulator: objects, sensor models, scenario files; skybench/1 and wire output.

Entry points::

    from skywarden.sim import load_scenario, simulate, write_skybench, library_names
    sc = load_scenario("residence")          # a library name or a YAML/TOML file
    run = simulate(sc, seed=7)
    run.header, run.site                     # skybench/1 header, core.site.Site
    for scan in run.scans(): ...             # sensors.skybench.Scan, time order
    for line in run.lines(): ...             # raw skybench/1 lines (dicts)
    for row in run.truth(): ...              # truth rows
    write_skybench(run, "out/")              # (scenario_path, truth_path)
"""

from skywarden.sim.run import SimRun, report_to_scan, simulate, write_skybench
from skywarden.sim.scenario import SimScenario, library_names, load_scenario, parse_scenario
from skywarden.sim.sensors import Report

__all__ = [
    "Report",
    "SimRun",
    "SimScenario",
    "library_names",
    "load_scenario",
    "parse_scenario",
    "report_to_scan",
    "simulate",
    "write_skybench",
]
