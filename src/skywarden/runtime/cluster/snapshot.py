"""Per-site engine state in KV: the record machine and the raw sequence it covers.

Format (bucket ``sw_snapshots``, key ``<site>``): ``core.statecodec`` with magic ``b"SWS3"`` of
``{"covered": int, "machine": Engine, "transitions": TransitionCounter,
"unframed": [[seq, received_t], ...], "layout": STATE_LAYOUT}``.
``covered`` is the last raw stream sequence (report or control record) folded into the
state; a worker taking the site over restores the state and replays the raw stream from
``covered + 1``. ``unframed`` are the reports folded in whose frame (the next tick's) was
not yet published when the snapshot was taken.

Encoded through ``runtime.engine.snapshots`` (the one snapshot frame the live restart uses too).
The codec stores data only and rebuilds nothing but skywarden's own classes, so a snapshot
written by someone who can write the bucket cannot run code in a worker (the pickles of
``SWS1`` could). A snapshot of another magic (``SWS2`` held a bare pipeline, before the
worker drove the record machine) or layout is refused with a reason, and the site is
rebuilt from the raw stream instead.
"""

from __future__ import annotations

from skywarden.core.errors import DecodeError
from skywarden.runtime.cluster.codec import TransitionCounter
from skywarden.runtime.cluster.site_engine import SiteState
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.snapshots import decode_state, encode_state

MAGIC = b"SWS3"

__all__ = ["MAGIC", "SiteState", "dump_state", "load_state"]


def dump_state(s: SiteState) -> bytes:
    body = {
        "covered": s.covered,
        "machine": s.machine,
        "transitions": s.transitions,
        "unframed": [[int(q), float(r)] for q, r in s.unframed],
    }
    return encode_state(body, MAGIC)


def load_state(data: bytes) -> SiteState:
    """The state of a snapshot (the one frame of ``runtime.engine.snapshots``: layout checked)."""
    d = decode_state(data, MAGIC, {"machine": Engine, "transitions": TransitionCounter})
    try:
        unframed = [(int(q), float(r)) for q, r in d.get("unframed", [])]
        return SiteState(d["machine"], int(d["covered"]), d["transitions"], unframed)
    except (KeyError, TypeError, ValueError) as e:
        raise DecodeError("snapshot_body", f"{type(e).__name__}: {e}") from None
