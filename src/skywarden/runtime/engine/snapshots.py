"""The one frame of every state snapshot: ``core.statecodec`` of a dict with the layout mark.

The live restart (``record_restore``: magic ``SWR2``, the engine) and the cluster's per-site
state (``cluster.snapshot``: magic ``SWS2``) store different bodies the same way: a dict of
named parts plus ``"layout": STATE_LAYOUT``, refused whole when the layout or a part's type
is not what this program expects (the caller then rebuilds the state from its record).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skywarden.core import statecodec
from skywarden.core.errors import DecodeError
from skywarden.runtime.engine.pipeline import STATE_LAYOUT, check_state_layout


def encode_state(body: Mapping[str, Any], magic: bytes) -> bytes:
    """``body`` with this program's layout mark, encoded by ``core.statecodec``."""
    return statecodec.encode({**body, "layout": STATE_LAYOUT}, magic)


def decode_state(data: bytes, magic: bytes, parts: Mapping[str, type]) -> dict[str, Any]:
    """The body of a snapshot of ``magic``; each name in ``parts`` must be there with that
    type. Anything else (another layout, a missing or foreign part) raises
    ``DecodeError("snapshot_layout" | "snapshot_body")``."""
    body = statecodec.decode(data, magic)
    try:
        if not isinstance(body, dict):
            raise TypeError(f"body is {type(body).__name__}")
        check_state_layout(body)  # an older program's private fields
        for name, cls in parts.items():
            if not isinstance(body[name], cls):
                raise TypeError(f"{name} is {type(body[name]).__name__}")
    except (KeyError, TypeError, ValueError) as e:
        raise DecodeError("snapshot_body", f"{type(e).__name__}: {e}") from None
    return body
