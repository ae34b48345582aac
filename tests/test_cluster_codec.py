"""Cluster wire messages: round trips and clear refusals (no server needed)."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_settings import FUZZ
from skywarden.core.errors import ConfigError, DecodeError
from skywarden.core.inbound import Inbound
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.snapshot import SiteState, dump_state, load_state
from skywarden.runtime.cluster.topology import check_token, parse_out_subject, raw_subject
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Pipeline
from skywarden.sim import load_scenario, simulate


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    return simulate(load_scenario("residence"), 3)


def test_raw_round_trip_keeps_detections(run) -> None:  # type: ignore[no-untyped-def]
    scans = [s for _, s in zip(range(200), run.scans(), strict=False) if s.detections]
    s = scans[5]
    m = Inbound(s.sensor_id, "sim", 1.7e9, b"\x00bytes\xff", s.detections)
    rep = codec.decode_raw(codec.encode_raw("site-1", m, s.t))
    assert rep.site == "site-1" and rep.t == s.t and rep.inbound.payload == m.payload
    assert len(rep.inbound.detections) == len(s.detections)
    for a, b in zip(rep.inbound.detections, s.detections, strict=True):
        assert a.kind == b.kind and a.t == b.t
        np.testing.assert_array_equal(a.z, b.z)
        np.testing.assert_array_equal(a.R, b.R)
        np.testing.assert_array_equal(a.sensor_pos, b.sensor_pos)
        assert a.sensor_id == b.sensor_id and a.rcs_dbsm == b.rcs_dbsm


def test_raw_stores_a_shared_noise_model_once(run) -> None:  # type: ignore[no-untyped-def]
    """A radar's plots share R and the sensor position: on the wire once, and decoded into one
    array that every detection holds (as the adapters hand them to the tracker)."""
    s = next(s for s in run.scans() if s.sensor_id == "radar-1" and len(s.detections) > 3)
    data = codec.encode_raw("site-1", Inbound(s.sensor_id, "sim", 1.7e9, b"x", s.detections))
    body = json.loads(data)
    assert "R" in body["common"] and all("R" not in d for d in body["detections"])
    dets = codec.decode_raw(data).inbound.detections
    assert len({id(d.R) for d in dets}) == 1 and len({id(d.sensor_pos) for d in dets}) == 1
    np.testing.assert_array_equal(dets[-1].R, s.detections[-1].R)


def test_raw_with_a_malformed_detection_row_is_refused() -> None:
    body = {"v": 1, "site": "s", "sensor_id": "r", "source": "sim", "received_t": 1.0,
            "t": 1.0, "payload_b64": "", "detections": [{"t": 1.0}]}  # fmt: skip
    with pytest.raises(DecodeError) as e:
        codec.decode_raw(json.dumps(body).encode())
    assert e.value.reason == "cluster_raw"


def test_frame_and_alert_round_trip(run) -> None:  # type: ignore[no-untyped-def]
    p = Pipeline(run.site)
    events = []
    frame = None
    for s in run.scans():
        frame = p.step([s], s.t)
        events += frame.events
        if s.t > 150 and frame.tracks and events:
            break
    assert frame is not None and frame.tracks and events
    f = codec.decode_frame(codec.encode_frame("s1", "w1", frame, [(7, 1.0), (9, 2.5)], 3.0))
    assert f.raw_seqs == (7, 9) and f.worker == "w1" and f.published_t == 3.0
    assert [t.track_id for t in f.tracks] == [t.id for t in frame.tracks]
    np.testing.assert_allclose(f.tracks[0].x, frame.tracks[0].x)
    a = codec.alert_of("s1", "w1", events[0], 9)
    b = codec.decode_alert(codec.encode_alert(a))
    assert b.record == a.record and b.msg_id == a.msg_id and b.event == events[0].kind
    # the same transition stepped at another time (other batches after a take-over) and by
    # another worker is the same message; another transition of the same alert is not
    import dataclasses

    later = dataclasses.replace(events[0], t=events[0].t + 9.5)
    assert codec.alert_of("s1", "w2", later, 12).msg_id == a.msg_id
    other = dataclasses.replace(events[0], kind="resolved")
    assert codec.alert_of("s1", "w1", other, 9).msg_id != a.msg_id
    # the same kind of transition of the same alert a second time is another message
    counter = codec.TransitionCounter()
    n1, n2 = counter.next(events[0]), counter.next(events[0])
    assert (n1, n2) == (1, 2)
    first = codec.alert_of("s1", "w1", events[0], 9, n1)
    again = codec.alert_of("s1", "w1", events[0], 9, n2)
    assert first.msg_id != again.msg_id
    assert codec.decode_alert(codec.encode_alert(again)).n == 2


def test_snapshot_restores_the_same_future(run) -> None:  # type: ignore[no-untyped-def]
    """An engine restored from its snapshot produces exactly the frames the original does."""
    scans = list(run.scans())
    a = Engine(run.site)

    def step(m: Engine, s) -> list:  # type: ignore[no-untyped-def,type-arg]
        m.message(s.sensor_id, s.t, s.detections, s.complete)
        return m.tick(s.t)

    for s in scans[:400]:
        step(a, s)
    b = load_state(dump_state(SiteState(a, covered=400, unframed=[(399, 1.5), (400, 2.5)])))
    assert b.covered == 400 and b.unframed == [(399, 1.5), (400, 2.5)]
    for s in scans[400:700]:
        fa, fb = step(a, s), step(b.machine, s)
        assert [[t.id for t in f.tracks] for f in fa] == [[t.id for t in f.tracks] for f in fb]
        for ta, tb in zip(
            [t for f in fa for t in f.tracks], [t for f in fb for t in f.tracks], strict=True
        ):
            np.testing.assert_array_equal(ta.x, tb.x)
        assert a.drain() == b.machine.drain()


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"not json", "cluster_json"),
        (b"[1,2]", "cluster_json"),
        (json.dumps({"v": 2}).encode(), "cluster_version"),
        (json.dumps({"v": 1, "site": "s"}).encode(), "cluster_raw"),
    ],
)
def test_bad_raw_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as e:
        codec.decode_raw(data)
    assert e.value.reason == reason


def test_snapshot_refuses_foreign_bytes() -> None:
    with pytest.raises(DecodeError):
        load_state(b"nope")
    with pytest.raises(DecodeError):
        load_state(b"SWS1garbage")  # the pickles of before: refused, never loaded
    with pytest.raises(DecodeError):
        load_state(b"SWS2garbage")  # a bare pipeline, before the worker drove the engine


def test_snapshot_of_another_state_layout_is_refused() -> None:
    """A snapshot written by a program whose pipeline internals had another shape (no layout
    mark: before layouts existed) is refused whole, with its own reason, so the caller
    rebuilds the state instead of failing later on a missing field."""
    from skywarden.core import statecodec
    from skywarden.runtime.cluster import snapshot
    from skywarden.runtime.engine import restore as record_restore

    old_site = {"covered": 1, "machine": None, "layout": 1}
    old_record = {"machine": None, "extra": {}}
    for mod, body in ((snapshot, old_site), (record_restore, old_record)):
        data = statecodec.encode(body, mod.MAGIC)
        with pytest.raises(DecodeError) as e:
            mod.load_state(data)
        assert e.value.reason == "snapshot_layout"


def test_subjects_and_tokens() -> None:
    assert raw_subject("riyadh-7", "radar_1") == "skywarden.site.riyadh-7.raw.radar_1"
    assert parse_out_subject("skywarden.site.a.tracks") == ("a", "tracks")
    assert parse_out_subject("skywarden.edge.b.alerts") == ("b", "alerts")
    assert parse_out_subject("other.site.a.tracks") is None
    for bad in ("a.b", "a b", "*", ">", ""):
        with pytest.raises(ConfigError):
            check_token(bad)


@FUZZ
@given(st.binary(max_size=300))
def test_decoders_never_crash(data: bytes) -> None:
    for fn in (codec.decode_raw, codec.decode_frame, codec.decode_alert, codec.decode_health):
        with contextlib.suppress(DecodeError):
            fn(data)


def test_control_records_round_trip_and_refusals() -> None:
    from skywarden.runtime.cluster.topology import CONTROL, control_subject, sensor_token
    from skywarden.store.records import ConfigChange, OperatorAction, TickRecord

    for rec in (
        TickRecord(12.5, source="w1"),
        OperatorAction(3.0, "ops1", "acknowledge", "A7-zone-1"),
        ConfigChange(4.0, "admin", "site.edit", None, {"zones": [], "whitelist": []}),
    ):
        assert codec.decode_control(codec.encode_control("s1", rec)) == rec
    bad = [
        json.dumps({"v": 1, "site": "s1", "record": {"kind": "raw", "t": 1.0}}).encode(),
        json.dumps({"v": 1, "site": "s1", "record": {"kind": "tick"}}).encode(),
        json.dumps({"v": 1, "site": "s1"}).encode(),
    ]
    for data in bad:
        with pytest.raises(DecodeError) as e:
            codec.decode_control(data)
        assert e.value.reason == "cluster_control", data
    assert control_subject("s1") == f"skywarden.site.s1.raw.{CONTROL}"
    with pytest.raises(ConfigError):  # no sensor can write on the control subject
        sensor_token(CONTROL)
    assert sensor_token("radar_1") == "radar_1"
