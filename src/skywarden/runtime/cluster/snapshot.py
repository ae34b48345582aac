"""Per-site tracker state in KV: the pickled :class:`Pipeline` and the raw sequence it covers.

Format (bucket ``sw_snapshots``, key ``<site>``): ``b"SWS1"`` then zlib of a pickle of
``{"covered": int, "t_last": float, "pipeline": Pipeline}``. ``covered`` is the last raw stream
sequence folded into the state; a worker taking the site over restores the state and replays
the raw stream from ``covered + 1``.

Pickle is used because the pipeline (tracker banks, classifier evidence, alert manager) is a
graph of numpy arrays and plain objects that no other codec covers without a parallel schema.
It is acceptable only because the snapshot bucket is written and read inside the trusted
cluster (the workers' own NATS account); loading a pickle executes code, so the bucket must
never be writable by sensors, edges or operators (``docs/scale.md``, "Trust").
"""

from __future__ import annotations

import pickle
import zlib
from dataclasses import dataclass

from skywarden.core.errors import DecodeError
from skywarden.runtime.pipeline import STATE_LAYOUT, Pipeline, check_state_layout

MAGIC = b"SWS1"


@dataclass
class SiteState:
    pipeline: Pipeline
    covered: int = 0
    t_last: float = float("-inf")


def dump_state(s: SiteState) -> bytes:
    body = {
        "covered": s.covered,
        "t_last": s.t_last,
        "pipeline": s.pipeline,
        "layout": STATE_LAYOUT,
    }
    return MAGIC + zlib.compress(pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL), 1)


def load_state(data: bytes) -> SiteState:
    if not data.startswith(MAGIC):
        raise DecodeError("snapshot_magic", f"snapshot starts {data[:4]!r}, want {MAGIC!r}")
    try:
        d = pickle.loads(zlib.decompress(data[len(MAGIC) :]))  # trusted bucket, see above
        check_state_layout(d)  # an older program's private fields
        p = d["pipeline"]
        if not isinstance(p, Pipeline):
            raise TypeError(f"pipeline is {type(p).__name__}")
        return SiteState(p, int(d["covered"]), float(d["t_last"]))
    except (zlib.error, pickle.UnpicklingError, KeyError, TypeError, EOFError, AttributeError) as e:
        raise DecodeError("snapshot_body", f"{type(e).__name__}: {e}") from None
