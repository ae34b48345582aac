"""Engine semantics: ticks step once per detection time, idle ticks still step, late
scans are refused (never applied out of order), empty messages are empty scans, operator
actions are checked, and the same inputs give the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

from service_helpers import make_site
from skywarden.core.errors import StateError
from skywarden.core.inbound import Inbound
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.runtime.engine.engine import Engine, scans_of
from skywarden.runtime.live.ingest import raw_record
from skywarden.service.source import UnknownAlertError
from skywarden.store.records import AlertRecord, OperatorAction, TickRecord, TrackRecord

SITE = make_site()
RADAR = SITE.sensor("radar-1")


def _det(t: float, r: float, az: float) -> Detection:
    return Detection(
        t,
        "radar-1",
        MeasurementKind.RANGE_AZ_EL_RADIAL,
        np.array([r, az, 0.06, -5.0]),
        RADAR.R(),
        RADAR.position_enu,
    )


def _approach(t0: float, n: int) -> list[Inbound]:
    """A drone flying in towards the residence, one radar message a second."""
    return [
        Inbound("radar-1", "json", t0 + k, b"", (_det(t0 + k, 1200.0 - 5.0 * k, 0.8),))
        for k in range(n)
    ]


def test_scans_group_by_detection_time_and_empty_messages_are_scans() -> None:
    a, b = _det(10.0, 500, 1.0), _det(10.5, 510, 1.0)
    scans = scans_of("radar-1", 11.0, [a, b, _det(10.0, 700, 2.0)])
    assert [(s.t, len(s.detections)) for s in scans] == [(10.0, 2), (10.5, 1)]
    (empty,) = scans_of("radar-1", 11.0, [])
    assert empty.t == 11.0 and empty.detections == ()


def test_ticks_step_per_detection_time_idle_steps_and_late_refusal() -> None:
    m = Engine(SITE)
    for msg in _approach(100.0, 3):
        m.inbound(msg)
    frames = m.tick(101.5)
    assert [f.t for f in frames] == [100.0, 101.0]  # 102.0 waits for a later tick
    assert [f.t for f in m.tick(101.7)] == [101.7]  # nothing due: an idle step at the tick
    m.inbound(Inbound("radar-1", "json", 101.8, b"", (_det(101.2, 1190.0, 0.8),)))
    assert m.counters.get("machine.rejected.too_late") == 1
    assert m.tick(101.6) == []  # time does not go back
    assert [f.t for f in m.tick(103.0)] == [102.0]


def test_same_inputs_same_outputs_and_live_form_equals_journal_form() -> None:
    msgs = _approach(200.0, 40)
    a, b = Engine(SITE), Engine(SITE)
    for k, msg in enumerate(msgs):
        a.feed(msg)
        b.feed(raw_record(msg))  # what the journal gives back
        if k % 3 == 2:
            a.feed(TickRecord(msg.received_t))
            b.feed(TickRecord(msg.received_t))
    out_a, out_b = a.drain(), b.drain()
    assert out_a == out_b
    tracks = [r for r in out_a if isinstance(r, TrackRecord)]
    assert tracks and {r.status for r in tracks} <= {"confirmed", "coasting", "deleted"}
    alerts = [r for r in out_a if isinstance(r, AlertRecord)]
    assert alerts and alerts[0].from_state is None and alerts[0].to_state == "raised"
    # acknowledge: checked, applied at the last step's time, recorded with who
    ev = a.act(OperatorAction(999.0, "op", "acknowledge", alerts[0].alert_id))
    assert ev.alert.acknowledged_by == "op" and ev.t == a.pipeline.last.t  # type: ignore[union-attr]
    (rec,) = a.drain()
    assert isinstance(rec, AlertRecord) and rec.actor == "op" and rec.from_state == "raised"
    a.act(OperatorAction(999.0, "op", "resolve", alerts[0].alert_id))
    with pytest.raises(StateError):  # a resolved alert cannot be acknowledged
        a.act(OperatorAction(999.0, "op", "acknowledge", alerts[0].alert_id))
    with pytest.raises(UnknownAlertError):
        a.act(OperatorAction(999.0, "op", "resolve", "A999"))
    with pytest.raises(StateError):
        a.act(OperatorAction(999.0, "op", "login", None))
