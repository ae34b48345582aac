"""The pooled site's engine (no NATS): the record machine fed in stream order.

A site whose sensors fall silent keeps ticking, so its tracks coast and drop and its alerts
clear exactly as the single-site engine does; a take-over from a snapshot halfway replays
the same steps and gives the same frames and the same alert transitions (same message ids);
operator actions and zone edits are inputs in the stream; the site's ``reports`` setting
decides whether a report is a whole look."""

from __future__ import annotations

import dataclasses

import pytest

from cluster_journal import (
    SITE,
    Picture,
    alert_key,
    first_difference,
    raw_report,
    reference,
    sim_journal,
)
from skywarden.core.site import Site
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.site_engine import OutFrame, SiteEngine, SiteState
from skywarden.runtime.cluster.snapshot import dump_state, load_state
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY, site_edit_payload
from skywarden.sim import load_scenario, simulate
from skywarden.store.records import ConfigChange, OperatorAction, RawMessage, Record, TickRecord


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    return simulate(load_scenario("residence"), 3)


def _items(records: list[Record]) -> list[tuple[int, codec.RawReport | codec.ControlRecord, bool]]:
    """The journal as a raw stream: sequence numbers from 1, reports in their wire form."""
    out = []
    for seq, rec in enumerate(records, 1):
        if isinstance(rec, RawMessage):
            out.append((seq, raw_report(rec), True))
        else:
            assert isinstance(rec, TickRecord | OperatorAction | ConfigChange)
            out.append((seq, codec.decode_control(codec.encode_control(SITE, rec)), False))
    return out


def _pooled(site: Site, records: list[Record], cut: int | None = None):  # type: ignore[no-untyped-def]
    """Feed a SiteEngine; with ``cut``, snapshot after that record and continue in a new
    engine restored from the snapshot (what a worker taking over does)."""
    eng = SiteEngine(SITE, "w1", SiteState.new(site))
    outs: list[codec.SiteAlert | OutFrame] = []
    for seq, item, report in _items(records):
        if cut is not None and seq == cut + 1:
            outs += eng.take_outbox()
            published = max((o.upto for o in outs if isinstance(o, OutFrame)), default=0)
            eng = SiteEngine(SITE, "w2", load_state(dump_state(eng.state)), published)
        eng.take(seq, item, report, 0.0)
    outs += eng.take_outbox()
    pics = [Picture.of_frame(o.frame) for o in outs if isinstance(o, OutFrame)]
    alerts = [alert_key(o) for o in outs if isinstance(o, codec.SiteAlert)]
    frames = [o for o in outs if isinstance(o, OutFrame)]
    return pics, alerts, frames


class _Whole:
    """The module's journals and their whole pooled feeds (no take-over), each built once:
    the silent-site pair of tests and both take-over cuts feed the same journal whole, and
    one such feed took 8-10 s of a worker. The memo hands out the same lists again; the
    tests only read them (a test that changes a journal builds a new list)."""

    def __init__(self, run) -> None:  # type: ignore[no-untyped-def]
        self._run = run
        self._journals: dict[tuple[float, float], list[Record]] = {}
        self._pooled: dict[tuple[float, float], tuple] = {}  # type: ignore[type-arg]

    def journal(self, until_s: float, silent_until_s: float) -> list[Record]:
        key = (until_s, silent_until_s)
        if key not in self._journals:
            self._journals[key] = sim_journal(self._run, until_s, silent_until_s)
        return self._journals[key]

    def pooled(self, until_s: float, silent_until_s: float):  # type: ignore[no-untyped-def]
        key = (until_s, silent_until_s)
        if key not in self._pooled:
            records = self.journal(until_s, silent_until_s)
            self._pooled[key] = _pooled(self._run.site, records)
        return self._pooled[key]


@pytest.fixture(scope="module")
def whole(run) -> _Whole:  # type: ignore[no-untyped-def]
    return _Whole(run)


