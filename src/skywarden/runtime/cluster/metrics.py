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


Sample = tuple[float, dict[str, str]]  # a value and its labels


def _line(name: str, value: float, labels: dict[str, str]) -> str:
    lab = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
    val = repr(float(value)) if math.isfinite(value) else ("NaN" if value != value else "+Inf")
    return f"{name}{{{lab}}} {val}" if lab else f"{name} {val}"


def _family(name: str, kind: str, help_: str, samples: Iterable[Sample]) -> list[str]:
    """One metric: its HELP and TYPE lines, then a line per sample, all under ``name``."""
    return [
        f"# HELP {name} {help_}",
        f"# TYPE {name} {kind}",
        *(_line(name, v, lab) for v, lab in samples),
    ]


def exposition(p: CentralPicture, quantiles: tuple[float, ...] = (0.5, 0.9, 0.99)) -> str:
    now = p.monotonic()
    sites = sorted(p.sites.values(), key=lambda v: v.site)
    workers = sorted(p.workers.items())
    lat = sorted(p.latencies)

    def per_site(f: Any) -> list[Sample]:
        return [(float(f(v)), {"site": v.site}) for v in sites]

    def per_worker(key: str, default: float | None = None) -> list[Sample]:
        """``key`` of each worker's heartbeat; ``default`` where it is missing (None: skip)."""
        values = [(w, hb.get(key, default)) for w, (_, hb) in workers]
        return [(float(x), {"worker": w}) for w, x in values if isinstance(x, int | float)]

    out: list[str] = []
    out += _family(
        "skywarden_site_frames_total",
        "counter",
        "frames received from the site",
        per_site(lambda v: v.frames),
    )
    out += _family(
        "skywarden_site_reports_total",
        "counter",
        "raw reports covered by the site's frames",
        per_site(lambda v: v.reports),
    )
    out += _family(
        "skywarden_site_tracks",
        "gauge",
        "tracks in the site's last frame",
        per_site(lambda v: len(v.frame.tracks) if v.frame else 0),
    )
    out += _family(
        "skywarden_site_open_alerts",
        "gauge",
        "alerts of the site not resolved",
        per_site(lambda v: sum(a.record.to_state != "resolved" for a in v.alerts.values())),
    )
    out += _family(
        "skywarden_site_frame_age_seconds",
        "gauge",
        "seconds since central last received a frame of the site (central's clock)",
        [
            (
                now - v.received_mono if v.received_mono is not None else math.inf,
                {"site": v.site, "worker": v.frame.worker if v.frame else ""},
            )
            for v in sites
        ],
    )
    out += _family(
        "skywarden_report_latency_seconds",
        "summary",
        "gateway receipt to central receipt of a report's frame (wall clocks of two hosts)",
        [
            (lat[min(len(lat) - 1, int(q * len(lat)))] if lat else math.nan, {"quantile": str(q)})
            for q in quantiles
        ],
    )
    out.append(_line("skywarden_report_latency_seconds_count", len(lat), {}))
    out += _family(
        "skywarden_worker_sites",
        "gauge",
        "sites a worker holds (its last heartbeat)",
        per_worker("sites", 0.0),
    )
    out += _family(
        "skywarden_worker_heartbeat_age_seconds",
        "gauge",
        "seconds since central saw the worker's heartbeat (central's clock)",
        [(now - at, {"worker": w}) for w, (at, _) in workers],
    )
    out += _family(
        "skywarden_worker_backlog_reports",
        "gauge",
        "raw reports queued in a worker's runners",
        per_worker("backlog", 0.0),
    )
    out += _family(
        "skywarden_worker_takeover_seconds",
        "gauge",
        "duration of the worker's last claim-and-restore round",
        per_worker("takeover_s_last"),
    )
    out += _family(
        "skywarden_worker_events_total",
        "counter",
        "a worker's counters: claimed, lease_lost, fenced, handed_over, claim_error, ...",
        [
            (float(n), {"worker": w, "event": str(k)})
            for w, (_, hb) in workers
            if isinstance(hb.get("counters"), dict)
            for k, n in sorted(hb["counters"].items())
            if isinstance(n, int | float)
        ],
    )
    out += _family(
        "skywarden_central_events_total",
        "counter",
        "central's counters (frames, rejected.*)",
        [(float(n), {"event": k}) for k, n in sorted(p.counters.snapshot().items())],
    )
    return "\n".join(out) + "\n"
