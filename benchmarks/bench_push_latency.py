"""How long a raised alert takes to reach a phone's push service: a local peer, through apprise.

The path measured is the live one after the pipeline step: the source publishes the picture
whose step raised the alert; ``OutputSet.on_picture`` (what the live loop calls) takes the new
event from the alert manager's history and offers it to the dispatcher; the push sink's worker
formats the household sentence and calls apprise in a worker thread; apprise POSTs to the
peer, a threaded HTTP server on 127.0.0.1 that timestamps the request when its body has been
read. Latency = that timestamp minus the instant before ``on_picture`` (one monotonic clock,
one process). The alerts are real: ``ThreatAssessor`` and ``AlertManager`` over an inbound
drone, a new track per run (each raises one alert). The source is a stand-in holding the
alert manager (no journal, no tracker: neither is on this path).

Schemes: ``json://`` (apprise's generic JSON POST) and ``ntfy://`` (a self-hosted ntfy server's
API). Alerts are ``--gap`` seconds apart (default 1.2 s: more than the sink's 1 s per-service
spacing, so each is measured on its own; closer alerts wait for the spacing, by design). Prints
medians, 95th percentiles and maxima as JSON; the issue asks for < 2 s.

    .venv/bin/python benchmarks/bench_push_latency.py --runs 25
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from push_receiver import Receiver
from service_helpers import make_site
from skywarden.alerts.lifecycle import AlertManager
from skywarden.core.clock import WallClock
from skywarden.core.track import TrackState, TrackStatus
from skywarden.runtime.outputs.config import parse_outputs
from skywarden.runtime.outputs.output_set import OutputSet
from skywarden.service.source import Picture
from skywarden.threat.assess import ThreatAssessor


def _inbound(tid: str, t: float) -> TrackState:
    """A drone 300 m east of the house, 60 m up, flying straight at it at 15 m/s."""
    return TrackState(
        id=tid,
        t=t,
        x=np.array([300.0, 0.0, 60.0, -15.0, 0.0, 0.0]),
        P=np.eye(6) * 4.0,
        status=TrackStatus.CONFIRMED,
        class_probs={"drone": 0.95, "bird": 0.05},
        sensors=("radar-1",),
        hits=40,
        score=40.0,
        first_t=t - 20.0,
    )


async def run(scheme: str, runs: int, gap_s: float) -> list[float]:
    site = make_site()
    assessor, alerts = ThreatAssessor(site), AlertManager()
    source: Any = SimpleNamespace(
        machine=SimpleNamespace(pipeline=SimpleNamespace(alerts=alerts)),
        subscribe=lambda fn: lambda: None,
    )
    lat: list[float] = []
    with Receiver() as rx:
        cfg = parse_outputs({"push": {"urls": [f"{scheme}://127.0.0.1:{rx.port}/home"]}})
        out = OutputSet(cfg, site, WallClock(), env={})
        await out.start()
        out.attach(source)
        t = 1_700_000_000.0
        for k in range(runs):
            t += 10.0
            tr = _inbound(f"T{k}", t)
            assessed = assessor.assess([tr], t)
            events = alerts.update(assessed, t)
            assert any(e.kind == "raised" for e in events), events
            pic = Picture(k + 1, t, t, (tr,), {a.track_id: a for a in assessed}, alerts.active)
            t0 = time.monotonic()
            out.on_picture(pic)
            while len(rx.got) < k + 1:
                await asyncio.sleep(0.001)
                if time.monotonic() - t0 > 10:
                    raise RuntimeError(f"run {k}: nothing arrived in 10 s")
            lat.append(rx.got[k][0] - t0)
            alerts.update([], t + 5.0)  # the track is gone: its alert closes
            await asyncio.sleep(gap_s)
        await out.stop()
    return lat


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--gap", type=float, default=1.2, help="seconds between alerts")
    a = ap.parse_args()
    report = {}
    for scheme in ("json", "ntfy"):
        lat = asyncio.run(run(scheme, a.runs, a.gap))
        s = sorted(lat)
        report[scheme] = {
            "runs": len(lat),
            "median_ms": round(statistics.median(lat) * 1000, 1),
            "p95_ms": round(s[int(0.95 * (len(s) - 1))] * 1000, 1),
            "max_ms": round(max(lat) * 1000, 1),
            "under_2s": sum(x < 2.0 for x in lat),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
