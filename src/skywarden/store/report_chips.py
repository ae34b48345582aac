"""The report's camera-chip section: the image chip of each track a camera was cued to.

The live loop's slew-to-cue (``runtime.live.cue``) journals a cued track's chip as a
``ConfigChange`` under :data:`CHIP_KEY` (hash-chained with every other record); the report
shows the last chip of each track in its window with what the camera said (class,
confidence, when, which camera) and whether the image is synthetic (a simulated camera's
rendering, never to be taken for a photograph). No chip in the window: no section.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from skywarden.store.report_data import ReportData, clock_text

CHIP_KEY = "cue.chip"  # runtime.live.cue's key (store sits below runtime: no import)
PER_PAGE = 12


def chips_of(d: ReportData) -> dict[str, Mapping[str, Any]]:
    """Track id -> its last journaled chip in the report's window, in track-id order."""
    out: dict[str, Mapping[str, Any]] = {}
    for c in d.config:
        if c.key == CHIP_KEY and isinstance(c.new, Mapping) and "jpeg_b64" in c.new:
            out[str(c.new.get("track_id", ""))] = c.new
    return dict(sorted(out.items()))


def _caption(tid: str, c: Mapping[str, Any]) -> str:
    conf = float(c.get("confidence", 0.0))
    what = f"{tid}: {c.get('label', '?')} {conf:.0%}, {c.get('camera', '?')}"
    what += f" at {clock_text(float(c.get('t_image', 0.0)))}"
    return what + (" (synthetic)" if c.get("synthetic") else "")


def chips_html(d: ReportData, f: object) -> str:
    chips = chips_of(d)
    if not chips:
        return ""
    cards = "".join(
        f'<figure class="chip" data-track="{html.escape(tid)}">'
        f'<img alt="camera chip of {html.escape(tid)}" '
        f'src="data:image/jpeg;base64,{html.escape(str(c["jpeg_b64"]))}" width="128">'
        f"<figcaption>{html.escape(_caption(tid, c))}</figcaption></figure>"
        for tid, c in chips.items()
    )
    note = (
        "The last image chip of each track a camera was cued to. Chips marked synthetic "
        "were rendered by a simulated camera."
    )
    return f"<h2>Camera chips</h2><p>{note}</p>{cards}"


def chips_pdf(d: ReportData, f: object) -> list[Figure]:
    from PIL import Image

    items = list(chips_of(d).items())
    pages = []
    for k in range(0, len(items), PER_PAGE):
        fig = Figure(figsize=(11.69, 8.27))
        fig.suptitle("Camera chips (synthetic where marked)", x=0.05, ha="left")
        for i, (tid, c) in enumerate(items[k : k + PER_PAGE]):
            ax = fig.add_subplot(3, 4, i + 1)
            img = Image.open(io.BytesIO(base64.b64decode(str(c["jpeg_b64"]))))
            ax.imshow(img, cmap="gray", vmin=0, vmax=255)
            ax.set_title(_caption(tid, c), fontsize=7)
            ax.axis("off")
        pages.append(fig)
    return pages
