"""Prometheus text exposition of the cluster, served by central at ``GET /metrics``.

One scrape point for the whole pool: central sees every site's frames and alerts and every
worker's heartbeat (``sw_workers``: sites held, claim / lease / fencing counters, the last
take-over's duration, the replay backlog). Ages are measured on central's own monotonic
clock (since central last received a frame or heartbeat), so a freeze shows without
comparing clocks across hosts. The report latency is the exception and is named for what it
is: central's wall clock at a frame against the gateway's wall clock at each report it
covers, meaningful only with synchronised clocks (NTP/PTP).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from skywarden.runtime.cluster.central import CentralPicture

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _line(name: str, value: float, **labels: str) -> str:
    lab = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
    val = repr(float(value)) if math.isfinite(value) else ("NaN" if value != value else "+Inf")
    return f"{name}{{{lab}}} {val}" if lab else f"{name} {val}"


def _family(name: str, kind: str, help_: str, lines: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_}", f"# TYPE {name} {kind}", *lines]


def exposition(p: CentralPicture, quantiles: tuple[float, ...] = (0.5, 0.9, 0.99)) -> str:
    now = p.monotonic()
    out: list[str] = []
    sites = sorted(p.sites.values(), key=lambda v: v.site)
    out += _family(
        "skywarden_site_frames_total",
        "counter",
        "frames received from the site",
        (_line("skywarden_site_frames_total", v.frames, site=v.site) for v in sites),
    )
    out += _family(
        "skywarden_site_reports_total",
        "counter",
        "raw reports covered by the site's frames",
        (_line("skywarden_site_reports_total", v.reports, site=v.site) for v in sites),
    )
    out += _family(
        "skywarden_site_tracks",
        "gauge",
        "tracks in the site's last frame",
        (
            _line("skywarden_site_tracks", len(v.frame.tracks) if v.frame else 0, site=v.site)
            for v in sites
        ),
    )
    out += _family(
        "skywarden_site_open_alerts",
        "gauge",
        "alerts of the site not resolved",
        (
            _line(
                "skywarden_site_open_alerts",
                sum(a.record.to_state != "resolved" for a in v.alerts.values()),
                site=v.site,
            )
            for v in sites
        ),
    )
    out += _family(
        "skywarden_site_frame_age_seconds",
        "gauge",
        "seconds since central last received a frame of the site (central's clock)",
        (
            _line(
                "skywarden_site_frame_age_seconds",
                now - v.received_mono if v.received_mono is not None else math.inf,
                site=v.site,
                worker=v.frame.worker if v.frame else "",
            )
            for v in sites
        ),
    )
    lat = sorted(p.latencies)
    out += _family(
        "skywarden_report_latency_seconds",
        "summary",
        "gateway receipt to central receipt of a report's frame (wall clocks of two hosts)",
        [
            *(
                _line(
                    "skywarden_report_latency_seconds",
                    lat[min(len(lat) - 1, int(q * len(lat)))] if lat else math.nan,
                    quantile=str(q),
                )
                for q in quantiles
            ),
            _line("skywarden_report_latency_seconds_count", len(lat)),
        ],
    )
    workers = sorted(p.workers.items())
    out += _family(
        "skywarden_worker_sites",
        "gauge",
        "sites a worker holds (its last heartbeat)",
        (
            _line("skywarden_worker_sites", float(hb.get("sites", 0)), worker=w)
            for w, (_, hb) in workers
        ),
    )
    out += _family(
        "skywarden_worker_heartbeat_age_seconds",
        "gauge",
        "seconds since central saw the worker's heartbeat (central's clock)",
        (
            _line("skywarden_worker_heartbeat_age_seconds", now - at, worker=w)
            for w, (at, _) in workers
        ),
    )
    out += _family(
        "skywarden_worker_backlog_reports",
        "gauge",
        "raw reports queued in a worker's runners",
        (
            _line("skywarden_worker_backlog_reports", float(hb.get("backlog", 0)), worker=w)
            for w, (_, hb) in workers
        ),
    )
    out += _family(
        "skywarden_worker_takeover_seconds",
        "gauge",
        "duration of the worker's last claim-and-restore round",
        (
            _line("skywarden_worker_takeover_seconds", float(hb["takeover_s_last"]), worker=w)
            for w, (_, hb) in workers
            if isinstance(hb.get("takeover_s_last"), int | float)
        ),
    )
    events: list[str] = []
    for w, (_, hb) in workers:
        c: Any = hb.get("counters", {})
        if isinstance(c, dict):
            events += [
                _line("skywarden_worker_events_total", float(n), worker=w, event=str(k))
                for k, n in sorted(c.items())
                if isinstance(n, int | float)
            ]
    out += _family(
        "skywarden_worker_events_total",
        "counter",
        "a worker's counters: claimed, lease_lost, fenced, handed_over, claim_error, ...",
        events,
    )
    out += _family(
        "skywarden_central_events_total",
        "counter",
        "central's counters (frames, rejected.*)",
        (
            _line("skywarden_central_events_total", float(n), event=k)
            for k, n in sorted(p.counters.snapshot().items())
        ),
    )
    return "\n".join(out) + "\n"
