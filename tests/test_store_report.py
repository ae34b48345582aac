"""The incident report renders (HTML and PDF) and says what happened."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import Site, parse_site
from skywarden.store.journal import open_journal
from skywarden.store.records import (
    AlertRecord,
    OperatorAction,
    RawMessage,
    Record,
    TrackRecord,
    detection_to_dict,
)
from skywarden.store.report import (
    build_report,
    render_html,
    render_pdf,
    report_from_journal,
    write_report,
)


def _site() -> Site:
    return parse_site(
        {
            "name": "residence",
            "origin": {"lat": 33.3128, "lon": 44.3615, "alt_m": 34.0},
            "sensors": [
                {
                    "id": "radar-1",
                    "kind": "radar",
                    "measures": "range_az_el_radial",
                    "position_enu_m": [0, 0, 8],
                    "update_s": 1.0,
                    "sigma": {"range_m": 4, "az_rad": 0.008, "el_rad": 0.01, "radial_mps": 0.5},
                },
                {
                    "id": "rf-1",
                    "kind": "rf",
                    "measures": "az",
                    "position_enu_m": [50, 0, 3],
                    "update_s": 1.0,
                    "sigma": {"az_rad": 0.05},
                },
                {
                    "id": "cam-1",
                    "kind": "camera",
                    "measures": "az_el",
                    "position_enu_m": [-50, 0, 5],
                    "update_s": 1.0,
                    "sigma": {"az_rad": 0.01, "el_rad": 0.01},
                },
            ],
            "zones": [
                {
                    "id": "residence",
                    "kind": "protected",
                    "center_enu_m": [0, 0],
                    "radius_m": 150,
                    "floor_m": 0,
                    "ceiling_m": 300,
                },
                {
                    "id": "perimeter",
                    "kind": "warning",
                    "polygon_enu_m": [[-600, -600], [600, -600], [600, 600], [-600, 600]],
                },
            ],
        }
    )


def _records() -> list[Record]:
    recs: list[Record] = []
    for i in range(60):
        t = 1000.0 + i
        det = Detection(
            t,
            "radar-1",
            MeasurementKind.RANGE_AZ_EL_RADIAL,
            np.array([900.0 - 10 * i, 0.3, 0.1, -10.0]),
            np.eye(4),
        )
        recs.append(
            RawMessage(
                t, "radar-1", "skybench/1", b"r%d" % i, {"detections": [detection_to_dict(det)]}
            )
        )
        if i < 30:  # rf-1 goes quiet half way: a gap the health table must show
            recs.append(RawMessage(t + 0.5, "rf-1", "sapient", b"f%d" % i, None))
        # T1: a drone climbing in from the north-east into the residence zone
        recs.append(
            TrackRecord(
                t,
                "T1",
                "confirmed" if i > 2 else "tentative",
                (600.0 - 10 * i, 600.0 - 10 * i, 20.0 + i, -10.0, -10.0, 1.0),
                class_probs={"drone": 0.9, "bird": 0.1},
                identity="1581F4XFC228R00B2B4A",
                first_t=1000.0,
            )
        )
        if i % 2 == 0:
            recs.append(
                TrackRecord(
                    t,
                    "T2",
                    "confirmed",
                    (-400.0 + 3 * i, 500.0, 60.0, 3.0, 0.0, 0.0),
                    class_probs={"bird": 0.8, "drone": 0.2},
                )
            )
    recs += [
        AlertRecord(1030.0, "A1", "T1", "warning", None, "perimeter", "medium", "entered"),
        AlertRecord(1045.0, "A1", "T1", "alarm", "warning", "residence", "high", "inside"),
        OperatorAction(1047.0, "alice", "ack", "A1", {"note": "guards informed"}),
        AlertRecord(
            1055.0, "A1", "T1", "acknowledged", "alarm", "residence", "high", "ack", actor="alice"
        ),
    ]
    return sorted(recs, key=lambda r: r.t)


def test_report_content_html() -> None:
    d = build_report(_records(), 1000.0, 1059.0, site=_site(), title="Residence incident")
    assert [p.track_id for p in d.tracks] == ["T1", "T2"]
    health = {h.sensor_id: h for h in d.health}
    assert health["radar-1"].status == "OK" and health["radar-1"].detections == 60
    assert health["rf-1"].status == "GAPS" and health["cam-1"].status == "SILENT"
    # the launch region is threat.launch's (the live one), from T1's early states: the site's
    # radar states no range, so its first-seen point (600, 600); T2 is a bird: none
    assert [lp.track_id for lp in d.launches] == ["T1"]
    lp = d.launches[0]
    assert lp.method == "first_seen" and abs(lp.e - 600.0) < 1 and abs(lp.n - 600.0) < 1
    page = render_html(d)
    assert page.startswith("<!DOCTYPE html>") and "Residence incident" in page
    for tid in ("T1", "T2"):
        assert f"<td>{tid}</td>" in page
    alerts = re.search(r'<table class="alerts">(.*?)</table>', page, re.S)
    assert alerts is not None
    rows = re.findall(r"<tr>(.*?)</tr>", alerts.group(1), re.S)
    assert len(rows) == 1 + 4  # header + three transitions + one acknowledgement
    assert "warning -&gt; alarm" in alerts.group(1) and "alice" in alerts.group(1)
    assert "guards informed" in alerts.group(1)
    assert 'id="timeline"' in page and 'id="map"' in page
    # map, timeline, health, one kinematics page (up to four tracks each)
    assert page.count("data:image/png;base64,") == 3 + 1
    assert "http://" not in page and "https://" not in page  # self-contained
    assert "SILENT" in page and "GAPS" in page


def test_report_pdf_is_multipage(tmp_path: Path) -> None:
    d = build_report(_records(), 1000.0, 1059.0, site=_site())
    out = tmp_path / "r.pdf"
    n = render_pdf(d, out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type\s*/Page\b", data)
    assert len(pages) == n >= 8
    assert re.search(rb"/Count\s+%d\b" % n, data)


def test_report_from_journal_window_and_zone(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/j.sqlite"
    with open_journal(url) as j:
        j.append_many(_records())
        d = report_from_journal(j, 1000.0, 1059.0, site=_site(), zone="residence")
        assert [p.track_id for p in d.tracks] == ["T1"]  # T2 never entered the residence
        assert len(d.alerts) == 3
        early = report_from_journal(j, 1000.0, 1020.0, site=_site())
        assert early.alerts == () and all(s.t <= 1020.0 for p in early.tracks for s in p.states)
    html_path = write_report(d, tmp_path / "out" / "report.html")
    pdf_path = write_report(d, tmp_path / "out" / "report.pdf")
    assert "T1" in html_path.read_text() and pdf_path.read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="zone"):
        build_report(_records(), 1000.0, 1059.0, site=_site(), zone="nowhere")


def test_one_track_per_id_across_a_restart() -> None:
    """A restarted run (its own source, same ids, a replayed overlap) is the same track; an id
    reused by a far-away object after a long gap is not."""
    recs: list[Record] = []
    for r in _records():
        if isinstance(r, TrackRecord) and r.track_id == "T1":
            i = int(r.t - 1000.0)
            if i < 30:
                recs.append(replace(r, source="tracker/1"))
            if i >= 25:  # the second run re-built its state from the journal and went on
                recs.append(replace(r, source="tracker/2"))
        else:
            recs.append(r)
    recs.append(
        TrackRecord(1058.0, "T2", "confirmed", (3000.0, -3000.0, 50.0, 0, 0, 0), source="x/3")
    )
    d = build_report(recs, 1000.0, 1059.0, site=_site())
    ids = [p.track_id for p in d.tracks]
    assert ids.count("T1") == 1 and ids.count("T2") == 2
    t1 = next(p for p in d.tracks if p.track_id == "T1")
    times = [s.t for s in t1.states]
    assert times == sorted(set(times)) and len(times) == 60
    assert [lp.track_id for lp in d.launches] == ["T1"]  # one launch estimate, not two
    assert ids[0] == "T1"  # the suspect drone is listed first


def test_ballistic_round_impact_and_debris_areas_are_reported() -> None:
    """A round tracked to the ground gets its impact area; one lost in flight, where its debris
    came down; both on the map and in a table with their point of origin."""
    recs = list(_records())
    for name, last_i, impact_t in (("R1", 11, 1012.0), ("R2", 5, 1014.0)):
        for i in range(last_i + 1):
            t = 1000.0 + i
            ground = {
                "impact_enu_m": [250.0 + 10 * i, -40.0],
                "impact_t": impact_t,
                "impact_ellipse_m": [60.0, 25.0, 80.0],
                "launch_enu_m": [-3000.0, 1200.0],
            }
            recs.append(
                TrackRecord(
                    t, name, "confirmed", (-2000.0 + 200 * i, 800.0, 900.0, 200.0, -80.0, -50.0),
                    class_probs={"rocket": 0.9, "unknown": 0.1}, ground=ground,
                )
            )  # fmt: skip
    d = build_report(sorted(recs, key=lambda r: r.t), 1000.0, 1059.0, site=_site())
    areas = {a.track_id: a for a in d.impacts}
    assert set(areas) == {"R1", "R2"}
    # the latest prediction of each, not the first
    assert areas["R1"].e == 360.0 and areas["R1"].kind == "impact"
    assert areas["R2"].e == 300.0 and areas["R2"].kind == "debris"  # lost 9 s before impact
    assert areas["R1"].origin_en == (-3000.0, 1200.0)
    page = render_html(d)
    table = re.search(r'<table class="impacts">(.*?)</table>', page, re.S)
    assert table is not None
    assert "debris" in table.group(1) and "(360, -40)" in table.group(1)
    assert "60 x 25, 80 deg" in table.group(1) and "(-3000, 1200)" in table.group(1)
    # no ballistic round: no such section
    assert 'class="impacts"' not in render_html(build_report(_records(), 1000.0, 1059.0, _site()))
