"""Linking incidents: launch regions and identities across investigations and sites."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from skywarden.cli.main import main
from skywarden.core.geo import GeoOrigin
from skywarden.runtime.investigate.link_incidents import link

SITE_A = GeoOrigin(33.3128, 44.3615, 34.0)
SITE_B = GeoOrigin(33.3300, 44.3900, 34.0)  # another site, some 3 km away


def _track(tid: str, site: GeoOrigin, e: float, n: float, **kw: Any) -> dict[str, Any]:
    lat, lon, _ = site.to_geodetic(e, n, 0.0)
    return {
        "id": tid,
        "suspect": True,
        "identity": kw.get("identity"),
        "first_trace_t": 0.0,
        "speed_median_mps": kw.get("speed", 20.0),
        "launch": {
            "latlon": [float(lat), float(lon)],
            "ellipse_m": {
                "semi_major": 200.0,
                "semi_minor": 80.0,
                "orientation_deg": 30.0,
                "confidence": 0.95,
            },
        },
    }


def _record(site: GeoOrigin, tracks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "investigation",
        "origin": {"lat": site.lat_deg, "lon": site.lon_deg, "alt_m": site.alt_m},
        "tracks": tracks,
    }


def test_common_launch_point_across_sites_and_identity() -> None:
    # the same field, seen from site A at (-2000, 500) and from site B in B's own frame
    field = SITE_A.to_geodetic(-2000.0, 500.0, 0.0)
    e_b, n_b, _ = SITE_B.to_enu(field[0], field[1], 0.0)
    a = _record(
        SITE_A,
        [
            _track("7", SITE_A, -2000.0, 500.0),
            _track("9", SITE_A, 3000.0, 3000.0, identity="RID-X"),
        ],
    )
    b = _record(
        SITE_B,
        [
            _track("41", SITE_B, float(e_b) + 90.0, float(n_b) - 60.0, speed=22.0),
            _track("42", SITE_B, 4000.0, -4000.0),
            _track("43", SITE_B, -5000.0, 200.0, identity="RID-X"),
        ],
    )
    origins = link([a, b], ["night-1", "night-2"])
    groups = [sorted((m.incident, m.track) for m in o.members) for o in origins]
    assert [("night-1", "7"), ("night-2", "41")] in groups  # same field, two sites
    assert [("night-1", "9"), ("night-2", "43")] in groups  # same Remote ID, far apart
    assert all(("night-2", "42") not in g for g in groups)  # elsewhere: no link
    field_group = next(o for o in origins if any(m.track == "41" for m in o.members))
    assert abs(field_group.lat - field[0]) < 0.001 and abs(field_group.lon - field[1]) < 0.001
    assert any("launch regions overlap" in w and "alike" in w for w in field_group.evidence)


def test_link_incidents_command(tmp_path: Path) -> None:
    a = _record(SITE_A, [_track("7", SITE_A, -2000.0, 500.0)])
    b = _record(SITE_A, [_track("8", SITE_A, -1950.0, 520.0)])
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(b))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["link-incidents", str(pa), str(pb)]) == 0
    assert "origin 1:" in buf.getvalue() and "track 8" in buf.getvalue()
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["link-incidents", str(tmp_path / "none.json")]) == 2
