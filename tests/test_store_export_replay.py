"""Exports (GeoJSON, KML, CSV) and the replay iterator."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.store.export import detections_csv, track_paths, tracks_geojson, tracks_kml
from skywarden.store.journal import open_journal
from skywarden.store.records import (
    OperatorAction,
    RawMessage,
    Record,
    TrackRecord,
    detection_to_dict,
    detections_of,
)
from skywarden.store.replay import ReplayCursor, ReplayItem, iter_raw, iter_raw_url

ORIGIN = GeoOrigin(33.3128, 44.3615, 34.0)


def _track(tid: str, t: float, e: float, cls: str, status: str = "confirmed") -> TrackRecord:
    return TrackRecord(
        t, tid, status, (e, 2.0 * e, 50.0, 5.0, 10.0, 0.0), class_probs={cls: 0.9, "bird": 0.1}
    )


def _det_msg(t: float) -> RawMessage:
    d1 = Detection(
        t,
        "radar-1",
        MeasurementKind.RANGE_AZ_EL_RADIAL,
        np.array([1000.0, 0.5, 0.1, -2.0]),
        np.eye(4),
        sensor_pos=np.array([0.0, 0.0, 8.0]),
        rcs_dbsm=-12.0,
    )
    d2 = Detection(t, "radar-1", MeasurementKind.AZ, np.array([1.0]), np.eye(1))
    parsed = {"detections": [detection_to_dict(d1), detection_to_dict(d2)]}
    return RawMessage(t, "radar-1", "skybench/1", b"line", parsed)


def _records() -> list[Record]:
    recs: list[Record] = []
    for i in range(5):
        recs.append(_det_msg(float(i)))
        recs.append(_track("T1", float(i), 10.0 * i, "drone"))
        if i < 3:
            recs.append(_track("T2", float(i), -10.0 * i, "aircraft"))
    recs.append(_track("T1", 5.0, 60.0, "drone", status="deleted"))
    recs.append(_track("T3", 2.0, 5.0, "bird", status="tentative"))
    return recs


def test_track_paths_group_and_sort() -> None:
    paths = track_paths(_records())
    assert [p.track_id for p in paths] == ["T1", "T2", "T3"]
    assert len(paths[0].states) == 5  # the deleted state is left out
    assert [p.track_id for p in track_paths(_records(), confirmed_only=True)] == ["T1", "T2"]


def test_geojson_tracks() -> None:
    gj = tracks_geojson(_records(), ORIGIN)
    json.dumps(gj)  # serialisable
    assert gj["type"] == "FeatureCollection"
    f1 = gj["features"][0]
    assert f1["properties"]["track_id"] == "T1" and f1["properties"]["class"] == "drone"
    assert f1["geometry"]["type"] == "LineString" and len(f1["geometry"]["coordinates"]) == 5
    lon, lat, alt = f1["geometry"]["coordinates"][0]
    assert lon == pytest.approx(44.3615, abs=1e-6) and lat == pytest.approx(33.3128, abs=1e-6)
    assert alt == pytest.approx(84.0, abs=0.1)
    assert gj["features"][2]["geometry"]["type"] == "Point"


def test_kml_tracks_is_valid_xml() -> None:
    text = tracks_kml(_records(), ORIGIN)
    root = ET.fromstring(text)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = root.findall(".//k:Placemark", ns)
    assert [m.findtext("k:name", namespaces=ns) for m in marks] == ["T1", "T2", "T3"]
    coords = marks[0].findtext(".//k:coordinates", namespaces=ns)
    assert coords is not None and len(coords.split()) == 5
    assert marks[1].findtext("k:styleUrl", namespaces=ns) == "#c_aircraft"


def test_detections_csv() -> None:
    rows = list(csv.DictReader(io.StringIO(detections_csv(_records(), ORIGIN))))
    assert len(rows) == 10
    r0 = rows[0]
    assert r0["sensor_id"] == "radar-1" and r0["kind"] == "range_az_el_radial"
    assert float(r0["e_m"]) == pytest.approx(1000 * np.cos(0.1) * np.sin(0.5), abs=1e-3)
    assert r0["lat"] and r0["rcs_dbsm"] == "-12.0"
    assert rows[1]["kind"] == "az" and rows[1]["e_m"] == ""
    dets = detections_of(_det_msg(3.0))
    assert dets[0].z.tolist() == [1000.0, 0.5, 0.1, -2.0] and dets[0].t == 3.0


def test_replay_order_times_and_window(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/r.sqlite"
    recs: list[Record] = []
    for i in range(20):
        # two sensors, with a small receive-time inversion to check recorded order is kept
        t = float(i) + (0.2 if i % 5 == 0 else 0.0)
        recs.append(RawMessage(t, "radar-1" if i % 2 else "rf-1", "fmt", b"%d" % i, {"i": i}))
        recs.append(OperatorAction(float(i), "alice", "noop"))
    with open_journal(url) as j:
        j.append_many(recs)
        items = list(iter_raw(j))
        assert [it.message.payload for it in items] == [b"%d" % i for i in range(20)]
        assert [it.seq for it in items] == sorted(it.seq for it in items)
        assert items[5].t == 5.2
        win = list(iter_raw(j, 4.5, 9.0))
        assert [it.message.parsed["i"] for it in win] == [5, 6, 7, 8, 9]
        assert [it.message.sensor_id for it in iter_raw(j, sensors=["rf-1"])][:2] == ["rf-1"] * 2
    assert len(list(iter_raw_url(url, 10.0, None))) == 10


def test_replay_cursor_paces_against_a_clock() -> None:
    items = [
        (1, 10.0),
        (2, 10.5),
        (3, 10.4),  # recorded after 2 though received earlier
        (4, 12.0),
    ]
    cur = ReplayCursor(ReplayItem(s, t, RawMessage(t, "s", "f", b"", None)) for s, t in items)
    assert cur.start_t == 10.0 and cur.next_t == 10.0
    assert [i.seq for i in cur.due(10.0)] == [1]
    assert [i.seq for i in cur.due(10.6)] == [2, 3]
    assert cur.clock_t == 10.5 and cur.next_t == 12.0
    assert cur.due(11.0) == []
    step = cur.step()
    assert step is not None and step.seq == 4 and cur.exhausted and cur.delivered == 4
