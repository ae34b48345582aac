"""AlertManager.history stays bounded in a long-running service, and what the console needs
(recently resolved alerts at the tail, ``get`` of live alerts) still works."""

from __future__ import annotations

import numpy as np

from skywarden.alerts.lifecycle import AlertConfig, AlertManager, AlertState
from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site, ZoneKind, ZoneSpec
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.assess import ThreatAssessor

ZONE = ZoneSpec("res", ZoneKind.PROTECTED, (0.0, 0.0), 150.0, None, 0.0, 300.0)
SITE = Site("s", GeoOrigin(33, 44), (), (ZONE,), ())


def test_history_is_capped_and_the_tail_is_kept() -> None:
    a = ThreatAssessor(SITE)
    m = AlertManager(AlertConfig(clear_after_s=1.0, max_history=40))
    t = 0.0
    first_id = ""
    for k in range(200):  # 200 drones, each raised then resolved: 400 events
        tr = TrackState(
            str(k), t, np.array([0, 0, 50, 0, 0, 0.0]), np.eye(6), TrackStatus.CONFIRMED,
            class_probs={"drone": 0.95, "bird": 0.05}, first_t=t - 30.0,  # held past the hold
        )  # fmt: skip
        raised = m.update([a.assess_one(tr, t)], t)
        first_id = first_id or raised[0].alert.id
        t += 2.0
        m.update([], t)
        assert len(m.history) <= 50
    last = m.history[-1]
    assert last.kind == "resolved" and last.alert.track_id == "199"
    assert first_id == "A0-res-1"  # track 0, zone res, its first alert
    assert m.get(last.alert.id) is not None and m.get(first_id) is None  # the oldest are gone
    assert all(e.alert.state is AlertState.RESOLVED for e in m.history if e.kind == "resolved")
