"""Per-site engine state in KV: the record machine and the raw sequence it covers.

Format (bucket ``sw_snapshots``, key ``<site>``): ``core.statecodec`` with magic ``b"SWS3"`` of
``{"covered": int, "machine": RecordMachine, "transitions": TransitionCounter,
"unframed": [[seq, received_t], ...], "layout": STATE_LAYOUT}``.
``covered`` is the last raw stream sequence (report or control record) folded into the
state; a worker taking the site over restores the state and replays the raw stream from
``covered + 1``. ``unframed`` are the reports folded in whose frame (the next tick's) was
not yet published when the snapshot was taken.

The codec stores data only and rebuilds nothing but skywarden's own classes, so a snapshot
written by someone who can write the bucket cannot run code in a worker (the pickles of
``SWS1`` could). A snapshot of another magic (``SWS2`` held a bare pipeline, before the
worker drove the record machine) or layout is refused with a reason, and the site is
rebuilt from the raw stream instead.
"""

from __future__ import annotations

from skywarden.core import statecodec
from skywarden.core.errors import DecodeError
from skywarden.runtime.cluster.codec import TransitionCounter
from skywarden.runtime.cluster.site_engine import SiteState
from skywarden.runtime.pipeline import STATE_LAYOUT, check_state_layout
from skywarden.runtime.record_machine import RecordMachine

MAGIC = b"SWS3"

__all__ = ["MAGIC", "SiteState", "dump_state", "load_state"]


def dump_state(s: SiteState) -> bytes:
    body = {
        "covered": s.covered,
        "machine": s.machine,
        "transitions": s.transitions,
        "unframed": [[int(q), float(r)] for q, r in s.unframed],
        "layout": STATE_LAYOUT,
    }
    return statecodec.encode(body, MAGIC)


def load_state(data: bytes) -> SiteState:
    d = statecodec.decode(data, MAGIC)
    try:
        if not isinstance(d, dict):
            raise TypeError(f"body is {type(d).__name__}")
        check_state_layout(d)  # an older program's private fields
        m = d["machine"]
        if not isinstance(m, RecordMachine):
            raise TypeError(f"machine is {type(m).__name__}")
        tc = d.get("transitions", TransitionCounter())
        if not isinstance(tc, TransitionCounter):
            raise TypeError(f"transitions is {type(tc).__name__}")
        unframed = [(int(q), float(r)) for q, r in d.get("unframed", [])]
        return SiteState(m, int(d["covered"]), tc, unframed)
    except (KeyError, TypeError, ValueError) as e:
        raise DecodeError("snapshot_body", f"{type(e).__name__}: {e}") from None
