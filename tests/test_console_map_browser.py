"""The operator's map in real headless Chromium at 1600x1000 and 390x844 (issue 20).

A uvicorn server over a ScriptedSource serves a scene with every affiliation, a launch estimate
with a Remote ID operator, bearing-only reports and a threat off-screen, with a basemap from an
MBTiles file this test creates. Every request the page makes is checked to stay on loopback.
Shown: the tiles are drawn under the tracks (the canvas is mostly tile-green where no symbol
is, and a hostile symbol's pixels are its fill over the tile), the 2525 affiliation colours,
an alert click bringing its off-screen track into view, the launch ellipse and bearing lines
drawn, the lat/lon + MGRS readout, the resolve-with-reason dialogue journaled as an audit
record, and the household page counting down. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from map_helpers import (
    HILL_ENU,
    HILL_SIGMA_M,
    make_dem_mbtiles,
    make_mbtiles,
    map_site,
    scene_picture,
)
from service_helpers import PASSWORDS, fast_users
from support.served import ServedApp
from test_console_browser import ARTIFACTS, chromium

playwright_api = pytest.importorskip("playwright.sync_api")
HOUSEHOLD_TOKEN = "household-test-token-1"


class MapServer(ServedApp):
    """uvicorn in a thread over a ScriptedSource of the map scene."""

    def __init__(self, basemap: Path | None, dem: Path | None = None) -> None:
        from skywarden.service.app import create_app
        from skywarden.service.audit import MemoryAudit
        from skywarden.service.settings import ServiceSettings
        from support.scripted import ScriptedSource

        self.source = ScriptedSource(map_site(), now=1_700_000_100.0)
        self.source.push(scene_picture(self.source.site))
        self.audit = MemoryAudit()
        settings = ServiceSettings(
            stale_after_s=3600,
            basemap=str(basemap) if basemap else None,
            dem=str(dem) if dem else None,
            household_token=HOUSEHOLD_TOKEN,
        )
        super().__init__(create_app(settings, self.source, users=fast_users(), audit=self.audit))


@pytest.fixture(scope="module")
def mbtiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("basemap") / "streets.mbtiles"
    assert make_mbtiles(path) > 50
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _guarded_page(browser: Any, width: int, height: int) -> tuple[Any, list[str], list[str]]:
    """A page whose every request is recorded; any not to 127.0.0.1 is aborted and listed."""
    page = browser.new_page(viewport={"width": width, "height": height})
    seen: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        seen.append(url)
        host = urlsplit(url).hostname
        if url.startswith("data:") or host == "127.0.0.1":
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, seen, errors


def _off_machine(seen: list[str]) -> list[str]:
    return [u for u in seen if not u.startswith("data:") and urlsplit(u).hostname != "127.0.0.1"]


_GREEN_SHARE = """() => {
  const c = document.getElementById('map'), g = c.getContext('2d');
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let green = 0, n = 0;
  for (let i = 0; i < d.length; i += 4 * 97) {
    n++;
    if (d[i + 1] > d[i] + 15 && d[i + 1] > d[i + 2] + 10) green++;
  }
  return green / n;
}"""

# the pixels of a 5x5 patch inside the symbol's frame, left of its class icon
_SYMBOL_PIXEL = """(id) => {
  const s = window.skywarden.map.drawnSymbols.find((x) => x.id === id);
  const c = document.getElementById('map'), dpr = window.devicePixelRatio || 1;
  const x0 = Math.round((s.x - 0.75 * s.r) * dpr) - 2, y0 = Math.round((s.y + 0.2 * s.r) * dpr) - 2;
  const d = c.getContext('2d').getImageData(x0, y0, 5, 5).data, rgb = [];
  for (let i = 0; i < d.length; i += 4) rgb.push([d[i], d[i + 1], d[i + 2]]);
  return { aff: s.aff, rgb };
}"""


def _wait_green(page: Any, share: float = 0.3) -> None:
    """The basemap is under everything: most of the canvas becomes tile green. Waited for,
    not sampled once: ``tilesDrawn`` counts the first tile, and on a busy machine (two test
    workers) the rest arrive over the next frames (0.19 was sampled once)."""
    page.wait_for_function(f"({_GREEN_SHARE})() > {share}", timeout=15_000)


def _close(patch: list[list[int]], hexcolour: str, tol: int = 30) -> bool:
    """Most of the patch is the colour (antialiased icon or frame edges may touch it)."""
    want = [int(hexcolour[i : i + 2], 16) for i in (1, 3, 5)]
    hits = sum(all(abs(a - b) <= tol for a, b in zip(px, want, strict=True)) for px in patch)
    return hits >= len(patch) // 2


def test_map_at_1600_basemap_symbols_alert_focus_launch_bearings(
    mbtiles: Path, browser: Any
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with MapServer(mbtiles) as srv:
        page, seen, errors = _guarded_page(browser, 1600, 1000)
        page.goto(f"http://127.0.0.1:{srv.port}/?range=1000")
        page.wait_for_selector("#tracks tbody tr")
        page.wait_for_function("Number(document.getElementById('map').dataset.tilesDrawn) > 0")
        page.wait_for_function("Number(document.getElementById('map').dataset.tracksDrawn) > 0")
        ds = page.evaluate("({...document.getElementById('map').dataset})")
        # the basemap is under everything: most of the canvas is tile green
        _wait_green(page)
        assert any("/api/tiles/" in u for u in seen)
        # affiliation colours, each symbol's fill drawn over the tiles
        for tid, aff, fill in [
            ("H1", "hostile", "#ff8080"),
            ("F1", "friend", "#80e0ff"),
            ("B4", "neutral", "#aaffaa"),  # the last of its flock: on top
        ]:
            px = page.evaluate(_SYMBOL_PIXEL, tid)
            assert px["aff"] == aff, (tid, px)
            assert _close(px["rgb"], fill), (tid, px)
        # a friendly drone is not a threat: no "watch" nor time to zone in its row
        f1 = page.inner_text("#tracks tbody tr[data-id=F1]")
        assert "friend" in f1 and "watch" not in f1
        # launch ellipse and bearing lines drawn; X1 is off-screen and marked at the edge
        assert int(ds["launchesDrawn"]) >= 1
        # the two reports with no track; the one of H1 only once H1 is selected
        assert int(ds["bearingsDrawn"]) == 2
        assert "X1" in ds["edgeMarkers"].split(",")
        assert int(ds["labelsPlaced"]) < int(ds["labelsWanted"])  # decluttered, not piled
        # the cursor readout: lat/lon and MGRS under the mouse
        page.mouse.move(500, 400)
        readout = page.inner_text("#readout")
        grid = r"\d+\.\d{5}°N \d+\.\d{5}°[EW] · MGRS 3[01]U [A-Z]{2} \d{5} \d{5}"
        assert re.search(grid, readout), readout
        # the console's MGRS against a widely used worked example (Washington Monument,
        # "18SUJ2348706483"), to a metre or two
        ref = page.evaluate("import('/geo.js').then((g) => g.mgrs(38.8895, -77.0352))")
        zone_sq, e5, n5 = ref.split(" ")[0:2], int(ref.split()[2]), int(ref.split()[3])
        assert zone_sq == ["18S", "UJ"] and abs(e5 - 23487) <= 2 and abs(n5 - 6483) <= 2
        page.screenshot(path=str(ARTIFACTS / "map-1600.png"))

        # clicking the alert of the off-screen X1 brings it into view, selected
        page.click("#alerts li[data-track=X1]")
        page.wait_for_function("window.skywarden.view.selected === 'X1'")
        pos = page.evaluate(
            """() => { const m = window.skywarden.map, t = m.tracks.find((x) => x.id === 'X1');
                       const [x, y] = m.toScreen(t.enu[0], t.enu[1]);
                       return [x, y, m.canvas.clientWidth, m.canvas.clientHeight]; }"""
        )
        assert 0 < pos[0] < pos[2] and 0 < pos[1] < pos[3]
        assert "track=X1" in page.url
        assert "X1" not in page.evaluate("document.getElementById('map').dataset.edgeMarkers")
        assert "AGL" in page.inner_text("#details") and "HAE" in page.inner_text("#details")

        # resolving asks why; the reason is journaled (audited) with the alert id
        page.click("#login-btn")
        page.fill("#login input[name=username]", "olga")
        page.fill("#login input[name=password]", PASSWORDS["olga"])
        page.click("#login button[type=submit]")
        page.wait_for_selector("body[data-role=operator]")
        page.click("#alerts li[data-track=H1] button[data-act=resolve]")
        assert page.locator("[data-act=resolve-confirm]").is_disabled()
        page.select_option(".resolve-why select", "exercise")
        page.fill(".resolve-why input", "planned test flight")
        page.click("[data-act=resolve-confirm]")
        page.wait_for_selector("#alerts li[data-track=H1].resolved")
        why = [e for e in srv.audit.entries() if getattr(e, "action", "") == "resolve_reason"]
        assert len(why) == 1 and why[0].target == "AH1-house-1"
        assert why[0].detail == {"reason": "exercise", "note": "planned test flight"}
        assert _off_machine(seen) == []
        assert errors == []
        page.close()


def test_map_at_390_phone_and_household_page(mbtiles: Path, browser: Any) -> None:
    with MapServer(mbtiles) as srv:
        page, seen, errors = _guarded_page(browser, 390, 844)
        page.goto(f"http://127.0.0.1:{srv.port}/?range=900")
        page.wait_for_function("Number(document.getElementById('map').dataset.tilesDrawn) > 0")
        page.wait_for_function("Number(document.getElementById('map').dataset.launchesDrawn) > 0")
        _wait_green(page)
        assert _close(page.evaluate(_SYMBOL_PIXEL, "H1")["rgb"], "#ff8080")
        assert int(page.evaluate("document.getElementById('map').dataset.bearingsDrawn")) == 2
        page.evaluate("window.skywarden.view.select('H1')")
        page.wait_for_function("document.getElementById('map').dataset.bearingsDrawn === '3'")

        # the off-screen warning X1 has an arrow at the edge: tapping it brings X1 into view
        edge = page.evaluate("window.skywarden.map.edges.find((m) => m.id === 'X1')")
        assert edge is not None
        canvas = page.locator("#map").bounding_box()
        page.mouse.click(canvas["x"] + edge["x"], canvas["y"] + edge["y"])
        page.wait_for_function("window.skywarden.view.selected === 'X1'")
        assert "X1" not in page.evaluate("document.getElementById('map').dataset.edgeMarkers")

        # follow mode: the highest threat (H1, alert) is centred and selected at once
        page.click("#follow")
        page.wait_for_function("window.skywarden.view.selected === 'H1'")
        assert page.evaluate("window.skywarden.view.center") == [-260, 300]
        assert "follow=1" in page.url
        assert page.get_attribute("#follow", "aria-pressed") == "true"
        box = page.locator("#map").bounding_box()
        assert box["width"] <= 390 and box["height"] > 300
        page.screenshot(path=str(ARTIFACTS / "map-390.png"))

        # the household page: its own token, one countdown and a direction
        home, seen2, errors2 = _guarded_page(browser, 390, 844)
        home.goto(f"http://127.0.0.1:{srv.port}/household.html#token=wrong")
        home.wait_for_selector("#status:has-text('link is not valid')")
        home.goto(f"http://127.0.0.1:{srv.port}/household.html#token={HOUSEHOLD_TOKEN}")
        home.wait_for_selector("body[data-level=alert]")
        text = home.inner_text("#message")
        assert "drone" in text and "north-west" in text and "take shelter" in text
        assert home.inner_text("#countdown").strip().endswith("s")
        # the scripted picture is from 2023: the page says it may be out of date
        assert "has not updated" in home.inner_text("#status")
        home.screenshot(path=str(ARTIFACTS / "household-390.png"))
        assert _off_machine(seen) == [] and _off_machine(seen2) == []
        assert errors == [] and errors2 == []
        home.close()
        page.close()


def test_map_without_basemap_draws_the_grid(browser: Any) -> None:
    with MapServer(None) as srv:
        page, seen, errors = _guarded_page(browser, 1600, 1000)
        page.goto(f"http://127.0.0.1:{srv.port}/?range=700")
        page.wait_for_function("Number(document.getElementById('map').dataset.tracksDrawn) > 0")
        assert page.evaluate("document.getElementById('map').dataset.tilesDrawn") == "0"
        assert page.evaluate(_GREEN_SHARE) < 0.05
        assert not any("/api/tiles/" in u for u in seen)
        assert errors == []
        page.close()


_PATCH_GREEN = """([e, n]) => {
  const m = window.skywarden.map, [x, y] = m.toScreen(e, n), dpr = window.devicePixelRatio || 1;
  const px = Math.round(x * dpr) - 4, py = Math.round(y * dpr) - 4;
  const d = m.canvas.getContext('2d').getImageData(px, py, 9, 9).data;
  const g = [];
  for (let i = 0; i < d.length; i += 4) g.push(d[i + 1]);
  g.sort((a, b) => a - b);
  return g[Math.floor(g.length / 2)];
}"""


def test_terrain_shading_from_a_dem_darkens_the_slope_away_from_the_light(
    mbtiles: Path, browser: Any, tmp_path: Path
) -> None:
    dem = tmp_path / "dem.mbtiles"
    make_dem_mbtiles(dem)
    with MapServer(mbtiles, dem) as srv:
        page, seen, errors = _guarded_page(browser, 1600, 1000)
        page.goto(
            f"http://127.0.0.1:{srv.port}/?range=900&center={HILL_ENU[0]:.0f},{HILL_ENU[1]:.0f}"
        )
        page.wait_for_function("Number(document.getElementById('map').dataset.hillshadeDrawn) > 0")
        page.wait_for_function("Number(document.getElementById('map').dataset.tilesDrawn) > 0")
        d = HILL_SIGMA_M / 2**0.5
        hx, hy = HILL_ENU
        # the last shaded tiles: waited for (the south-east flank darker than the ground
        # around it), not a fixed 300 ms that a slow machine may not draw them in
        page.wait_for_function(
            f"""([lit, dark, flat]) => {{ const g = {_PATCH_GREEN};
                  return g(dark) < g(flat) - 15 && g(dark) < g(lit) - 15; }}""",
            arg=[[hx - d, hy + d], [hx + d, hy - d], [hx - 700, hy + 100]],
            timeout=15_000,
        )
        lit = page.evaluate(_PATCH_GREEN, [hx - d, hy + d])  # north-west flank, facing the light
        dark = page.evaluate(_PATCH_GREEN, [hx + d, hy - d])  # south-east flank
        flat = page.evaluate(_PATCH_GREEN, [hx - 700, hy + 100])  # far out: flat ground
        assert dark < flat - 15 and dark < lit - 15, (lit, dark, flat)
        assert abs(lit - flat) <= 10, (lit, flat)
        assert any("/api/dem/" in u for u in seen) and _off_machine(seen) == []
        page.screenshot(path=str(ARTIFACTS / "map-hillshade.png"))
        assert errors == []
        page.close()


def _mgrs_reference(lat: float, lon: float) -> tuple[str, int, int]:
    """MGRS by another method than the console's: UTM by Krueger's series to n^4 (Karney
    2011, eqs 7-12), then the 100 km letters; returns (zone+band+letters, easting, northing)."""
    import math

    a, f, k0 = 6378137.0, 1 / 298.257223563, 0.9996
    n = f / (2 - f)
    e = math.sqrt(f * (2 - f))
    big_a = a / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    alpha = (
        n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16 + 41 * n**4 / 180,
        13 * n**2 / 48 - 3 * n**3 / 5 + 557 * n**4 / 1440,
        61 * n**3 / 240 - 103 * n**4 / 140,
        49561 * n**4 / 161280,
    )
    zone = int((lon + 180) // 6) + 1
    if 56 <= lat < 64 and 3 <= lon < 12:
        zone = 32
    if 72 <= lat < 84 and 0 <= lon < 42:
        zone = 31 if lon < 9 else 33 if lon < 21 else 35 if lon < 33 else 37
    lam = math.radians(lon - ((zone - 1) * 6 - 180 + 3))
    phi = math.radians(lat)
    t = math.sinh(math.atanh(math.sin(phi)) - e * math.atanh(e * math.sin(phi)))
    xi_p = math.atan2(t, math.cos(lam))
    eta_p = math.atanh(math.sin(lam) / math.sqrt(1 + t * t))
    xi = xi_p + sum(
        al * math.sin(2 * j * xi_p) * math.cosh(2 * j * eta_p) for j, al in enumerate(alpha, 1)
    )
    eta = eta_p + sum(
        al * math.cos(2 * j * xi_p) * math.sinh(2 * j * eta_p) for j, al in enumerate(alpha, 1)
    )
    east = 500000 + k0 * big_a * eta
    north = k0 * big_a * xi + (10_000_000 if lat < 0 else 0)
    band = "CDEFGHJKLMNPQRSTUVWX"[min(19, int((lat + 80) // 8))]
    col_set = ("STUVWXYZ", "ABCDEFGH", "JKLMNPQR")[(zone % 6 or 6) % 3]
    row = int(north // 100000) % 20
    if (zone % 6 or 6) % 2 == 0:
        row = (row + 5) % 20
    letters = col_set[int(east // 100000) - 1] + "ABCDEFGHJKLMNPQRSTUV"[row]
    return f"{zone}{band} {letters}", int(east % 100000), int(north % 100000)


def test_the_consoles_mgrs_agrees_with_an_independent_utm(browser: Any) -> None:
    points = [
        (51.4779, -0.0015),  # the map scene's site, zone 30/31 edge
        (33.3128, 44.3615),
        (-33.8568, 151.2153),  # southern hemisphere
        (60.0, 5.0),  # Norway's zone 32V
        (78.22, 15.65),  # Svalbard, zone 33X
        (-79.5, -70.2),
        (0.0001, 2.9999),  # equator, zone edge
        (64.1, -21.9),
    ]
    with MapServer(None) as srv:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{srv.port}/household.html")
        got = page.evaluate(
            "(pts) => import('/geo.js').then((g) => pts.map(([a, b]) => g.mgrs(a, b)))", points
        )
        page.close()
    for (lat, lon), text in zip(points, got, strict=True):
        head, e_ref, n_ref = _mgrs_reference(lat, lon)
        zone_band, square, e5, n5 = text.split()
        assert f"{zone_band} {square}" == head, (lat, lon, text, head)
        assert abs(int(e5) - e_ref) <= 1 and abs(int(n5) - n_ref) <= 1, (lat, lon, text)
