"""The skybench/1 reader: good lines become detections, bad lines are rejected and counted."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_settings import FUZZ
from skywarden.core.errors import ConfigError
from skywarden.core.observation import MeasurementKind
from skywarden.sensors.skybench import SkybenchReader

HEADER = {
    "type": "header",
    "format": "skybench/1",
    "name": "t",
    "origin": {"lat": 33.0, "lon": 44.0, "alt_m": 0.0},
    "sensors": [
        {
            "id": "r",
            "kind": "radar",
            "measures": "range_az_el_radial",
            "position_enu_m": [0, 0, 8],
            "sigma": {"range_m": 4, "az_rad": 0.01, "el_rad": 0.01, "radial_mps": 0.5},
        },
        {
            "id": "rf",
            "kind": "rf",
            "measures": "az",
            "position_enu_m": [0, 0, 0],
            "sigma": {"az_rad": 0.03},
        },
    ],
}


def scenario(lines: list[str]) -> io.StringIO:
    return io.StringIO("\n".join([json.dumps(HEADER), *lines]) + "\n")


def det(**kw: object) -> str:
    d = {"range_m": 1000.0, "az_rad": 1.0, "el_rad": 0.1, "radial_mps": -3.0}
    d.update(kw)
    return json.dumps({"type": "detections", "t": 1.0, "sensor": "r", "detections": [d]})


def test_good_lines_become_detections() -> None:
    r = SkybenchReader(scenario([det(), det(az_rad=-0.5)]))
    scans = list(r)
    assert len(scans) == 2
    d = scans[0].detections[0]
    assert d.kind is MeasurementKind.RANGE_AZ_EL_RADIAL
    assert d.z.tolist() == [1000.0, 1.0, 0.1, -3.0]
    assert d.R[1, 1] == pytest.approx(1e-4)
    assert scans[1].detections[0].z[1] == pytest.approx(2 * math.pi - 0.5)  # wrapped to [0, 2pi)
    assert r.counters.get("accepted.scans") == 2


def test_bad_lines_rejected_with_line_numbers_and_stream_continues() -> None:
    lines = [
        det(),  # line 2, good
        "{not json",  # 3
        det(range_m=-5.0),  # 4
        det(el_rad=2.0),  # 5
        det(az_rad="north"),  # 6
        json.dumps({"type": "detections", "t": 2.0, "sensor": "ghost", "detections": []}),  # 7
        det(range_m=float("nan")).replace("NaN", "NaN"),  # 8
        json.dumps({"type": "detections", "t": 3.0, "sensor": "r", "detections": [{}]}),  # 9
        det(),  # 10, good
    ]
    r = SkybenchReader(scenario(lines))
    scans = list(r)
    # lines 4 and 5: sound numbers outside the domain, the plot dropped and the scan kept
    assert [s.line_no for s in scans] == [2, 4, 5, 10]
    assert [len(s.detections) for s in scans] == [1, 0, 0, 1]
    got = [(x.line_no, x.reason) for x in r.rejected]
    assert got == [
        (3, "bad_json"),
        (6, "bad_value"),
        (7, "unknown_sensor"),
        (8, "not_finite"),
        (9, "missing_field"),
    ]
    assert r.counters.get("rejected.bad_json") == 1
    assert r.counters.get("dropped.negative_range") == 1
    assert r.counters.get("dropped.elevation_out_of_range") == 1
    assert r.counters.get("accepted.scans") == 4


def test_a_plot_at_the_antenna_is_dropped_alone_and_the_scan_kept() -> None:
    """A drone hovering 5 m over the radar gives plots at range <= 0 or past the zenith
    (range sigma 6 m): that plot goes, the round seen in the same scan stays. Rejecting the
    whole scan cost generated ballistic_night seeds ~20 scans each and rockets their first
    plots (docs/BALLISTIC.md, session 14 ball3). An azimuth in degrees is a corrupt report
    and still rejects the whole scan."""
    good = {"range_m": 3000.0, "az_rad": 1.0, "el_rad": 0.01, "radial_mps": -350.0}
    near = [
        {"range_m": -0.3, "az_rad": 2.0, "el_rad": 1.2, "radial_mps": 0.5},
        {"range_m": 4.1, "az_rad": 2.0, "el_rad": 1.5774, "radial_mps": 0.5},
    ]
    line = json.dumps(
        {"type": "detections", "t": 1.0, "sensor": "r", "detections": [near[0], good, near[1]]}
    )
    bad_unit = json.dumps(
        {
            "type": "detections",
            "t": 1.5,
            "sensor": "r",
            "detections": [good, {**good, "az_rad": 90.0}],
        }
    )
    r = SkybenchReader(scenario([line, bad_unit]))
    scans = list(r)
    assert [s.t for s in scans] == [1.0]
    assert [d.z.tolist() for d in scans[0].detections] == [[3000.0, 1.0, 0.01, -350.0]]
    assert r.counters.get("dropped.negative_range") == 1
    assert r.counters.get("dropped.elevation_out_of_range") == 1
    assert [(x.line_no, x.reason) for x in r.rejected] == [(3, "angle_out_of_range")]


def test_the_live_feed_drops_the_same_plot_and_counts_it() -> None:
    """Every mode behaves the same: the live feed's and the simulator's path
    (``line_inbound`` -> ``report_to_scan``) keeps the scan and drops the plot at the antenna
    as ``skywarden track`` does (before: it rejected the whole line live, and an offline
    record of such a feed raised)."""
    from skywarden.runtime.live.feeds import line_inbound

    good = {"range_m": 3000.0, "az_rad": 1.0, "el_rad": 0.01, "radial_mps": -350.0}
    near = {"range_m": -0.3, "az_rad": 2.0, "el_rad": 1.2, "radial_mps": 0.5}
    line = {"type": "detections", "t": 1.0, "sensor": "r", "detections": [near, good]}
    r = SkybenchReader(scenario([json.dumps(line)]))
    (scan,) = list(r)
    dropped: list[str] = []
    m = line_inbound(line, r.site.sensor_map, "skybench", dropped)
    assert dropped == ["negative_range"] and r.counters.get("dropped.negative_range") == 1
    assert [d.z.tolist() for d in m.detections] == [d.z.tolist() for d in scan.detections]
    assert [d.z.tolist() for d in m.detections] == [[3000.0, 1.0, 0.01, -350.0]]


def test_bad_header() -> None:
    with pytest.raises(ConfigError, match="skybench/1"):
        SkybenchReader(io.StringIO(json.dumps({**HEADER, "format": "other"}) + "\n"))


def _same(a: object, b: object) -> bool:
    from skywarden.core.observation import Detection

    assert isinstance(a, Detection) and isinstance(b, Detection)
    return (
        a.t == b.t
        and a.sensor_id == b.sensor_id
        and a.kind is b.kind
        and a.z.tolist() == b.z.tolist()
        and a.R.tolist() == b.R.tolist()
        and a.sensor_pos.tolist() == b.sensor_pos.tolist()
        and a.rcs_dbsm == b.rcs_dbsm
        and a.identity == b.identity
        and a.attrs == b.attrs
    )


@pytest.mark.parametrize("name", ["radar3d_site", "multisensor_attack", "plots2d_N10_C10"])
def test_fast_scan_path_equals_detection_by_detection(name: str, bench_dir: Path) -> None:
    """The vectorised whole-scan parser gives exactly what the per-detection parser gives."""
    from skywarden.sensors.skybench import _fast_detections, parse_detection

    path = bench_dir / f"{name}.scenario.jsonl"
    r = SkybenchReader.open(path)
    sensors = r.site.sensor_map
    r.close()
    fast_used = 0
    with path.open() as f:
        next(f)
        for line in list(f)[:200]:
            obj = json.loads(line)
            s = sensors[obj["sensor"]]
            fast = _fast_detections(obj["detections"], s, float(obj["t"]))
            slow = tuple(parse_detection(d, s, float(obj["t"])) for d in obj["detections"])
            if fast is not None:
                fast_used += 1
                dets, stacked = fast
                assert len(dets) == len(slow)
                assert all(_same(a, b) for a, b in zip(dets, slow, strict=True))
                # the arrays handed to the tracker are the detections, stacked
                assert stacked.kind is s.measures
                assert np.array_equal(stacked.Z, np.stack([d.z for d in slow]))
                assert all(np.array_equal(d.R, stacked.R) for d in slow)
                assert all(np.array_equal(d.sensor_pos, stacked.sensor_pos) for d in slow)
                assert all(d.identity is None and "transmitter" not in d.attrs for d in dets)
    assert fast_used > 0


@pytest.mark.parametrize("name", ["radar3d_site", "plots2d_N10_C50"])
def test_tracker_given_the_arrays_tracks_as_without_them(name: str, bench_dir: Path) -> None:
    """The stacked arrays a bulk-parsed scan carries only save the tracker work: with them
    and without them it holds the same tracks, to the last bit, scan after scan."""
    from skywarden.tracking.tracker import Tracker

    r = SkybenchReader.open(bench_dir / f"{name}.scenario.jsonl")
    with_arrays, without = Tracker(r.site.sensors), Tracker(r.site.sensors)
    stacked_used = 0
    for i, scan in enumerate(r):
        if i == 150:
            break
        stacked_used += scan.stacked is not None
        with_arrays.process(scan.t, scan.sensor_id, scan.detections, scan.complete, scan.stacked)
        without.process(scan.t, scan.sensor_id, list(scan.detections), scan.complete)
        a, b = with_arrays.tracks(), without.tracks()
        assert [t.id for t in a] == [t.id for t in b]
        assert all(
            np.array_equal(x.x, y.x) and np.array_equal(x.P, y.P) for x, y in zip(a, b, strict=True)
        )
    r.close()
    assert stacked_used >= 100
    assert with_arrays.stats() == without.stats()


@pytest.mark.parametrize(
    "bad",
    [
        {"range_m": True},
        {"range_m": "1000"},
        {"range_m": -1.0},
        {"el_rad": 2.0},
        {"az_rad": 7.0},
        {"radial_mps": None},
        {"rcs_dbsm": "big"},
        {"rcs_dbsm": float("nan")},
    ],
)
def test_fast_scan_path_defers_every_doubt_to_the_exact_parser(bad: dict[str, object]) -> None:
    from skywarden.sensors.skybench import _fast_detections

    r = SkybenchReader(scenario([]))
    good = {"range_m": 1000.0, "az_rad": 1.0, "el_rad": 0.1, "radial_mps": -3.0}
    assert _fast_detections([good], r.site.sensor_map["r"], 1.0) is not None
    assert _fast_detections([good, {**good, **bad}], r.site.sensor_map["r"], 1.0) is None
    scans = list(SkybenchReader(scenario([det(**bad)])))
    if bad in ({"range_m": -1.0}, {"el_rad": 2.0}):
        # out of the domain only: the exact parser drops that plot and keeps the scan
        assert [len(s.detections) for s in scans] == [0]
    else:
        assert scans == []  # and the exact parser rejects the line


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.text(max_size=6),
)
_DET = st.dictionaries(
    st.sampled_from(["range_m", "az_rad", "el_rad", "radial_mps", "rcs_dbsm", "x", "y", "z"]),
    _VALUES,
    max_size=6,
)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_raw_lines_are_accepted_or_rejected_with_a_reason(data: bytes) -> None:
    _one_line(data.decode("utf-8", errors="replace"))


@FUZZ
@given(
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=4)),
    st.sampled_from(["r", "rf", "nope", 3]),
    st.one_of(st.lists(st.one_of(_DET, _VALUES), max_size=5), _VALUES),
)
def test_fuzz_structured_lines_are_accepted_or_rejected_with_a_reason(
    t: object, sensor: object, dets: object
) -> None:
    line = json.dumps({"type": "detections", "t": t, "sensor": sensor, "detections": dets})
    _one_line(line)


def _one_line(line: str) -> None:
    """A bad line never crashes the reader: it is counted under a reason and the next good
    line of the same stream is still read."""
    good = det()
    r = SkybenchReader(scenario([line.replace("\n", " "), good]))
    scans = list(r)
    rejected = sum(v for k, v in r.counters.snapshot().items() if k.startswith("rejected."))
    assert len(scans) + rejected >= 2 - (1 if not line.strip() else 0)
    assert scans and scans[-1].detections[0].z.tolist() == [1000.0, 1.0, 0.1, -3.0]
    for rej in r.rejected:
        assert rej.reason and rej.line_no >= 2


def test_detections_made_in_bulk_equal_ones_made_one_by_one() -> None:
    """``Detection.many`` skips ``__init__`` per plot: every field must still be what the
    constructor would have set, and bad shapes are refused for the whole scan."""
    import dataclasses

    import numpy as np
    import pytest

    from skywarden.core.observation import Detection, MeasurementKind

    kind = MeasurementKind.RANGE_AZ_EL_RADIAL
    Z = np.array([[100.0, 0.1, 0.05, -3.0], [250.0, 1.2, 0.2, 4.0]])
    R, pos = np.diag([4.0, 1e-4, 1e-4, 0.25]), np.array([1.0, 2.0, 3.0])
    bulk = Detection.many(5.0, "r1", kind, Z, R, pos, [None, -12.5], {"sensor_kind": "radar"})
    one = [
        Detection(5.0, "r1", kind, Z[i], R, pos, rcs_dbsm=r, attrs={"sensor_kind": "radar"})
        for i, r in enumerate([None, -12.5])
    ]
    for a, b in zip(bulk, one, strict=True):
        for f in dataclasses.fields(Detection):
            va, vb = getattr(a, f.name), getattr(b, f.name)
            assert np.array_equal(va, vb) if isinstance(va, np.ndarray) else va == vb, f.name
    assert bulk[0].attrs is not bulk[1].attrs  # each its own attrs
    with pytest.raises(ValueError):
        Detection.many(5.0, "r1", kind, Z[:, :3], R, pos, [None, None], {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        bulk[0].t = 1.0  # type: ignore[misc]
