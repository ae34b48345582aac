"""Site files: valid ones load, bad ones name the field and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from skywarden.core.errors import ConfigError
from skywarden.core.site import ZoneKind, load_site

GOOD = """
name = "residence"
[origin]
lat = 33.3128
lon = 44.3615
alt_m = 34.0

[[sensors]]
id = "radar-1"
kind = "radar"
measures = "range_az_el_radial"
position_enu_m = [0, 0, 8]
sigma = {range_m = 4.0, az_rad = 0.008, el_rad = 0.01, radial_mps = 0.5}
max_range_m = 5000
pd = {drone = 0.85, bird = 0.8}
clutter_per_scan = 30

[[zones]]
id = "residence"
kind = "protected"
center_enu_m = [0, 0]
radius_m = 150
ceiling_m = 300

[[zones]]
id = "garden"
kind = "warning"
[zones.geojson]
type = "Polygon"
coordinates = [[[44.36, 33.31], [44.363, 33.31], [44.363, 33.314], [44.36, 33.31]]]

[[whitelist]]
remote_id = "1581F4XFC228R00B2B4A"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "site.toml"
    p.write_text(text)
    return p


def test_good_site_loads(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, GOOD))
    assert site.sensor("radar-1").pd_for("drone") == 0.85
    assert site.zones[0].kind is ZoneKind.PROTECTED
    poly = site.zones[1]
    assert poly.polygon_enu is not None and len(poly.polygon_enu) == 3
    assert "1581F4XFC228R00B2B4A" in site.whitelisted_identities


@pytest.mark.parametrize(
    ("edit", "field", "reason"),
    [
        (("lat = 33.3128", "lat = 133.0"), "origin.lat", "outside"),
        (('kind = "radar"', 'kind = "laser"'), "sensors[0].kind", "not one of"),
        (("az_rad = 0.008, ", ""), "sensors[0].sigma.az_rad", "required"),
        (("range_m = 4.0", "range_m = -4.0"), "sensors[0].sigma.range_m", "> 0"),
        (("drone = 0.85", "drone = 1.5"), "sensors[0].pd.drone", "(0, 1]"),
        (("radius_m = 150", "radius_m = 0"), "zones[0].radius_m", "> 0"),
        (("ceiling_m = 300", "ceiling_m = -5"), "zones[0].ceiling_m", "above floor"),
        (('remote_id = "1581F4XFC228R00B2B4A"', 'note = "x"'), "whitelist[0]", "remote_id"),
    ],
)
def test_bad_site_names_field_and_reason(
    tmp_path: Path, edit: tuple[str, str], field: str, reason: str
) -> None:
    text = GOOD.replace(*edit, 1)
    with pytest.raises(ConfigError) as ei:
        load_site(write(tmp_path, text))
    assert ei.value.field == field
    assert reason in ei.value.reason
    assert str(tmp_path) in str(ei.value)


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_site(write(tmp_path, "name = = 1"))
