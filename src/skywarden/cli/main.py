"""``skywarden`` command line: parse arguments, call the runtime, print results. No logic here."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skywarden.runtime.retention import RetentionConfig


def _cmd_track(a: argparse.Namespace) -> int:
    from skywarden.runtime.bench_io import track_file
    from skywarden.runtime.pipeline import PipelineConfig
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
    from skywarden.runtime.live import serve

    return serve(
        site_path=a.site,
        host=a.host,
        port=a.port,
        speed=a.speed,
        seed=a.seed,
        journal_url=a.journal,
        restore_window_s=a.restore_window,
        snapshot_s=a.snapshot_every,
        outputs_path=a.outputs,
        retention=_retention(a),
        tick_s=a.tick,
        lag_s=a.lag,
    )


def _retention(a: argparse.Namespace) -> RetentionConfig | None:
    """None unless a limit was asked for: by default the journal keeps everything."""
    from skywarden.runtime.retention import RetentionConfig
    from skywarden.store.journal import RetentionPolicy

    if a.retention_days is None and a.retention_gb is None:
        return None
    policy = RetentionPolicy(
        max_age_s=None if a.retention_days is None else a.retention_days * 86400.0,
        max_bytes=None if a.retention_gb is None else int(a.retention_gb * 1e9),
        floor_s=3600.0,
    )
    return RetentionConfig(policy, every_s=a.retention_every)


def _cmd_replay(a: argparse.Namespace) -> int:
    from skywarden.runtime.record_cli import replay_command

    return replay_command(a)


def _cmd_report(a: argparse.Namespace) -> int:
    from skywarden.runtime.record_cli import report_command

    return report_command(a)


def _cmd_export(a: argparse.Namespace) -> int:
    from skywarden.runtime.record_cli import export_command

    return export_command(a)


def _cmd_bench(a: argparse.Namespace) -> int:
    from pathlib import Path

    from skywarden.runtime.bench import PUBLIC, main

    names = a.scenario or PUBLIC
    md = Path(a.md) if a.md else None
    print(main(Path(a.bench_dir), Path(a.out), names, a.compare, md, a.repeat))
    return 0


def _cmd_simulate(a: argparse.Namespace) -> int:
    from pathlib import Path

    from skywarden.sim import load_scenario, simulate, write_skybench

    run = simulate(load_scenario(a.scenario), a.seed)
    scen, truth = write_skybench(run, Path(a.out))
    print(f"{scen}\n{truth}")
    return 0


def _cmd_coverage(a: argparse.Namespace) -> int:
    from skywarden.sim.coverage import load_site_or_scenario, plot_coverage

    plot_coverage(load_site_or_scenario(a.site), a.output, altitude_m=a.altitude)
    print(a.output)
    return 0


def _cmd_verify(a: argparse.Namespace) -> int:
    from skywarden.store.integrity import verify

    res = verify(a.journal)
    print(res)
    return 0 if res.ok else 1


def _cmd_worker(a: argparse.Namespace) -> int:
    import socket

    from skywarden.runtime.cluster import commands

    wid = a.id if a.id is not None else f"{socket.gethostname()}-{os.getpid()}"
    return commands.worker(a.nats, wid, a.lease_ttl, a.flush, a.snapshot_every, a.replicas)


def _cmd_central(a: argparse.Namespace) -> int:
    from skywarden.runtime.cluster import commands

    return commands.central(a.nats, a.edge, a.journal, a.every, a.replicas, a.http)


def _cmd_edge(a: argparse.Namespace) -> int:
    from skywarden.runtime.cluster import commands

    return commands.edge(a.nats, a.site_id, a.scenario, a.seed, a.speed)


def _add_cluster_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Scale-out commands (issue 9, ``runtime/cluster``).

    No default here may cost anything to compute: every command, ``track`` included, builds
    this parser. The worker id's host name is looked up in ``_cmd_worker``; computed here,
    it imported ``socket`` (4 ms) for every command."""
    w = sub.add_parser("worker", help="track pooled sites from NATS JetStream (scale-out)")
    w.add_argument("--nats", default="nats://127.0.0.1:4222", help="comma-separated URLs")
    w.add_argument("--id", default=None, help="worker id (default: HOSTNAME-PID)")
    w.add_argument("--lease-ttl", type=float, default=5.0, help="site lease expiry, seconds")
    w.add_argument("--flush", type=float, default=0.2, help="frame publish period, seconds")
    w.add_argument("--snapshot-every", type=float, default=5.0, help="seconds")
    w.add_argument("--replicas", type=int, default=1, help="stream replicas (3 on a cluster)")
    w.set_defaults(func=_cmd_worker)

    c = sub.add_parser("central", help="aggregate every site's tracks and alerts (scale-out)")
    c.add_argument("--nats", default="nats://127.0.0.1:4222", help="comma-separated URLs")
    c.add_argument("--edge", action="append", default=[], help="SITE=JS_DOMAIN of an edge")
    c.add_argument("--journal", help="journal URL, e.g. postgresql://127.0.0.1:5432/sky")
    c.add_argument("--every", type=float, default=5.0, help="summary period, seconds")
    c.add_argument("--replicas", type=int, default=1)
    c.add_argument("--http", help="HOST:PORT to serve /api/cluster/sites and /picture")
    c.set_defaults(func=_cmd_central)

    e = sub.add_parser("edge", help="track a simulated site, publish to its leaf-node NATS")
    e.add_argument("--nats", default="nats://127.0.0.1:4222", help="the site's own server")
    e.add_argument("--site-id", required=True)
    e.add_argument("--scenario", default="residence")
    e.add_argument("--seed", type=int, default=None)
    e.add_argument("--speed", type=float, default=1.0)
    e.set_defaults(func=_cmd_edge)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skywarden", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

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
    sm.add_argument("scenario", help="a library name (residence, ...) or a YAML/TOML file")
    sm.add_argument("--out", required=True)
    sm.add_argument("--seed", type=int, default=None)
    sm.set_defaults(func=_cmd_simulate)

    cv = sub.add_parser("coverage", help="PNG of detection probability for a small drone")
    cv.add_argument("site", help="site TOML, scenario file or library name")
    cv.add_argument("-o", "--output", default="coverage.png")
    cv.add_argument("--altitude", type=float, default=50.0)
    cv.set_defaults(func=_cmd_coverage)

    vf = sub.add_parser("verify", help="check a journal's hash chain")
    vf.add_argument("journal", help="journal URL or SQLite path")
    vf.set_defaults(func=_cmd_verify)

    r = sub.add_parser("run", help="start the service (default: the built-in simulated site)")
    r.add_argument("--site", help="site TOML file; default: the simulated residence")
    r.add_argument(
        "--outputs",
        help="outputs TOML file: web hooks, e-mail, TAK, SAPIENT upward (runtime.outputs_config)",
    )
    r.add_argument("--host", default="127.0.0.1")
    r.add_argument("--port", type=int, default=8080)
    r.add_argument("--speed", type=float, default=1.0, help="simulation speed factor")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument(
        "--journal",
        default="var/skywarden.sqlite",
        help="journal URL or SQLite path (created on demand); postgresql://... also works",
    )
    r.add_argument(
        "--restore-window",
        type=float,
        default=120.0,
        help="seconds of the journal replayed at start when there is no state snapshot",
    )
    r.add_argument(
        "--tick",
        type=float,
        default=0.5,
        help="seconds between pictures when no report arrives (reports step the picture as "
        "soon as their reorder window closes)",
    )
    r.add_argument(
        "--lag",
        type=float,
        default=0.5,
        help="reorder window, seconds: reports are stepped in time order this long after they "
        "were measured; later ones are refused and counted (too_late). Latency floor.",
    )
    r.add_argument(
        "--snapshot-every",
        type=float,
        default=10.0,
        help="site seconds between state snapshots (fast exact restart; 0: none)",
    )
    r.add_argument(
        "--retention-days",
        type=float,
        help="drop journal segments older than this (alert windows and incidents are kept)",
    )
    r.add_argument(
        "--retention-gb", type=float, help="keep the journal under this size (same exceptions)"
    )
    r.add_argument("--retention-every", type=float, default=600.0, help="seconds between runs")
    r.set_defaults(func=_cmd_run)

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
    _add_cluster_commands(sub)
    from skywarden.cli.nodes import add_node_commands

    add_node_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    rc: int = a.func(a)
    return rc


def entry() -> None:
    """The ``skywarden`` console script: ``main`` on the process's arguments, then exit.

    A batch command (``track``) that has closed its output file and returned ends the process
    at once, after flushing stdout and stderr, without the interpreter's teardown: freeing
    every module's objects one by one took about 17 ms, some 5 % of tracking a 100-scan
    file, and gives the user nothing (mypy ends the same way). Long-running commands exit
    normally, so their shutdown handlers run.
    """
    a = build_parser().parse_args()
    rc: int = a.func(a)
    if getattr(a, "hard_exit", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    sys.exit(rc)


if __name__ == "__main__":
    entry()
