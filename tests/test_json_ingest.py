"""Generic JSON detections: the pure parser (conversions, rejections, fuzz) and the POST route.

The route is tested with a real ``JournalingIngest`` on a SQLite journal: 202 only after the
message is in the journal, 400 with the reason (counted), 404 for an unknown sensor, 503
without an ingest port.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from fuzz_settings import FUZZ
from service_helpers import SITE_DICT, make_site
from skywarden.core.errors import InputRejected
from skywarden.core.inbound import Inbound
from skywarden.core.observation import MeasurementKind
from skywarden.core.site import SensorSpec, parse_site
from skywarden.runtime.live.ingest import JournalingIngest
from skywarden.sensors.json_detections import parse_json_detections
from skywarden.service.app import create_app
from skywarden.service.sessions import SensorTokens
from skywarden.service.settings import ServiceSettings
from skywarden.store.journal import open_journal
from skywarden.store.records import RawMessage, detections_of
from support.scripted import ScriptedSource

SITE = parse_site(
    {
        **SITE_DICT,
        "sensors": [
            *SITE_DICT["sensors"],  # radar-1: range_az_el_radial
            {
                "id": "cam-1",
                "kind": "camera",
                "measures": "xyz",
                "position_enu_m": [0, 0, 10],
                "sigma": {"x_m": 4, "y_m": 4, "z_m": 6},
            },
            {
                "id": "rf-1",
                "kind": "rf",
                "measures": "az",
                "position_enu_m": [5, 5, 3],
                "sigma": {"az_rad": 0.05},
            },
            {
                "id": "rid-1",
                "kind": "remote_id",
                "measures": "position_id",
                "position_enu_m": [0, 0, 0],
                "sigma": {"pos_m": 5},
            },
        ],
    }
)


def _sensor(sid: str) -> SensorSpec:
    return SITE.sensor(sid)


def _parse(sid: str, obj: Any) -> Any:
    return parse_json_detections(json.dumps(obj).encode(), _sensor(sid), SITE.origin)


def test_enu_and_geodetic_positions_become_xyz_with_the_sensor_noise() -> None:
    lat, lon, alt = SITE.origin.to_geodetic(100.0, -50.0, 40.0)
    rep = _parse(
        "cam-1",
        {
            "sensor_id": "cam-1",
            "t": 1_700_000_000.5,
            "detections": [
                {"enu": {"e": 100.0, "n": -50.0, "u": 40.0}, "class": "drone"},
                {"position": {"lat": lat, "lon": lon, "alt_m": alt}, "t": 1_700_000_000.25},
            ],
        },
    )
    a, b = rep.detections
    assert a.kind is MeasurementKind.XYZ and a.class_hint == "drone"
    np.testing.assert_allclose(a.z, [100.0, -50.0, 40.0])
    np.testing.assert_allclose(b.z, a.z, atol=1e-3)
    np.testing.assert_allclose(np.diag(a.R), [16.0, 16.0, 36.0])
    assert b.t == 1_700_000_000.25 and a.t == rep.t == 1_700_000_000.5


def test_polar_is_converted_about_the_sensor_with_propagated_covariance() -> None:
    rep = _parse(
        "cam-1",
        {
            "t": 10.0,
            "detections": [
                {
                    "polar": {"range_m": 1000, "az_deg": 90, "el_deg": 0},
                    "sigma": {"range_m": 2, "az_deg": 1, "el_deg": 1},
                }
            ],
        },
    )
    d = rep.detections[0]
    np.testing.assert_allclose(d.z, [1000.0, 0.0, 10.0], atol=1e-9)
    # cross-range error = range x angle error: far bigger than the range error
    assert d.R[1, 1] > 50 * d.R[0, 0]


def test_radar_bearing_and_remote_id_kinds() -> None:
    radar = _parse(
        "radar-1",
        {
            "t": 5.0,
            "detections": [
                {
                    "polar": {"range_m": 800, "az_rad": 1.0, "el_deg": 2, "radial_mps": -3},
                    "sigma": {"range_m": 2.0},
                    "rcs_dbsm": -20,
                }
            ],
        },
    ).detections[0]
    assert radar.kind is MeasurementKind.RANGE_AZ_EL_RADIAL
    np.testing.assert_allclose(radar.z, [800.0, 1.0, math.radians(2), -3.0])
    assert radar.R[0, 0] == 4.0 and radar.rcs_dbsm == -20
    rf = _parse("rf-1", {"t": 5.0, "detections": [{"polar": {"az_deg": -10}}]})
    with pytest.raises(InputRejected) as e:
        _parse("rf-1", {"t": 5.0, "detections": [{"polar": {"az_deg": 400}}]})
    assert e.value.reason == "out_of_range"
    assert rf.detections[0].kind is MeasurementKind.AZ
    assert rf.detections[0].z[0] == pytest.approx(math.radians(350))
    rid = _parse(
        "rid-1",
        {
            "t": 5.0,
            "detections": [
                {
                    "enu": {"e": 1, "n": 2, "u": 3},
                    "velocity": {"ve": 4, "vn": 5, "vu": 6},
                    "identity": "RID-1",
                }
            ],
        },
    ).detections[0]
    assert rid.kind is MeasurementKind.POSITION_ID and rid.identity == "RID-1"
    np.testing.assert_allclose(rid.z, [1, 2, 3, 4, 5, 6])


ENU = {"e": 1, "n": 1, "u": 1}
POLAR = {"range_m": 5, "az_deg": 1, "el_deg": 1, "radial_mps": 0}


def _one(det: dict[str, Any]) -> bytes:
    return json.dumps({"t": 1, "detections": [det]}).encode()


@pytest.mark.parametrize(
    ("sensor", "body", "reason"),
    [
        ("cam-1", b"{not json", "bad_json"),
        ("cam-1", b"\xff\xfe", "bad_utf8"),
        ("cam-1", b"[1, 2]", "not_an_object"),
        ("cam-1", b'{"t": 1, "detections": {}}', "bad_detections"),
        ("cam-1", b'{"detections": []}', "missing_field"),
        ("cam-1", b'{"t": "now", "detections": []}', "bad_value"),
        ("cam-1", b'{"t": 1, "sensor_id": "cam-2", "detections": []}', "sensor_mismatch"),
        ("cam-1", b'{"t": 1, "detections": [{"enu": {"e": 1, "n": 2}}]}', "missing_field"),
        ("cam-1", b'{"t": 1, "detections": [{}]}', "bad_position"),
        ("cam-1", _one({"enu": ENU, "polar": {}}), "bad_position"),
        ("cam-1", _one({"position": {"lat": 91, "lon": 0, "alt_m": 0}}), "out_of_range"),
        ("cam-1", _one({"enu": ENU, "sigma": {"pos_m": -1}}), "out_of_range"),
        ("radar-1", _one({"enu": ENU}), "needs_polar"),
        ("radar-1", _one({"polar": {**POLAR, "range_m": -5}}), "out_of_range"),
        ("radar-1", _one({"polar": {"range_m": 5, "az_deg": 1, "el_deg": 1}}), "missing_field"),
        ("rid-1", _one({"enu": ENU}), "missing_field"),
        ("cam-1", _one({"enu": ENU, "class": 7}), "bad_class"),
        ("cam-1", _one({"enu": None}), "bad_value"),  # found by the fuzz test
        ("cam-1", b'{"t": 1e400, "detections": []}', "not_finite"),
    ],
)  # fmt: skip
def test_malformed_messages_are_rejected_with_a_reason(
    sensor: str, body: bytes, reason: str
) -> None:
    with pytest.raises(InputRejected) as e:
        parse_json_detections(body, _sensor(sensor), SITE.origin)
    assert e.value.reason == reason


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["t", "detections", "enu", "position", "polar", "e", "n", "u", "lat", "lon", "alt_m",
     "range_m", "az_deg", "el_deg", "radial_mps", "velocity", "identity", "sigma", "class"]
)  # fmt: skip
STRUCTURED = st.recursive(
    JSON_VALUES, lambda inner: st.dictionaries(KEYS, inner, max_size=5), max_leaves=15
)


def _check(data: bytes, sid: str) -> None:
    try:
        rep = parse_json_detections(data, _sensor(sid), SITE.origin)
    except InputRejected as e:
        assert e.reason and isinstance(e.reason, str)
        return
    for d in rep.detections:  # what is accepted is well-formed
        assert np.isfinite(d.z).all() and np.isfinite(d.R).all()
        assert d.kind is _sensor(sid).measures


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["cam-1", "radar-1", "rf-1", "rid-1"]))
def test_fuzz_random_bytes_never_crash(data: bytes, sid: str) -> None:
    _check(data, sid)


@FUZZ
@given(
    st.floats(allow_nan=True, allow_infinity=True) | st.integers(),
    st.lists(STRUCTURED, max_size=4),
    st.sampled_from(["cam-1", "radar-1", "rf-1", "rid-1"]),
)
def test_fuzz_structured_json_never_crashes(t: Any, dets: list[Any], sid: str) -> None:
    try:
        data = json.dumps({"t": t, "detections": dets}).encode()
    except ValueError:
        return
    _check(data, sid)


# ------------------------------------------------------------------ the route


class Recorder:
    """An ingest port that only remembers (for the no-journal error path)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.got: list[Inbound] = []

    async def submit(self, batch: Sequence[Inbound]) -> None:
        if self.fail:
            raise RuntimeError("disk full")
        self.got.extend(batch)


