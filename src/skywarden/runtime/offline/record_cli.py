"""The record's commands behind the CLI: ``replay``, ``report`` and ``export`` over a journal.

Each opens the journal by URL (a bare path is SQLite), finds the site the live run recorded
in its ``runtime.start`` record (or takes ``--site``), does its one job and closes the
journal. Exit codes: 0 done; 1 the replay departed from the record; 2 bad input (no such
journal, no site, an empty window).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from skywarden.core.errors import ConfigError
from skywarden.core.site import Site, load_site
from skywarden.runtime.offline.replay import journal_site, pipeline_config_from_file, replay_journal
from skywarden.store.export import courageous_log, detections_csv, tracks_geojson, tracks_kml
from skywarden.store.journal import Journal, open_journal


def _open(url: str) -> Journal:
    if "://" not in url and not url.startswith("sqlite:") and not Path(url).exists():
        raise ConfigError("journal", f"no journal at {url}")
    return open_journal(url)


def _site(a: argparse.Namespace, j: Journal) -> Site:
    return load_site(a.site) if getattr(a, "site", None) else journal_site(j)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO | None]:
    if path is None:
        yield None
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as f:
        yield f


def _with_journal(
    command: str,
    url: str,
    job: Callable[[Journal], int],
    bad_input: tuple[type[Exception], ...] = (ConfigError,),
) -> int:
    """Open the journal at ``url``, run ``job`` on it and close it: the one shape of every
    command here. Bad input (no journal, no site, an empty window: ``bad_input`` raised by
    ``job``) is a one-line message and exit code 2, never a traceback."""
    try:
        j = _open(url)
    except (ConfigError, ValueError) as e:
        print(f"skywarden {command}: {e}", file=sys.stderr)
        return 2
    try:
        return job(j)
    except bad_input as e:
        print(f"skywarden {command}: {e}", file=sys.stderr)
        return 2
    finally:
        j.close()


def replay_command(a: argparse.Namespace) -> int:
    def job(j: Journal) -> int:
        site = _site(a, j)
        cfg = pipeline_config_from_file(a.tracker_config) if a.tracker_config else None
        with _output(a.output) as out:
            res = replay_journal(j, site, cfg, a.t_from, a.t_to, a.speed, out)
        print(res.summary())
        if a.output:
            print(f"{res.snapshots} snapshots, {res.alert_lines} alert lines -> {a.output}")
        return 0 if res.identical or a.tracker_config else 1

    return _with_journal("replay", a.journal, job)


def _window(a: argparse.Namespace, j: Journal) -> tuple[float, float]:
    rng = j.time_range()
    if rng is None:
        raise ConfigError("journal", "the journal is empty")
    return (a.t_from if a.t_from is not None else rng[0], a.t_to if a.t_to is not None else rng[1])


def report_command(a: argparse.Namespace) -> int:
    from skywarden.store.report import report_from_journal, write_report

    def job(j: Journal) -> int:
        t0, t1 = _window(a, j)
        data = report_from_journal(j, t0, t1, _site(a, j), a.zone, a.title)
        path = write_report(data, a.output)
        print(
            f"{path}: {len(data.tracks)} tracks, {len(data.alerts)} alert transitions, "
            f"{len(data.actions)} operator actions, window {t0:.1f}..{t1:.1f}"
        )
        return 0

    return _with_journal("report", a.journal, job, (ConfigError, ValueError))


def export_command(a: argparse.Namespace) -> int:
    def job(j: Journal) -> int:
        site = _site(a, j)
        recs = list(j.records(a.t_from, a.t_to))
        if a.format == "geojson":
            text = json.dumps(tracks_geojson(recs, site.origin), indent=1)
        elif a.format == "kml":
            text = tracks_kml(recs, site.origin, f"skywarden tracks, {site.name}")
        elif a.format == "csv":
            text = detections_csv(recs, site.origin)
        else:
            text = json.dumps(courageous_log(recs, site.origin), indent=1)
        out = Path(a.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"{out}: {a.format}, {len(recs)} journal records read")
        return 0

    return _with_journal("export", a.journal, job)
