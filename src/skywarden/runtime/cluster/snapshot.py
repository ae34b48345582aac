"""Per-site tracker state in KV: the pipeline and the raw sequence it covers.

Format (bucket ``sw_snapshots``, key ``<site>``): ``core.statecodec`` with magic ``b"SWS2"`` of
``{"covered": int, "t_last": float, "pipeline": Pipeline, "transitions": TransitionCounter,
"layout": STATE_LAYOUT}``.
``covered`` is the last raw stream sequence folded into the state; a worker taking the site
over restores the state and replays the raw stream from ``covered + 1``.

The codec stores data only and rebuilds nothing but skywarden's own classes, so a snapshot
written by someone who can write the bucket cannot run code in a worker (the pickles of
``SWS1`` could). A snapshot of another magic or layout is refused with a reason, and the
site is rebuilt from the raw stream instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skywarden.core import statecodec
from skywarden.core.errors import DecodeError
from skywarden.runtime.cluster.codec import TransitionCounter
from skywarden.runtime.pipeline import STATE_LAYOUT, Pipeline, check_state_layout

MAGIC = b"SWS2"


@dataclass
class SiteState:
    pipeline: Pipeline
    covered: int = 0
    t_last: float = float("-inf")
    transitions: TransitionCounter = field(default_factory=TransitionCounter)


def dump_state(s: SiteState) -> bytes:
    body = {
        "covered": s.covered,
        "t_last": s.t_last,
        "pipeline": s.pipeline,
        "transitions": s.transitions,
        "layout": STATE_LAYOUT,
    }
    return statecodec.encode(body, MAGIC)


def load_state(data: bytes) -> SiteState:
    d = statecodec.decode(data, MAGIC)
    try:
        if not isinstance(d, dict):
            raise TypeError(f"body is {type(d).__name__}")
        check_state_layout(d)  # an older program's private fields
        p = d["pipeline"]
        if not isinstance(p, Pipeline):
            raise TypeError(f"pipeline is {type(p).__name__}")
        tc = d.get("transitions", TransitionCounter())
        if not isinstance(tc, TransitionCounter):
            raise TypeError(f"transitions is {type(tc).__name__}")
        return SiteState(p, int(d["covered"]), float(d["t_last"]), tc)
    except (KeyError, TypeError, ValueError) as e:
        raise DecodeError("snapshot_body", f"{type(e).__name__}: {e}") from None
