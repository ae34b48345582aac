"""The investigation as a skybench/1 ``tracks.jsonl``: one snapshot per frame time.

Kept apart from the re-run (``rerun.py``) so that the estimation and the file format it is
scored in change separately; the report and the journal record read ``Investigation``
itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from skywarden.runtime.investigate.rerun import Investigation


def snapshot_lines(inv: Investigation) -> Iterator[dict[str, Any]]:
    """One skybench/1 snapshot per frame time: the retrospective tracks alive then."""
    for t in inv.frame_times:
        tracks = []
        for r in inv.tracks:
            if not (r.first_t - 1e-6 <= t <= r.last_t + 1e-6):
                continue
            x, _ = r.smoothed.state_at(t)
            row: dict[str, Any] = {
                "id": r.id,
                "x": round(float(x[0]), 2),
                "y": round(float(x[1]), 2),
                "z": round(float(x[2]), 2),
                "vx": round(float(x[3]), 2),
                "vy": round(float(x[4]), 2),
                "vz": round(float(x[5]), 2),
                "confirmed": True,
                "class": r.cls,
            }
            if r.launch is not None:
                row["launch_enu_m"] = [
                    round(r.launch.origin_enu[0], 1),
                    round(r.launch.origin_enu[1], 1),
                ]
                row["launch_ellipse_m"] = [
                    round(r.launch.ellipse.semi_major_m, 1),
                    round(r.launch.ellipse.semi_minor_m, 1),
                    round(r.launch.ellipse.orientation_deg, 1),
                ]
            tracks.append(row)
        yield {"t": t, "tracks": tracks}


def write_tracks(inv: Investigation, out: TextIO) -> int:
    n = 0
    for line in snapshot_lines(inv):
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
        n += 1
    return n