SENSOR_TOKEN = "radar-1-test-token-0123456789"


def _client(port: Any) -> TestClient:
    src = ScriptedSource(make_site(), now=1_700_000_100.0)
    tokens = SensorTokens()
    tokens.set("radar-1", SENSOR_TOKEN)
    client = TestClient(create_app(ServiceSettings(), src, ingest=port, sensor_tokens=tokens))
    client.headers["Authorization"] = f"Bearer {SENSOR_TOKEN}"
    return client


def test_post_is_accepted_only_once_journaled(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite://{tmp_path}/j.sqlite")
    ingest = JournalingIngest(journal)
    body = {
        "t": 1_700_000_000.0,
        "detections": [{"polar": {"range_m": 500, "az_deg": 45, "el_deg": 3, "radial_mps": 1}}],
    }
    with _client(ingest) as client:
        client.portal.call(ingest.start)  # type: ignore[union-attr]
        r = client.post("/api/ingest/radar-1", json=body)
        assert r.status_code == 202, r.text
        assert r.json()["detections"] == 1
        # journaled before the answer: readable right now, bytes as sent
        raws = [x for x in journal.records(kinds=["raw"]) if isinstance(x, RawMessage)]
        assert len(raws) == 1 and raws[0].format == "json"
        assert json.loads(raws[0].payload) == body
        assert detections_of(raws[0])[0].z[0] == 500.0
        bad = client.post("/api/ingest/radar-1", content=b"{oops")
        assert bad.status_code == 400 and "bad_json" in bad.json()["detail"]
        assert client.post("/api/ingest/nope", json=body).status_code == 401  # no token for it
        client.portal.call(ingest.stop)  # type: ignore[union-attr]
        assert client.post("/api/ingest/radar-1", json=body).status_code == 503
    assert ingest.counters.get("ingest.rejected.bad_json") == 1
    assert ingest.counters.get("ingest.messages") == 1
    journal.close()


def test_without_a_port_or_with_a_failing_journal_nothing_is_acknowledged() -> None:
    body = {"t": 1.0, "detections": []}
    with _client(None) as client:
        assert client.post("/api/ingest/radar-1", json=body).status_code == 503
    failing = Recorder(fail=True)
    with _client(failing) as client:
        r = client.post("/api/ingest/radar-1", json=body)
        assert r.status_code == 503 and "disk full" in r.json()["detail"]


def test_concurrent_submits_are_group_committed_in_order(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite://{tmp_path}/j.sqlite")
    got: list[int] = []

    async def deliver(items: Sequence[tuple[int, Any]]) -> None:
        got.extend(seq for seq, _ in items)

    async def main() -> None:
        ingest = JournalingIngest(journal, deliver, linger_s=0.005)
        await ingest.start()
        msgs = [Inbound("radar-1", "json", float(i), b"%d" % i) for i in range(200)]
        await asyncio.gather(*(ingest.submit([m]) for m in msgs))
        await ingest.stop()
        assert ingest.counters.get("journal.commits") < 50
        assert ingest.counters.get("ingest.messages") == 200

    asyncio.run(main())
    assert got == sorted(got) and len(got) == 200
    payloads = [r.payload for r in journal.records(kinds=["raw"]) if isinstance(r, RawMessage)]
    assert payloads == [b"%d" % i for i in range(200)]
    journal.close()


_polar_plot = st.fixed_dictionaries(
    {
        "polar": st.fixed_dictionaries(
            {
                "range_m": st.floats(0.5, 1e5) | st.integers(1, 100_000),
                "az_deg": st.floats(-360.0, 360.0),
                "el_deg": st.floats(-90.0, 90.0),
                "radial_mps": st.floats(-300.0, 300.0),
            }
        )
    },
    optional={"t": st.floats(1.0, 2e9), "rcs_dbsm": st.floats(-100.0, 100.0)},
)


@FUZZ
@given(st.lists(_polar_plot, min_size=1, max_size=30))
def test_a_radar_scan_parsed_at_once_equals_detection_by_detection(plots: list[Any]) -> None:
    """The numpy fast path for plain polar scans gives exactly what the per-detection parser
    gives (same values, same covariance, same times)."""
    from skywarden.sensors.json_detections import _detection

    sensor = _sensor("radar-1")
    body = {"t": 1_700_000_000.0, "detections": plots}
    fast = parse_json_detections(json.dumps(body).encode(), sensor, SITE.origin).detections
    slow = [_detection(d, sensor, SITE.origin, body["t"]) for d in json.loads(json.dumps(plots))]
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert a.t == b.t and a.rcs_dbsm == b.rcs_dbsm and a.identity is None
        np.testing.assert_allclose(a.z, b.z, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.R, b.R, rtol=1e-12)
        assert a.kind is b.kind and a.attrs == b.attrs


def test_a_scan_with_one_bad_plot_is_refused_with_that_plots_reason() -> None:
    good = {"polar": {"range_m": 500, "az_deg": 45, "el_deg": 3, "radial_mps": 1}}
    bad = {"polar": {"range_m": -5, "az_deg": 45, "el_deg": 3, "radial_mps": 1}}
    with pytest.raises(InputRejected) as e:
        _parse("radar-1", {"t": 1.0, "detections": [good] * 50 + [bad]})
    assert e.value.reason == "out_of_range"  # as the per-detection parser names it
    with pytest.raises(InputRejected) as e:
        _parse("radar-1", {"t": 1.0, "detections": [good, {**good, "t": True}]})
    assert e.value.reason == "bad_value"