def _strip(alerts: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [{k: v for k, v in a.items() if k != "worker"} for a in alerts]


def test_silent_site_ticks_exactly_as_a_single_site(run, whole: _Whole) -> None:  # type: ignore[no-untyped-def]
    records = whole.journal(110.0, 200.0)
    ref_pics, ref_alerts = reference(Engine(run.site), records)
    pics, alerts, frames = whole.pooled(110.0, 200.0)
    assert (d := first_difference(ref_pics, pics)) is None, d
    assert (d := first_difference(ref_alerts, alerts)) is None, d
    # the silent site still steps: a frame per tick, in the silence at the tick's time
    ticks = [r.t for r in records if isinstance(r, TickRecord)]
    assert len(pics) == len(ticks) and ticks[-1] == 200.0
    silent = [(p.t, t) for p, t in zip(pics, ticks, strict=True) if t > 111.0]
    assert len(silent) == 89 and all(a == b for a, b in silent)
    assert {a["event"] for a in alerts} >= {"raised"}
    # every report is accounted for in exactly one frame
    seen = [q for f in frames for q, _ in f.raw]
    n_reports = sum(isinstance(r, RawMessage) for r in records)
    assert len(seen) == len(set(seen)) == n_reports


def test_silent_site_drops_its_tracks_and_clears_its_alerts(whole: _Whole) -> None:
    pics, alerts, _ = whole.pooled(110.0, 200.0)
    assert not [t for t in pics[-1].tracks if t.status == "confirmed"]
    raised = {a["alert_id"] for a in alerts if a["event"] == "raised"}
    ended = {a["alert_id"] for a in alerts if a["to_state"] == "resolved"}
    assert raised <= ended, f"alerts still open after 90 s of silence: {raised - ended}"


@pytest.mark.parametrize("cut_at", [0.37, 0.71])
def test_takeover_from_a_snapshot_replays_the_same_steps(run, whole: _Whole, cut_at: float) -> None:  # type: ignore[no-untyped-def]
    records = whole.journal(130.0, 140.0)
    pics, alerts, _ = whole.pooled(130.0, 140.0)
    cut = int(len(records) * cut_at)
    pics2, alerts2, frames2 = _pooled(run.site, records, cut=cut)
    assert (d := first_difference(pics, pics2)) is None, d
    assert (d := first_difference(_strip(alerts), _strip(alerts2))) is None, d
    assert len({a["msg_id"] for a in alerts}) == len(alerts)
    assert sorted(q for f in frames2 for q, _ in f.raw) == [
        i for i, r in enumerate(records, 1) if isinstance(r, RawMessage)
    ]


def test_operator_actions_and_zone_edits_are_stream_inputs(run, whole: _Whole) -> None:  # type: ignore[no-untyped-def]
    records = whole.journal(130.0, 140.0)
    _, ref_alerts = reference(Engine(run.site), records)
    first = next(a for a in ref_alerts if a["event"] == "raised")
    # acknowledge it two ticks after it was raised; then drop every zone at 100 s
    at = next(
        i for i, r in enumerate(records) if isinstance(r, TickRecord) and r.t > first["t"] + 2
    )
    ack = OperatorAction(first["t"] + 2.5, "ops1", "acknowledge", first["alert_id"])
    no_zones = site_edit_payload(dataclasses.replace(run.site, zones=()))
    edit = ConfigChange(100.0, "admin", SITE_EDIT_KEY, None, no_zones)
    at_edit = next(i for i, r in enumerate(records) if isinstance(r, TickRecord) and r.t >= 100.0)
    records = [
        *records[: at + 1],
        ack,
        *records[at + 1 : at_edit + 1],
        edit,
        *records[at_edit + 1 :],
    ]
    ref_pics, ref_alerts = reference(Engine(run.site), records)
    cut = len(records) // 2
    pics, alerts, _ = _pooled(run.site, records, cut=cut)
    assert (d := first_difference(ref_pics, pics)) is None, d
    assert (d := first_difference(_strip(ref_alerts), _strip(alerts))) is None, d
    acked = [a for a in alerts if a["alert_id"] == first["alert_id"] and a["actor"] == "ops1"]
    assert acked and acked[0]["to_state"] == "acknowledged", acked
    # after the edit no zone remains, so no alert is raised any more
    assert not [a for a in alerts if a["event"] == "raised" and a["t"] > 101.0]
    assert [a for a in ref_alerts if a["event"] == "raised"], "the run raised alerts before"


def test_the_sites_reports_setting_decides_whole_looks(run) -> None:  # type: ignore[no-untyped-def]
    """A sensor declared ``reports = "objects"`` is not a whole look even in skybench format:
    a message that does not mention a track is no miss for it (the worker used to decide by
    the format alone and ignore the site file)."""
    sensors = tuple(dataclasses.replace(s, reports="objects") for s in run.site.sensors)
    objects_site = dataclasses.replace(run.site, sensors=sensors)
    records = sim_journal(run, until_s=60.0, silent_until_s=60.0)
    for site, whole in ((run.site, True), (objects_site, False)):
        eng = SiteEngine(SITE, "w", SiteState.new(site))
        seq, item, report = next(x for x in _items(records) if x[2])
        eng.take(seq, item, report)
        scans = [s for _, _, s in eng.state.machine.buffer._heap]
        assert scans and all(s.complete is whole for s in scans)
    p_whole, _, _ = _pooled(run.site, records)
    p_obj, _, _ = _pooled(objects_site, records)
    assert p_whole != p_obj  # the setting changes what the tracker does with a miss
