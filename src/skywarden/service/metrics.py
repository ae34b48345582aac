"""Prometheus text exposition (format 0.0.4) of every stage's counters, at ``GET /metrics``.

No client library: the format is a line per sample, ``name value``. Each dotted counter name
(``pipeline.tracker.accepted.detections``) becomes ``skywarden_`` plus the name with every
character outside ``[a-zA-Z0-9_]`` replaced by ``_``. Samples are untyped: some stages report
monotonic counts, others last values (``live.step_ms_last``); the name says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from skywarden.alerts.lifecycle import AlertState
from skywarden.service.auth import Viewer
from skywarden.service.state import ServiceState, get_state

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BAD = re.compile(r"[^a-zA-Z0-9_]")

router = APIRouter()


def metric_name(dotted: str) -> str:
    return "skywarden_" + _BAD.sub("_", dotted)


def exposition(samples: Mapping[str, float]) -> str:
    """``name value`` lines, sorted by name, ending with a newline."""
    lines = [f"{metric_name(k)} {float(v)!r}" for k, v in sorted(samples.items())]
    return "\n".join(lines) + "\n"


def _picture_samples(st: ServiceState) -> dict[str, float]:
    pic = st.source.current()
    if pic is None:
        return {"picture.seq": 0.0}
    return {
        "picture.seq": float(pic.seq),
        "picture.age_s": max(0.0, st.clock.now() - pic.wall_t),
        "picture.tracks": float(len(pic.tracks)),
        "picture.confirmed_tracks": float(sum(1 for t in pic.tracks if t.confirmed)),
        "picture.open_alerts": float(
            sum(1 for a in pic.alerts if a.state is not AlertState.RESOLVED)
        ),
    }


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(_: Viewer, st: Annotated[ServiceState, Depends(get_state)]) -> PlainTextResponse:
    sec = st.security.counters.snapshot()
    samples = {**st.source.stats(), **st.hub.stats(), **sec, **_picture_samples(st)}
    return PlainTextResponse(exposition(samples), media_type=CONTENT_TYPE)
