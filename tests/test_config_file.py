"""``skywarden.toml``: the example loads, each section reaches what it configures, secrets
stay out of the file, and ``skywarden run --config`` serves it with flags overriding.

The run case is a real ``skywarden run`` process on loopback (``test_live_run``'s helpers).
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

from skywarden.core.errors import ConfigError
from skywarden.core.site import load_site
from skywarden.core.zone import ZoneKind, ZoneSpec, parse_zone, zone_to_dict
from skywarden.runtime.config_file import check_file, file_kind, load_config, parse_config
from skywarden.runtime.engine.site_edits import apply_site_edit, site_edit_payload
from skywarden.runtime.live.feeds import site_from_ref, site_to_dict
from skywarden.sensors.links.registry import parse_links
from test_live_run import SKYWARDEN, _free_port, _get, _interrupt, _start, _wait_for

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "skywarden.toml"
SITE = {"name": "x", "origin": {"lat": 51.0, "lon": -1.0}}


def test_the_example_loads_every_section() -> None:
    c = load_config(EXAMPLE)
    assert c.site is not None and c.site.name == "residence"
    kinds = [m.config.protocol for m in parse_links(c.site)]
    assert kinds == ["asterix_cat048", "sapient", "adsb_avr", "remoteid_udp", "mqtt_json"]
    assert dict(c.site.zones[0].policy) == {"warning_s": 300.0}
    assert c.site.zones[1].floor_m == 0.0  # a TOML zone without floor_m: ground
    assert c.outputs is not None and c.outputs.names == ("soc",)
    assert c.run.journal == "var/skywarden.sqlite" and c.run.tick_s == 0.5
    assert c.service == {"host": "127.0.0.1", "port": 8080, "operator": "duty officer",
                         "session_ttl_s": 43200}  # fmt: skip
    assert c.pipeline is not None and c.pipeline.tracker.association == "gnn"
    assert c.pipeline.threat.horizon_s == 240.0 and c.pipeline.alerts.clear_after_s == 10.0
    # every command that takes a site file takes this one too
    assert load_site(EXAMPLE).sensor_map.keys() == c.site.sensor_map.keys()
    assert file_kind(EXAMPLE) == "config" and "5 sensors" in check_file(EXAMPLE)


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"site": SITE, "service": {"admin_password": "x"}}, "service.admin_password",
         "SKYWARDEN_ADMIN_PASSWORD"),
        ({"site": SITE, "service": {"household_token": "x"}}, "service.household_token",
         "SKYWARDEN_HOUSEHOLD_TOKEN"),
        ({"site": SITE, "service": {"port": 70000}}, "service.port", "less than or equal"),
        ({"site": SITE, "service": {"tick_s": 0}}, "service.tick_s", "> 0"),
        ({"sensors": []}, "sensors", "needs a [site] table"),
        ({"site": {**SITE, "origin": {"lat": 99, "lon": 0}}}, "site.origin.lat", "outside"),
        ({"site": SITE, "outputs": {"tak": [{"host": "h"}]}}, "outputs.tak[0].port", ""),
        ({"site": SITE, "zones": [{"id": "z", "kind": "warning", "center_enu_m": [0, 0],
          "radius_m": 5, "policy": {"warnig_s": 5}}]}, "zones[0].policy.warnig_s",
         "did you mean 'warning_s'?"),
        ({"site": SITE, "sensors": [{"id": "s", "kind": "adsb", "measures": "position_id",
          "position_enu_m": [0, 0, 0], "sigma": {"pos_m": 1.0},
          "link": {"protocol": "adsb_avrr", "host": "h"}}]}, "sensors[0].link.protocol",
         "did you mean 'adsb_avr'?"),
        ({"site": SITE, "trackers": {}}, "trackers", "did you mean 'tracker'?"),
    ],
)  # fmt: skip
def test_bad_sections_name_the_path(data: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(data, "skywarden.toml")
    assert e.value.field == field and reason in e.value.reason, e.value
    assert e.value.source == "skywarden.toml"


def test_zones_have_one_codec_that_round_trips_everywhere() -> None:
    from skywarden.core.geo import GeoOrigin

    origin = GeoOrigin(51.0, -1.0, 0.0)
    tri = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0))
    zones = (
        ZoneSpec(
            "a", ZoneKind.PROTECTED, (1.0, 2.0), 50.0, None, 0.0, 300.0, (("warning_s", 9.0),)
        ),
        ZoneSpec("b", ZoneKind.WARNING, None, None, tri, -math.inf, math.inf),
    )
    for z in zones:
        back = parse_zone(zone_to_dict(z), "z", origin)
        assert zone_to_dict(back) == zone_to_dict(z)
        assert (back.floor_m, back.ceiling_m, back.policy) == (z.floor_m, z.ceiling_m, z.policy)
    site = load_site(EXAMPLE)
    import dataclasses

    site = dataclasses.replace(site, zones=zones)
    # the journal's site (replay, reports) and an operator's zone edit keep every field
    for rebuilt in (
        site_from_ref({"site": site_to_dict(site)}),
        apply_site_edit(site, site_edit_payload(site)),
    ):
        assert [zone_to_dict(z) for z in rebuilt.zones] == [zone_to_dict(z) for z in zones]
    # a zone edit journaled before the codec still reads
    old = {"id": "c", "kind": "warning", "center_enu": [0, 0], "radius_m": 5.0,
           "polygon_enu": None, "floor_m": None, "ceiling_m": 100.0}  # fmt: skip
    legacy = {"zones": [old], "whitelist": []}
    (c,) = apply_site_edit(site, legacy).zones
    assert c.radius_m == 5.0 and math.isinf(c.floor_m) and c.ceiling_m == 100.0


def test_run_config_serves_the_file_with_flags_overriding(tmp_path: Path) -> None:
    cfg = tmp_path / "skywarden.toml"
    cfg.write_text(
        '[site]\nname = "gatehouse"\norigin = {lat = 51.5, lon = -0.12, alt_m = 20.0}\n'
        '[[zones]]\nid = "house"\nkind = "protected"\ncenter_enu_m = [0, 0]\nradius_m = 100\n'
        f'[service]\nport = {_free_port()}\noperator = "night shift"\nstale_after_s = 7.5\n'
        f'journal = "{tmp_path / "j.sqlite"}"\ntick_s = 0.25\n',
        encoding="utf-8",
    )
    proc, port = _start("--config", str(cfg), "--journal", str(tmp_path / "flag.sqlite"))
    try:
        health = _wait_for(port, "/api/health", proc, 30.0, lambda h: h["status"] == "ok")
        assert health["mode"] == "live"  # the file's site, not the simulated one
        assert _get(port, "/api/site")["name"] == "gatehouse"
        assert _get(port, "/api/config") == {"stale_after_s": 7.5, "operator": "night shift"}
    finally:
        _interrupt(proc) if proc.poll() is None else proc.communicate()
    assert (tmp_path / "flag.sqlite").exists()  # --journal overrode [service].journal
    assert not (tmp_path / "j.sqlite").exists()


def test_run_config_with_a_misspelt_key_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "skywarden.toml"
    cfg.write_text('[site]\nname = "x"\norigin = {lat = 1, lon = 2}\n[servce]\n', "utf-8")
    proc = subprocess.run(
        [str(SKYWARDEN), "run", "--config", str(cfg)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{cfg}: servce: unknown key; did you mean 'service'?" in proc.stderr


def test_a_linked_site_survives_a_state_snapshot() -> None:
    """Link tables are plain data in the site (``LinkEntry.items``), so the state codec
    (no pickle) stores a live site's pipeline and the links parse the same after restore."""
    from skywarden.runtime.engine.engine import Engine
    from skywarden.runtime.engine.restore import dump_state, load_state

    site = load_site(EXAMPLE)
    machine, _ = load_state(dump_state(Engine(site, None)))
    back = machine.pipeline.site
    assert [s.link for s in back.sensors] == [s.link for s in site.sensors]
    assert [m.config for m in parse_links(back)] == [m.config for m in parse_links(site)]


def test_a_run_from_skywarden_toml_journals_the_site_only() -> None:
    """The journal's ``runtime.start`` carries the site; from a skywarden.toml (by --config
    or --site) that is the site as data, never the file with its outputs and accounts."""
    import json

    from skywarden.runtime.live.feeds import config_feed, site_feed

    c = load_config(EXAMPLE)
    assert c.site is not None
    for feed in (site_feed(EXAMPLE), config_feed(c.site, str(EXAMPLE))):
        assert "site_toml" not in feed.site_ref
        text = json.dumps(feed.site_ref)
        assert "soc.example" not in text and "SOC_TOKEN" not in text
        assert site_from_ref(feed.site_ref).sensor_map.keys() == c.site.sensor_map.keys()
