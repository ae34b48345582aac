"""Spoof detection through the real tracker: a Remote ID broadcast whose position the radar
does not confirm is flagged, and the whitelist stops protecting it; an honest one is not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec, Site, WhitelistEntry, ZoneKind, ZoneSpec
from skywarden.core.track import TrackState, TrackStatus
from skywarden.runtime.engine.pipeline import Frame, Pipeline
from skywarden.sensors.skybench import Scan
from skywarden.threat.assess import ThreatLevel
from skywarden.threat.spoof import SpoofConfig, SpoofMonitor, compare_detection

RADAR = SensorSpec(
    "radar-1",
    SensorKind.RADAR,
    MeasurementKind.RANGE_AZ_EL_RADIAL,
    np.array([0.0, 0.0, 5.0]),
    {"range_m": 5.0, "az_rad": 0.01, "el_rad": 0.015, "radial_mps": 0.6},
    max_range_m=3000.0,
    pd=0.95,
)
RID = SensorSpec(
    "rid-1", SensorKind.REMOTE_ID, MeasurementKind.POSITION_ID, np.zeros(3), {"pos_m": 3.0}
)
SERIAL = "1581F4XFC228R00B2B4A"
SITE = Site(
    "spoof",
    GeoOrigin(33.0, 44.0),
    (RADAR, RID),
    (ZoneSpec("house", ZoneKind.PROTECTED, (0.0, 0.0), 150.0, None, 0.0, 300.0),),
    (WhitelistEntry(remote_id=SERIAL),),
)


def truth(t: float) -> np.ndarray:
    """A drone coming in from the east at 10 m/s, 60 m up."""
    return np.array([1800.0 - 10.0 * t, 250.0, 60.0, -10.0, 0.0, 0.0])


def radar_plot(x: np.ndarray, t: float, rng: np.random.Generator) -> Detection:
    d = x[:3] - RADAR.position_enu
    r = float(np.linalg.norm(d))
    z = np.array(
        [
            r + rng.normal(0, 5.0),
            math.atan2(d[0], d[1]) % (2 * math.pi) + rng.normal(0, 0.01),
            math.asin(d[2] / r) + rng.normal(0, 0.015),
            float(d @ x[3:]) / r + rng.normal(0, 0.6),
        ]
    )
    return Detection(t, RADAR.id, RADAR.measures, z, RADAR.R(), RADAR.position_enu, rcs_dbsm=-17.0)


def rid_report(x: np.ndarray, t: float, rng: np.random.Generator, shift: float) -> Detection:
    z = x + np.concatenate([rng.normal(0, 3.0, 3), rng.normal(0, 0.5, 3)])
    z[0] += shift
    return Detection(t, RID.id, RID.measures, z, RID.R(), RID.position_enu, identity=SERIAL)


def run(
    shift: float, seconds: int = 60, seed: int = 3, honest_until: float = -1.0
) -> tuple[Pipeline, Frame]:
    rng = np.random.default_rng(seed)
    pipe = Pipeline(SITE)
    frame = None
    for k in range(seconds):
        t = float(k)
        x = truth(t)
        frame = pipe.step(
            [
                Scan(t, RADAR.id, (radar_plot(x, t, rng),)),
                Scan(
                    t + 0.2,
                    RID.id,
                    (rid_report(truth(t + 0.2), t + 0.2, rng, 0.0 if t < honest_until else shift),),
                ),
            ],
            t + 0.2,
        )
    assert frame is not None
    return pipe, frame


def test_remote_id_shifted_300m_is_flagged_and_not_friendly() -> None:
    pipe, frame = run(300.0)
    flagged = pipe.spoof.flagged()
    assert [c.identity for c in flagged] == [SERIAL]
    chk = flagged[0]
    assert chk.suspicious and 250 < chk.offset_m < 350
    assert "Remote ID" in chk.reason and "radar" in chk.reason
    by_track = {a.track_id: a for a in frame.assessments}
    involved = [by_track[tid] for tid in pipe.spoof.by_track() if tid in by_track]
    assert involved
    for a in involved:
        assert a.identity_status == "suspicious" and not a.friendly
        assert any(r.startswith("suspicious identity") for r in a.reasons)
    rid_track = next(tr for tr in frame.tracks if tr.identity == SERIAL)
    a = by_track[rid_track.id]
    assert any("whitelist ignored" in r for r in a.reasons)


def test_honest_remote_id_is_not_flagged_and_stays_friendly() -> None:
    for seed in (3, 4, 5):
        pipe, frame = run(0.0, 90, seed)
        assert pipe.spoof.flagged() == []
        chk = pipe.spoof.check(SERIAL)
        assert chk is not None and not chk.suspicious and chk.reports >= 4
        friend = [a for a in frame.assessments if a.friendly]
        assert friend and all(a.level is ThreatLevel.NONE for a in friend)
        assert all(a.identity_status != "suspicious" for a in frame.assessments)


def test_bound_identity_that_starts_lying_is_caught() -> None:
    """Honest for 20 s, so the tracker binds the serial to the radar track; then the
    broadcast jumps 300 m while the radar keeps seeing the drone where it is."""
    pipe, frame = run(300.0, 60, honest_until=20.0)
    (chk,) = pipe.spoof.flagged()
    assert chk.offset_m == pytest.approx(300.0, abs=50.0)
    assert all(a.identity_status == "suspicious" for a in frame.assessments if not a.friendly)


def test_single_comparison_is_chi_square_scaled() -> None:
    rng = np.random.default_rng(0)
    x = truth(10.0)
    d2s = [
        compare_detection(rid_report(x, 10.0, rng, 0.0), radar_plot(x, 10.0, rng))[0]
        for _ in range(400)
    ]
    assert 3.0 < float(np.mean(d2s)) < 5.0  # chi-square, 4 dof: mean 4


@pytest.mark.parametrize(("shift", "flag"), [(0.0, False), (20.0, False), (300.0, True)])
def test_bound_track_plots_against_the_report(shift: float, flag: bool) -> None:
    """The bound case on its own: one track gets both the Remote ID reports and the plots
    (as the tracker's identity binding delivers them); the plots are the referee."""
    rng = np.random.default_rng(9)
    mon = SpoofMonitor(SITE)
    for k in range(30):
        t = float(k)
        mon.observe(t, RID.id, [("7", rid_report(truth(t), t, rng, shift), 1)], list)
        mon.observe(t + 0.5, RADAR.id, [("7", radar_plot(truth(t + 0.5), t + 0.5, rng), 1)], list)
    chk = mon.check(SERIAL)
    assert chk is not None and chk.suspicious is flag and chk.track_id == "7"
    assert chk.shadow_track_id is None
    if shift == 20.0:  # a 20 m bias against a stated 3 m: chi-square far over, not a spoof
        from skywarden.tracking.gating import chi2_gate

        win = mon._ids[SERIAL].window
        d2, dof = sum(w[0] for w in win), sum(w[1] for w in win)
        assert d2 > chi2_gate(dof, 1.0 - mon.cfg.p_false)  # the statistic alone would flag it
    if flag:
        assert "disagrees with radar/bearing by" in chk.reason
        assert mon.by_track() == {"7": chk}


RF_DF = SensorSpec(
    "rf-1", SensorKind.RF, MeasurementKind.AZ, np.array([50.0, 0.0, 3.0]), {"az_rad": 0.03}
)
DF_SITE = Site("spoof-df", GeoOrigin(33.0, 44.0), (RADAR, RID, RF_DF), (), SITE.whitelist)


def _shadow_run(shadow_sensor: SensorSpec, *, shadow_seen: bool = True) -> SpoofMonitor:
    """The unbound case fed straight to the monitor: the Remote ID track "7" gets no radar
    plot (the drone sits in the radar's Doppler notch, say) and track "9", without identity,
    moves in step with it 300 m away; ``shadow_sensor`` is what keeps locating "9"."""
    rng = np.random.default_rng(4)
    mon = SpoofMonitor(DF_SITE)
    for k in range(40):
        t = float(k)
        x = truth(t)
        shadow = TrackState(
            "9", t, x.copy(), np.diag([25.0, 25.0, 25.0, 1.0, 1.0, 1.0]), TrackStatus.CONFIRMED,
            sensors=(shadow_sensor.id,),
        )  # fmt: skip
        if shadow_seen:
            if shadow_sensor is RADAR:
                det = radar_plot(x, t, rng)
            else:
                d = x[:3] - RF_DF.position_enu
                det = Detection(
                    t, RF_DF.id, RF_DF.measures, np.array([math.atan2(d[0], d[1])]),
                    RF_DF.R(), RF_DF.position_enu,
                )  # fmt: skip
            mon.observe(t, shadow_sensor.id, [("9", det, 1)], list)
        rid = rid_report(truth(t + 0.2), t + 0.2, rng, 300.0)
        mon.observe(t + 0.2, RID.id, [("7", rid, 1)], [shadow].copy)
    return mon


def test_unbound_report_beside_a_radar_track_is_flagged() -> None:
    chk = _shadow_run(RADAR).check(SERIAL)
    assert chk is not None and chk.suspicious and chk.shadow_track_id == "9"
    assert 250 < chk.offset_m < 350


@pytest.mark.parametrize("seen", [True, False])
def test_no_radar_on_the_report_is_not_evidence_of_a_spoof(seen: bool) -> None:
    """A report the radar does not see (Doppler notch, out of coverage) beside a track the
    radar does not locate either (a bearing cross-fix, or a radar track coasting through the
    notch): nothing contradicts the report, so the identity stays a friend."""
    for mon in (_shadow_run(RF_DF, shadow_seen=seen), _shadow_run(RADAR, shadow_seen=False)):
        chk = mon.check(SERIAL)
        assert chk is not None and not chk.suspicious and chk.reports == 0


def _crossing_run(cfg: SpoofConfig) -> SpoofMonitor:
    """A friend crossing the radar's line of sight (8 m/s eastward 1.5 km north of the radar:
    radial speed under 1.7 m/s, in a Doppler radar's notch) reports honestly; the radar sees
    nothing there, but locates a track "9" 300 m east of it that moves in step (a bird that
    happens to fly the same way)."""
    rng = np.random.default_rng(5)
    mon = SpoofMonitor(DF_SITE, cfg)

    def friend(t: float) -> np.ndarray:
        return np.array([-150.0 + 8.0 * t, 1500.0, 60.0, 8.0, 0.0, 0.0])

    for k in range(40):
        t = float(k)
        x = friend(t) + np.array([300.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        other = TrackState(
            "9", t, x.copy(), np.diag([25.0, 25.0, 25.0, 1.0, 1.0, 1.0]), TrackStatus.CONFIRMED,
            sensors=(RADAR.id,),
        )  # fmt: skip
        mon.observe(t, RADAR.id, [("9", radar_plot(x, t, rng), 1)], list)
        rid = rid_report(friend(t + 0.2), t + 0.2, rng, 0.0)
        mon.observe(t + 0.2, RID.id, [("7", rid, 1)], [other].copy)
    return mon


@pytest.mark.parametrize("notch", [0.0, None])
def test_radar_silence_in_the_doppler_notch_opens_no_shadow_search(notch: float | None) -> None:
    """Silence about a report whose own velocity puts it in the radar's Doppler notch is what
    an honest report predicts: no shadow is sought, so a track in step 300 m away is not
    taken for the broadcaster. Without the notch (``doppler_notch_mps = 0``) the same run is
    called a spoof: the rule is what keeps the friend."""
    cfg = SpoofConfig() if notch is None else SpoofConfig(doppler_notch_mps=notch)
    chk = _crossing_run(cfg).check(SERIAL)
    assert chk is not None
    if notch is None:
        assert not chk.suspicious and chk.reports == 0
    else:
        assert chk.suspicious and chk.shadow_track_id == "9"
