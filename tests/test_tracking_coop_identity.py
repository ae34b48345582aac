"""One track per cooperative identity per scan: a scan holding two reports of one aircraft
(a feed batched per second: ADS-B sends positions at 2 Hz) must not start or keep two tracks
of it. Real data: the pyModeS sample capture (2 000 DF17 messages of one aircraft with
one-second timestamps; GPL-3.0 data, read by the test only), batched per timestamp."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.sensors.adsb_decode import AdsbDecoder
from skywarden.tracking.tracker import Tracker

CSV = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "adsb"
    / "pymodes_sample_data_adsb.csv"
)
ADSB = SensorSpec(
    "adsb-1",
    SensorKind.ADSB,
    MeasurementKind.POSITION_ID,
    np.zeros(3),
    {"pos_m": 30.0},
    update_s=1.0,
)


def test_real_capture_batched_per_second_keeps_one_track_per_aircraft() -> None:
    if not CSV.exists():
        pytest.skip(f"shared data absent: {CSV}")
    dec = AdsbDecoder(GeoOrigin(51.0, 6.5, 0.0), ADSB.id)
    scans: dict[float, list[Detection]] = defaultdict(list)
    with CSV.open() as f:
        rows = list(csv.reader(f))
    t0 = int(rows[0][0])
    for r in rows:
        t = float(int(r[0]) - t0)
        d = dec.feed(r[1].lower(), t)
        if d is not None:
            scans[t].append(d)
    doubles = sum(1 for v in scans.values() if len(v) > 1)
    assert doubles > 200  # the capture really has scans with two or three fixes of one ICAO
    tr = Tracker((ADSB,))
    most = 0
    for t in sorted(scans):
        tr.process(t, ADSB.id, scans[t], False)
        most = max(most, sum(1 for x in tr.tracks() if x.identity == "icao:406b90"))
    assert most == 1  # (before: two tracks of the aircraft at once in 9 scans)
    dropped = sum(len(v) - 1 for v in scans.values())
    assert tr.counters.get("dropped.duplicate_identity") == dropped


def test_two_reports_of_one_identity_in_one_scan_make_one_track() -> None:
    tr = Tracker((ADSB,))
    R = np.diag([9.0, 9.0, 9.0, 1.0, 1.0, 1.0])
    for k in range(5):
        t = float(k)
        z = np.array([100.0 + 5 * t, 200.0, 50.0, 5.0, 0.0, 0.0])
        a = Detection(t, ADSB.id, ADSB.measures, z, R, np.zeros(3), identity="ICAO:4CA123")
        zb = z + np.array([2.5, 0, 0, 0, 0, 0])
        b = Detection(t + 0.5, ADSB.id, ADSB.measures, zb, R, np.zeros(3), identity="ICAO:4CA123")
        tr.process(t + 0.5, ADSB.id, [a, b], False)
    tracks = tr.tracks()
    assert len(tracks) == 1 and tracks[0].identity == "ICAO:4CA123"
    assert tr.counters.get("dropped.duplicate_identity") == 5
    assert tracks[0].x[0] == pytest.approx(100.0 + 5 * 4.5, abs=3.0)  # the later one kept
