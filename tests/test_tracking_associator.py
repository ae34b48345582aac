"""The associator role: GNN and JPDA behind one protocol, interchangeable in the tracker."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.observation import Detection
from skywarden.tracking.associator import GNN, JPDA, Association, Associator
from skywarden.tracking.bank import CONFIRMED, TrackBank
from skywarden.tracking.hypothesiser import Hypotheses
from skywarden.tracking.report import Look
from skywarden.tracking.tracker import Tracker, TrackerConfig
from support.plots import PLOTS, xy

I64 = np.int64


def scene(seed: int, scans: int = 20) -> list[list[Detection]]:
    """Two targets crossing in clutter, a clutter plot in a gate every other scan."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(scans):
        t = float(k)
        dets = [xy(t, 100 + 10 * t + rng.normal(0, 5), -200 + rng.normal(0, 5))]
        dets.append(xy(t, 300 - 10 * t + rng.normal(0, 5), -150 + rng.normal(0, 5)))
        dets += [xy(t, *rng.uniform(-5000, 5000, 2)) for _ in range(5)]
        if k % 2:
            dets.append(xy(t, 100 + 10 * t + rng.uniform(-15, 15), -200 + rng.uniform(-15, 15)))
        out.append(dets)
    return out


def run(trk: Tracker, scans: list[list[Detection]]) -> list[tuple[str, float, float]]:
    for k, dets in enumerate(scans):
        trk.process(float(k), "p", dets)
    return [(s.id, float(s.x[0]), float(s.x[1])) for s in trk.tracks(confirmed_only=True)]


class Recording:
    """An associator that remembers what it was asked and delegates to another."""

    def __init__(self, inner: Associator) -> None:
        self.inner = inner
        self.calls = 0
        self.soft = 0

    def associate(self, hyp: Hypotheses, bank: TrackBank, look: Look) -> Association:
        self.calls += 1
        out = self.inner.associate(hyp, bank, look)
        self.soft += out.soft is not None
        return out


@pytest.mark.parametrize("kind", ["gnn", "jpda"])
def test_the_injected_associator_is_the_one_used_for_either_kind(kind: str) -> None:
    """JPDA no longer bypasses the associator: the configured kind and the same associator
    passed in give the same tracks, and the passed-in one sees every non-empty report."""
    scans = scene(7)
    by_config = run(Tracker([PLOTS], TrackerConfig(association=kind)), scans)
    inner: Associator = JPDA(TrackerConfig().p_gate) if kind == "jpda" else GNN()
    rec = Recording(inner)
    injected = run(Tracker([PLOTS], TrackerConfig(), associator=rec), scans)
    assert injected == by_config
    assert len(by_config) == 2
    assert rec.calls == len(scans)
    assert (rec.soft > 0) == (kind == "jpda")


def _hyp(ti: list[int], dj: list[int], llr: list[float], n_dets: int) -> Hypotheses:
    return Hypotheses(
        np.array(ti, dtype=I64),
        np.array(dj, dtype=I64),
        np.array(llr),
        np.full(len(ti), math.log(0.1)),
        {},
        np.zeros(n_dets, dtype=bool),
        np.ones(n_dets, dtype=I64),
    )


def _bank(n: int, confirmed: bool) -> TrackBank:
    from skywarden.tracking.bank import NewTracks

    b = TrackBank(1, np.ones(1))
    b.add(NewTracks(np.zeros((n, 6)), np.tile(np.eye(6), (n, 1, 1)), np.zeros(n), np.zeros(n),
                    [None] * n, ["p"] * n))  # fmt: skip
    if confirmed:
        b.status[:] = CONFIRMED
    return b


def _look(n_dets: int) -> Look:
    from skywarden.tracking.sensor_model import sensor_model

    sm = sensor_model(PLOTS)
    z = np.zeros((n_dets, 2))
    dets = [xy(0.0, 0.0, 0.0)] * n_dets
    return Look(0.0, sm, dets, z, PLOTS.R()[:2, :2], np.zeros(3), False, np.zeros(n_dets), z,
                True, True, np.zeros(0, dtype=I64))  # fmt: skip


def test_gnn_is_hard_and_one_to_one() -> None:
    # two tracks want detection 0; track 1 can also take detection 1 (worse): joint optimum
    hyp = _hyp([0, 1, 1], [0, 0, 1], [5.0, 6.0, 4.0], 2)
    a = GNN().associate(hyp, _bank(2, True), _look(2))
    assert a.soft is None
    assert sorted(zip(a.ta.tolist(), a.da.tolist(), strict=True)) == [(0, 0), (1, 1)]
    assert (a.claim_t == a.ta).all() and (a.claim_d == a.da).all()


def test_jpda_is_soft_for_established_tracks_and_claims_the_likely_pairs() -> None:
    hyp = _hyp([0, 0], [0, 1], [6.0, -2.0], 2)
    a = JPDA(0.9995).associate(hyp, _bank(1, True), _look(2))
    assert a.ta.shape[0] == 0 and a.soft is not None
    beta = dict(zip(a.soft.dj.tolist(), a.soft.beta.tolist(), strict=True))
    assert beta[0] > 0.9 > 0.01 > beta[1]
    assert beta[0] + beta[1] + a.soft.beta0[0] == pytest.approx(1.0)
    assert a.claim_d.tolist() == [0]  # only the pair of probability >= 0.5 claims


def test_jpda_gives_tentative_tracks_hard_pairs_and_binds_identities_hard() -> None:
    hyp = _hyp([0], [0], [6.0], 1)
    a = JPDA(0.9995).associate(hyp, _bank(1, False), _look(1))  # tentative track
    assert a.soft is None and a.ta.tolist() == [0] and a.da.tolist() == [0]
    forced = hyp._replace(forced={0: 0})
    a = JPDA(0.9995).associate(forced, _bank(1, True), _look(1))
    assert a.soft is None and a.ta.tolist() == [0] and a.da.tolist() == [0]
