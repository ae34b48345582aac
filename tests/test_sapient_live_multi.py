"""Known gap (xfail): a SAPIENT radar node reporting two objects, one DetectionReport each.

BSI Flex 335 sends one DetectionReport per object, plus StatusReports with no detection.
The record machine turns every message into a scan (an empty one when it carries no
detection), and the tracker counts a miss for every track of a ``radar``-kind sensor that a
scan did not update; so each object's report is a miss for the other object and each status
report a miss for both: the two objects' tracks are lost and re-born again and again (the
same detections in one scan keep the same two tracks throughout). The fix belongs to the record machine /
tracker (per-object reports are not scans: no misses from SAPIENT, ADS-B, Remote ID
messages), not to the adapter, which must journal every message as received. This test is
strict: it starts failing (XPASS) the day that is fixed, so the marker gets removed.
"""

from __future__ import annotations

import numpy as np
import pytest

from sapient_helpers import NODE, SKY, detection_latlon, registration, status
from skywarden.core.inbound import Inbound
from skywarden.core.site import parse_site
from skywarden.runtime.record_machine import RecordMachine
from skywarden.sensors.sapient import SapientSessions, parse_message

SITE = {
    "name": "sapient-two-objects",
    "origin": {"lat": 51.0, "lon": -1.0},
    "sensors": [
        {
            "id": "sapient-radar",
            "kind": "radar",
            "measures": "xyz",
            "position_enu_m": [0, 0, 10],
            "sigma": {"x_m": 3.0, "y_m": 3.0, "z_m": 5.0},
            "update_s": 0.5,
            "pd": 0.9,
            "max_range_m": 5000,
        }
    ],
}


@pytest.mark.xfail(strict=True, reason="per-object SAPIENT reports count as scans (misses)")
def test_two_objects_in_separate_reports_both_tracked() -> None:
    site = parse_site(SITE)
    sessions = SapientSessions(site.origin, SKY, {NODE: ("sapient-radar", np.zeros(3))})
    machine = RecordMachine(site)
    t0 = 1_000_000.0

    def send(msg: object, t: float) -> None:
        body = msg.SerializeToString()  # type: ignore[attr-defined]
        out = sessions.handle(parse_message(body, t), conn_id=1)
        machine.inbound(Inbound("sapient-radar", "sapient", t, body, out.detections))

    send(registration(t=t0), t0)
    seen: set[str] = set()
    for k in range(40):
        t = t0 + 1 + 0.5 * k
        send(detection_latlon(t=t, lat=51.0054 + k * 2e-5, lon=-0.999, n=2 * k % 400), t)
        send(detection_latlon(t=t + 0.01, lat=51.0, lon=-0.990 + k * 3e-5, n=(2 * k + 1) % 400), t)
        if k % 4 == 0:
            send(status(t=t + 0.02), t + 0.02)
        machine.tick(t + 0.1)
        seen |= {tr.id for tr in machine.pipeline.tracker.tracks() if tr.confirmed}
    confirmed = [tr for tr in machine.pipeline.tracker.tracks() if tr.confirmed]
    assert len(confirmed) == 2
    assert len(seen) == 2, f"confirmed track ids over the run: {sorted(seen)}"
