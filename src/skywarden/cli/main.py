"""``skywarden`` command line: parse arguments, call the runtime, print results. No logic here."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from skywarden.cli.cluster import add_cluster_commands

if TYPE_CHECKING:
    from skywarden.runtime.config_file import RunSettings
    from skywarden.runtime.live.retention import RetentionConfig


def _cmd_track(a: argparse.Namespace) -> int:
    from skywarden.runtime.engine.pipeline import PipelineConfig
    from skywarden.runtime.offline.bench_io import track_file
    from skywarden.tracking.tracker import TrackerConfig

    cfg = PipelineConfig(tracker=TrackerConfig(association=a.association))
    with open(a.output, "w", encoding="utf-8") as out:
        res = track_file(a.scenario, out, cfg)
    print(
        json.dumps(
            {
                "scans": res.scans,
                "snapshots": res.snapshots,
                "alerts": res.alerts,
                "rejected_lines": res.rejected_lines,
            }
        ),
        file=sys.stderr,
    )
    return 0


def _cmd_run(a: argparse.Namespace) -> int:
    """Flags over ``--config FILE`` (skywarden.toml) over the defaults."""
    from skywarden.runtime.config_file import SkywardenConfig, load_config
    from skywarden.runtime.live.run import serve

    cfg = load_config(a.config) if a.config else SkywardenConfig()
    run, svc = cfg.run, dict(cfg.service)

    def pick(flag: Any, key: str) -> Any:
        return flag if flag is not None else getattr(run, key)

    def web(flag: Any, key: str, default: Any) -> Any:
        return flag if flag is not None else svc.pop(key, default)

    return serve(
        site_path=a.site,
        host=web(a.host, "host", "127.0.0.1"),
        port=web(a.port, "port", 8080),
        speed=pick(a.speed, "speed"),
        seed=pick(a.seed, "seed"),
        journal_url=pick(a.journal, "journal"),
        restore_window_s=pick(a.restore_window, "restore_window_s"),
        snapshot_s=pick(a.snapshot_every, "snapshot_every_s"),
        outputs_path=a.outputs,
        retention=_retention(a, run),
        tick_s=pick(a.tick, "tick_s"),
        lag_s=pick(a.lag, "lag_s"),
        basemap=web(a.basemap, "basemap", None),
        dem=web(a.dem, "dem", None),
        config=dataclasses.replace(cfg, service=svc) if a.config else None,
    )


def _retention(a: argparse.Namespace, run: RunSettings) -> RetentionConfig | None:
    """None unless a limit was asked for: by default the journal keeps everything."""
    from skywarden.runtime.live.retention import RetentionConfig
    from skywarden.store.journal import RetentionPolicy

    days = a.retention_days if a.retention_days is not None else run.retention_days
    gb = a.retention_gb if a.retention_gb is not None else run.retention_gb
    every = a.retention_every if a.retention_every is not None else run.retention_every_s
    if days is None and gb is None:
        return None
    policy = RetentionPolicy(
        max_age_s=None if days is None else days * 86400.0,
        max_bytes=None if gb is None else int(gb * 1e9),
        floor_s=3600.0,
    )
    return RetentionConfig(policy, every_s=every)


def _cmd_check(a: argparse.Namespace) -> int:
    """Load each file as skywarden would; exit 2 at the first error (path and nearest key)."""
    from skywarden.runtime.config_file import check_file

    for path in a.files:
        print(check_file(path, a.kind))
    return 0


def _cmd_replay(a: argparse.Namespace) -> int:
    from skywarden.runtime.offline.record_cli import replay_command

    return replay_command(a)


def _cmd_report(a: argparse.Namespace) -> int:
    from skywarden.runtime.offline.record_cli import report_command

    return report_command(a)


def _cmd_investigate(a: argparse.Namespace) -> int:
    from skywarden.runtime.investigate.cli import investigate_command

    return investigate_command(a)


def _cmd_evidence(a: argparse.Namespace) -> int:
    from skywarden.runtime.investigate.evidence_cli import evidence_command

    return evidence_command(a)


def _cmd_link_incidents(a: argparse.Namespace) -> int:
    from skywarden.runtime.investigate.link_incidents import link_command

    rc, text = link_command(a.records)
    print(text, file=sys.stderr if rc else sys.stdout)
    return rc


def _cmd_export(a: argparse.Namespace) -> int:
    from skywarden.runtime.offline.record_cli import export_command

    return export_command(a)


def _cmd_bench(a: argparse.Namespace) -> int:
    from pathlib import Path

    from skywarden.runtime.offline.bench import PUBLIC, main

    names = a.scenario or PUBLIC
    md = Path(a.md) if a.md else None
    print(main(Path(a.bench_dir), Path(a.out), names, a.compare, md, a.repeat))
    return 0


def _cmd_simulate(a: argparse.Namespace) -> int:
    from pathlib import Path

    from skywarden.core.errors import ConfigError
    from skywarden.sim import load_scenario, simulate, write_skybench
    from skywarden.sim.families import family_run

    try:
        run = family_run(a.scenario, a.seed) if ":" in a.scenario else None
        run = run or simulate(load_scenario(a.scenario), a.seed)
    except (ConfigError, ValueError) as e:  # a bad scenario file: say where, no traceback
        print(f"skywarden simulate: {e}", file=sys.stderr)
        return 2
    scen, truth = write_skybench(run, Path(a.out))
    print(f"{scen}\n{truth}")
    return 0


def _cmd_coverage(a: argparse.Namespace) -> int:
    from skywarden.sim.coverage import load_site_or_scenario, plot_coverage

    plot_coverage(load_site_or_scenario(a.site), a.output, altitude_m=a.altitude)
    print(a.output)
    return 0


def _cmd_verify(a: argparse.Namespace) -> int:
    from skywarden.store.verify_text import verify_command

    out = verify_command(a.journal, a.tsa_ca)
    print(out.text)
    return out.code


class _DefaultsHelp(argparse.HelpFormatter):
    """Help that states each option's default, unless there is none or the help says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        d = action.default
        if d in (None, False, argparse.SUPPRESS) or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _DefaultsHelp)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skywarden", description=__doc__)
    # every subcommand's --help shows its defaults (a _Parser is an ArgumentParser)
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        p.add_subparsers(dest="cmd", required=True, parser_class=_Parser),
    )

    t = sub.add_parser("track", help="track a skybench/1 scenario into tracks.jsonl")
    t.add_argument("scenario")
    t.add_argument("-o", "--output", required=True)
    t.add_argument(
        "--association",
        choices=["gnn", "jpda"],
        default="gnn",
        help="hard global nearest neighbour (default) or soft JPDA for dense clutter",
    )
    t.set_defaults(func=_cmd_track, hard_exit=True)

    b = sub.add_parser("bench", help="track, time and score the public scenarios -> BENCH.md")
    b.add_argument("--bench-dir", default="../shared/bench")
    b.add_argument("--out", default="out/bench")
    b.add_argument("--md", default="BENCH.md")
    b.add_argument("--compare", choices=["stonesoup"])
    b.add_argument("--repeat", type=int, default=3, help="runs per file; wall time is the median")
    b.add_argument("scenario", nargs="*")
    b.set_defaults(func=_cmd_bench)

    sm = sub.add_parser("simulate", help="simulate a scenario into skybench/1 files")
    sm.add_argument(
        "scenario",
        help="a library name (residence, ...), a YAML/TOML file, or family:NAME / "
        "harder:NAME (a benchmark family drawn from --seed: radar3d_site, ...)",
    )
    sm.add_argument("--out", required=True)
    sm.add_argument("--seed", type=int, default=None)
    sm.set_defaults(func=_cmd_simulate)

    cv = sub.add_parser("coverage", help="PNG of detection probability for a small drone")
    cv.add_argument("site", help="site TOML, scenario file or library name")
    cv.add_argument("-o", "--output", default="coverage.png")
    cv.add_argument("--altitude", type=float, default=50.0)
    cv.set_defaults(func=_cmd_coverage)

    vf = sub.add_parser(
        "verify", help="check a journal's hash chain or an evidence package (exit 0/1/2)"
    )
    vf.add_argument("journal", help="journal URL, SQLite path or evidence package directory")
    vf.add_argument("--tsa-ca", help="CA certificate (PEM) the package's TSA must chain to")
    vf.set_defaults(func=_cmd_verify)

    r = sub.add_parser("run", help="start the service (default: the built-in simulated site)")
    r.add_argument(
        "--config",
        help="skywarden.toml: site, sensors and links, zones, outputs, service, tracker in one "
        "file (runtime.config_file); the flags below override it",
    )
    r.add_argument("--site", help="site TOML file; default: the simulated residence")
    r.add_argument(
        "--outputs",
        help="outputs TOML file: web hooks, e-mail, TAK, SAPIENT upward (runtime.outputs.config)",
    )
    r.add_argument("--basemap", help="raster MBTiles file drawn under the tracks (offline)")
    r.add_argument("--dem", help="terrain-RGB MBTiles file: the map shades the relief")
    r.add_argument("--host", help="bind address (default 127.0.0.1)")
    r.add_argument("--port", type=int, help="default 8080")
    r.add_argument("--speed", type=float, help="simulation speed factor (default 1)")
    r.add_argument("--seed", type=int, help="default 1")
    r.add_argument(
        "--journal",
        help="journal URL or SQLite path (created on demand; default var/skywarden.sqlite); "
        "postgresql://... also works",
    )
    r.add_argument(
        "--restore-window",
        type=float,
        help="seconds of the journal replayed at start when there is no state snapshot "
        "(default 120)",
    )
    r.add_argument(
        "--tick",
        type=float,
        help="seconds between pictures when no report arrives (reports step the picture as "
        "soon as their reorder window closes; default 0.5)",
    )
    r.add_argument(
        "--lag",
        type=float,
        help="reorder window, seconds: reports are stepped in time order this long after they "
        "were measured; later ones are refused and counted (too_late). Latency floor. "
        "Default 0.5",
    )
    r.add_argument(
        "--snapshot-every",
        type=float,
        help="site seconds between state snapshots (fast exact restart; 0: none; default 10)",
    )
    r.add_argument(
        "--retention-days",
        type=float,
        help="drop journal segments older than this (alert windows and incidents are kept)",
    )
    r.add_argument(
        "--retention-gb", type=float, help="keep the journal under this size (same exceptions)"
    )
    r.add_argument("--retention-every", type=float, help="seconds between runs (default 600)")
    r.set_defaults(func=_cmd_run)

    ck = sub.add_parser("check", help="check configuration files (every key, every value)")
    ck.add_argument("files", nargs="+", help="skywarden.toml, site, outputs, scenario, tracker")
    ck.add_argument(
        "--kind",
        choices=("config", "site", "outputs", "scenario", "tracker"),
        help="default: from the suffix and the top-level keys",
    )
    ck.set_defaults(func=_cmd_check)

    rp = sub.add_parser("replay", help="feed a journal's recorded inputs through the pipeline")
    rp.add_argument("journal", help="journal URL or SQLite path")
    rp.add_argument("--from", dest="t_from", type=float, help="start time (UNIX s)")
    rp.add_argument("--to", dest="t_to", type=float, help="end time (UNIX s)")
    rp.add_argument("--speed", type=float, default=0.0, help="0: as fast as possible")
    rp.add_argument("--tracker-config", help="TOML/JSON [tracker]/[threat]/[alerts] settings")
    rp.add_argument("--site", help="site TOML (default: the site the journal recorded)")
    rp.add_argument("-o", "--output", help="tracks.jsonl (FORMAT.md snapshot and alert lines)")
    rp.set_defaults(func=_cmd_replay)

    rr = sub.add_parser("report", help="incident report (HTML or PDF) over a time window")
    rr.add_argument("journal", help="journal URL or SQLite path")
    rr.add_argument("--from", dest="t_from", type=float, help="start (UNIX s; default first)")
    rr.add_argument("--to", dest="t_to", type=float, help="end (UNIX s; default last)")
    rr.add_argument("--zone", help="only tracks and alerts of this zone")
    rr.add_argument("--site", help="site TOML (default: the site the journal recorded)")
    rr.add_argument("--title", default="Incident report")
    rr.add_argument("-o", "--output", required=True, help="report.html or report.pdf")
    rr.set_defaults(func=_cmd_report)

    ex = sub.add_parser("export", help="tracks as GeoJSON/KML, detections as CSV, COURAGEOUS")
    ex.add_argument("journal", help="journal URL or SQLite path")
    ex.add_argument("--format", required=True, choices=["geojson", "kml", "csv", "courageous"])
    ex.add_argument("--from", dest="t_from", type=float)
    ex.add_argument("--to", dest="t_to", type=float)
    ex.add_argument("--site", help="site TOML (default: the site the journal recorded)")
    ex.add_argument("-o", "--output", required=True)
    ex.set_defaults(func=_cmd_export)
    iv = sub.add_parser(
        "investigate", help="retrospective tracks: smoothed, re-linked, earliest trace, launch"
    )
    iv.add_argument("source", help="skybench/1 scenario (.jsonl) or journal URL/SQLite path")
    iv.add_argument("-o", "--output", required=True, help="retrospective tracks.jsonl")
    iv.add_argument("--from", dest="t_from", type=float, help="start time (s)")
    iv.add_argument("--to", dest="t_to", type=float, help="end time (s)")
    iv.add_argument("--record", help="investigation record JSON (default: beside -o)")
    iv.add_argument(
        "--dem",
        nargs="+",
        help="terrain: SRTM .hgt tiles or an ESRI ASCII grid (.asc) in degrees; launch points "
        "and impacts are put on it (default: flat ground at the site origin's height)",
    )
    iv.add_argument(
        "--no-journal-record",
        action="store_true",
        help="do not append the investigation record to the journal investigated",
    )
    iv.set_defaults(func=_cmd_investigate)

    ev = sub.add_parser(
        "evidence", help="seal a journal window: segment, report, investigation, signed, timed"
    )
    ev.add_argument("journal", help="journal URL or SQLite path")
    ev.add_argument("--from", dest="t_from", type=float, help="start (UNIX s; default first)")
    ev.add_argument("--to", dest="t_to", type=float, help="end (UNIX s; default last)")
    ev.add_argument("-o", "--output", required=True, help="package directory")
    ev.add_argument("--key", help="Ed25519 private key PEM (or SKYWARDEN_EVIDENCE_KEY)")
    ev.add_argument("--tsa", help="RFC 3161 time-stamping authority URL (or SKYWARDEN_TSA_URL)")
    ev.add_argument("--title", default="Incident report")
    ev.set_defaults(func=_cmd_evidence)

    li = sub.add_parser(
        "link-incidents", help="likely common origins of suspect drones across investigations"
    )
    li.add_argument("records", nargs="+", help="investigation.json files (skywarden investigate)")
    li.set_defaults(func=_cmd_link_incidents)
    add_cluster_commands(sub)
    from skywarden.cli.nodes import add_node_commands

    add_node_commands(sub)
    return p


def _call(a: argparse.Namespace) -> int:
    """Run the command; a configuration error (any file, any command) exits 2 with its path."""
    from skywarden.core.errors import ConfigError

    try:
        rc: int = a.func(a)
    except ConfigError as e:
        print(f"skywarden {a.cmd}: {e}", file=sys.stderr)
        return 2
    return rc


def main(argv: Sequence[str] | None = None) -> int:
    return _call(build_parser().parse_args(argv))


def entry() -> None:
    """The ``skywarden`` console script: ``main`` on the process's arguments, then exit.

    A batch command (``track``) that has closed its output file and returned ends the process
    at once, after flushing stdout and stderr, without the interpreter's teardown: freeing
    every module's objects one by one took about 17 ms, some 5 % of tracking a 100-scan
    file, and gives the user nothing (mypy ends the same way). Long-running commands exit
    normally, so their shutdown handlers run.
    """
    a = build_parser().parse_args()
    rc = _call(a)
    if getattr(a, "hard_exit", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    sys.exit(rc)


if __name__ == "__main__":
    entry()
