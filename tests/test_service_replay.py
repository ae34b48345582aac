"""``/api/replay`` over a real SQLite journal holding track and alert records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from service_helpers import fast_users, login, make_site, track
from skywarden.core.clock import ManualClock
from skywarden.core.track import TrackStatus
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from skywarden.store.journal import open_journal
from skywarden.store.records import AlertRecord, TrackRecord
from support.scripted import ScriptedSource

T0 = 1_700_000_000.0


def test_replay_frames_follow_the_journal(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite://{tmp_path}/j.sqlite")
    recs: list[TrackRecord | AlertRecord] = []
    for k in range(10):  # T1 flies east at 10 m/s, a record per second; T2 is deleted at +4 s
        t = T0 + k
        recs.append(TrackRecord.from_state(track("T1", 100.0 + 10 * k, 0.0, 10.0, 0.0, t)))
        if k <= 4:
            st = TrackStatus.DELETED if k == 4 else TrackStatus.CONFIRMED
            recs.append(TrackRecord.from_state(track("T2", -50.0, 50.0, 0.0, 0.0, t, status=st)))
    recs.append(AlertRecord(T0 + 3.5, "A1", "T1", "raised", None, "residence", "alert"))
    journal.append_many(recs)
    source = ScriptedSource(make_site())
    app = create_app(
        ServiceSettings(), source, ManualClock(T0 + 20), users=fast_users(), replay=journal
    )
    with TestClient(app) as c:
        assert c.get("/api/replay/range").status_code == 401
        login(c, "victor")  # a viewer may replay
        assert c.get("/api/replay/range").json() == {"start": T0, "end": T0 + 9}
        r = c.get("/api/replay", params={"from": T0 + 2, "to": T0 + 6, "step": 1})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [f["t"] for f in body["frames"]] == [T0 + 2, T0 + 3, T0 + 4, T0 + 5, T0 + 6]
        ids = [[tr["id"] for tr in f["tracks"]] for f in body["frames"]]
        assert ids == [["T1", "T2"], ["T1", "T2"], ["T1"], ["T1"], ["T1"]]
        east = [f["tracks"][0]["enu"][0] for f in body["frames"]]
        assert east == [120.0, 130.0, 140.0, 150.0, 160.0]
        lat = [f["tracks"][0]["position"]["lat"] for f in body["frames"]]
        assert np.allclose(lat, 33.3128, atol=1e-3)
        assert body["frames"][0]["tracks"][0]["heading_deg"] == 90.0
        assert [a["alert_id"] for a in body["alerts"]] == ["A1"]
        bad = c.get("/api/replay", params={"from": T0, "to": T0 + 7200})
        assert bad.status_code == 422
        assert c.get("/api/replay", params={"from": T0 + 5, "to": T0}).status_code == 422
    journal.close()


def test_no_journal_no_replay() -> None:
    app = create_app(ServiceSettings(), ScriptedSource(make_site()), users=fast_users())
    with TestClient(app) as c:
        login(c, "victor")
        assert c.get("/api/replay/range").status_code == 404
        assert c.get("/api/replay", params={"from": 0, "to": 10}).status_code == 404
