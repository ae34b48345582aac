"""A proposal's brightness against its surround (issue 23, session 17).

Why: the camera link's class is decided from the CNN's look and (thermal) the link's motion
(``vision_motion``); neither sees how the object's *brightness* behaves over time. Rotors and
wingbeats modulate what the camera receives frame to frame, an aeroplane's hot body does not,
and a bird is cooler than an engine. ``brightness`` measures, per proposal, its blob's mean
and peak intensity relative to the surround (in units of the surround's robust spread) and
the surround's level; ``TrackSmoother`` carries them along the link and ``vision_motion``
turns their frame-to-frame flicker into class evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

# mean inside the blob and its peak (largest deviation, signed) minus the surround's median,
# in surround spreads; the surround's median (grey level 0-255); the blob's mean grey level
BRIGHT = ("mean_rel", "peak_rel", "surround", "inner")
N_BRIGHT = len(BRIGHT)
MIN_SIDE = 3  # the blob's box is measured over at least 3 x 3 pixels


def brightness(gray: NDArray[np.float32], cands: Sequence[Any]) -> NDArray[np.float32]:
    """(N, ``N_BRIGHT``) brightness of candidates (``cx, cy, w, h`` in ``gray``'s pixels):
    inside the blob's box (at least ``MIN_SIDE`` wide), and its surround -- the box grown by
    its larger side on every edge, less the box; clipped at the frame's border."""
    out = np.zeros((len(cands), N_BRIGHT), dtype=np.float32)
    hh, ww = gray.shape[:2]
    for j, c in enumerate(cands):
        w, h = max(float(c.w), MIN_SIDE), max(float(c.h), MIN_SIDE)
        x0, x1 = _span(c.cx, w, ww)
        y0, y1 = _span(c.cy, h, hh)
        g = max(x1 - x0, y1 - y0)
        X0, X1, Y0, Y1 = max(x0 - g, 0), min(x1 + g, ww), max(y0 - g, 0), min(y1 + g, hh)
        big = gray[Y0:Y1, X0:X1]
        inner = gray[y0:y1, x0:x1]
        mask = np.ones(big.shape, dtype=bool)
        mask[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0] = False
        ring = big[mask]
        if ring.size == 0 or inner.size == 0:
            continue
        med = float(np.median(ring))
        spread = float(np.median(np.abs(ring - med))) * 1.4826 + 1.0
        dev = inner - med
        k = int(np.argmax(np.abs(dev)))
        out[j] = (
            float(dev.mean()) / spread,
            float(dev.flat[k]) / spread,
            med,
            float(inner.mean()),
        )
    return out


def _span(centre: float, side: float, limit: int) -> tuple[int, int]:
    """The pixel range [a, b) of a side centred at ``centre``, inside [0, limit), never empty."""
    a = int(np.floor(centre - side / 2.0))
    b = int(np.ceil(centre + side / 2.0))
    a = min(max(a, 0), limit - 1)
    return a, min(max(b, a + 1), limit)
