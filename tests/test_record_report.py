"""The incident report of the simulated residence attack, from a journal the runtime wrote.

90 s of the residence scenario are recorded offline (the live loop's pieces without real
time, a duty officer acknowledging the first alert), replayed to check the record is
self-consistent, then rendered as HTML and PDF; the content is checked (tracks, alerts with
the acknowledgement, timeline, sensor health) and a screenshot of the HTML in headless
Chromium goes to ``test-artifacts/report.png`` (and to ``docs/report.png``, the README's, with
``SKYWARDEN_UPDATE_DOCS=1``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from skywarden.alerts.lifecycle import Alert, AlertState
from skywarden.cli.main import main
from skywarden.runtime.live.feeds import simulated_feed
from skywarden.runtime.offline.record_feed import record_feed
from skywarden.runtime.offline.replay import replay_journal
from skywarden.store.journal import open_journal
from skywarden.store.records import OperatorAction

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
T0 = 1_760_000_000.0


def _duty_officer(t: float, active: Sequence[Alert]) -> list[OperatorAction]:
    raised = [a for a in active if a.state is AlertState.RAISED]
    if raised and not _duty_officer.done:  # type: ignore[attr-defined]
        _duty_officer.done = True  # type: ignore[attr-defined]
        return [OperatorAction(t, "duty-officer", "acknowledge", raised[0].id)]
    return []


@pytest.fixture(scope="module")
def journal_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "residence.sqlite"
    j = open_journal(str(path))
    _duty_officer.done = False  # type: ignore[attr-defined]
    rec = record_feed(simulated_feed(seed=1), j, T0, 90.0, actions=_duty_officer)
    assert rec.actions == 1 and rec.messages > 500
    res = replay_journal(j)
    assert res.identical, res.summary()
    j.close()
    return path


def _run(*args: str) -> str:
    """The CLI in-process (its start-up is tested elsewhere): exit code 0 and its stdout."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(list(args))
    assert rc == 0, buf.getvalue()
    return buf.getvalue()


def test_html_report_shows_tracks_alerts_acknowledgement_and_timeline(
    journal_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    _run("report", str(journal_path), "--from", str(T0), "--to", str(T0 + 90), "-o", str(out))
    html = out.read_text(encoding="utf-8")
    assert "Site residence" in html
    for section in ("Map", "Tracks", "Alerts and acknowledgements", "Timeline", "Sensor health"):
        assert f"<h2>{section}</h2>" in html
    tracks = re.search(r'<table class="tracks">(.*?)</table>', html, re.S)
    alerts = re.search(r'<table class="alerts">(.*?)</table>', html, re.S)
    health = re.search(r'<table class="health">(.*?)</table>', html, re.S)
    assert tracks and alerts and health
    assert tracks.group(1).count("<tr>") >= 4  # header + several tracks
    assert "drone" in tracks.group(1)
    assert "-&gt; raised" in alerts.group(1)
    assert "duty-officer" in alerts.group(1) and "acknowledged" in alerts.group(1)
    for sensor in ("radar-1", "rf-west", "eoir-1", "acoustic-1"):
        assert sensor in health.group(1)
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) >= 4 and all(len(b) > 2000 for b in images[:3])
    assert 'id="timeline"' in html and "http://" not in html and "https://" not in html
    _screenshot(out)


def test_pdf_report_renders_with_its_pages(journal_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    stdout = _run("report", str(journal_path), "--zone", "residence", "-o", str(out))
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"/Title (Incident report)" in data
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 6
    assert "alert transitions" in stdout


def test_exports_from_the_same_journal(journal_path: Path, tmp_path: Path) -> None:
    import json

    for fmt in ("geojson", "kml", "csv", "courageous"):
        out = tmp_path / f"x.{fmt}"
        _run("export", str(journal_path), "--format", fmt, "-o", str(out))
        assert out.stat().st_size > 1000
    log = json.loads((tmp_path / "x.courageous").read_text())
    assert log["static_cuas_location"]["$type"] == "Position3d"
    recs = [r for s in log["tracks"] for r in s["records"]]
    assert recs and {"time", "record_number", "location", "classification", "alarm"} <= set(recs[0])
    assert any(r["alarm"]["active"] for r in recs)
    assert "UAV" in {r["classification"] for r in recs}
    numbers = [r["record_number"] for s in log["tracks"] + log["detection"] for r in s["records"]]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))


def _screenshot(html: Path) -> None:
    pw = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium: no screenshot")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1200, "height": 1500})
        page.goto(html.as_uri())
        page.wait_for_selector("#map")
        assert page.evaluate("document.getElementById('map').naturalWidth") > 300
        out = ROOT / "test-artifacts" / "report.png"
        out.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(out))
        if os.environ.get("SKYWARDEN_UPDATE_DOCS"):  # refresh the README's picture on demand
            page.screenshot(path=str(ROOT / "docs" / "report.png"))
        b.close()
    assert out.stat().st_size > 50_000


def test_replay_command_writes_tracks_and_compares(journal_path: Path, tmp_path: Path) -> None:
    import json

    out = tmp_path / "tracks.jsonl"
    printed = _run("replay", str(journal_path), "-o", str(out))
    assert "track records" in printed and "-> identical" in printed
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    snaps = [x for x in lines if "tracks" in x]
    alerts = [x for x in lines if x.get("type") == "alert"]
    assert len(snaps) > 100 and alerts
    assert {"id", "x", "y", "z", "vx", "vy", "vz", "confirmed", "class"} <= set(
        snaps[-1]["tracks"][0]
    )
    cfg = tmp_path / "other.toml"
    cfg.write_text("[threat]\nmin_age_s = 30.0\n[tracker.management]\n", encoding="utf-8")
    printed = _run("replay", str(journal_path), "--tracker-config", str(cfg))
    assert "alert records" in printed and "DIFFERENT" in printed
    bad = tmp_path / "bad.toml"
    bad.write_text("[tracker]\nno_such = 1\n", encoding="utf-8")
    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        assert main(["replay", str(journal_path), "--tracker-config", str(bad)]) == 2
    assert "tracker.no_such" in buf.getvalue()
