"""Site TOML ``link`` tables: how the live system hears each sensor, checked on load."""

from __future__ import annotations

from typing import Any

import pytest

from skywarden.core.errors import ConfigError
from skywarden.core.site import parse_site
from skywarden.sensors.links.asterix_udp import AsterixLinkConfig
from skywarden.sensors.links.mqtt import MqttLinkConfig
from skywarden.sensors.links.registry import LinkConfig, parse_links
from skywarden.sensors.links.sapient_server import SapientLinkConfig

NODE = "a8654cdf-4328-47de-81fa-c495589e30c9"


def _site(*links: dict[str, Any] | None) -> dict[str, Any]:
    sensors = []
    for i, link in enumerate(links):
        s: dict[str, Any] = {
            "id": f"s{i}",
            "kind": "radar",
            "measures": "xyz",
            "position_enu_m": [0, 0, 0],
            "sigma": {"x_m": 5, "y_m": 5, "z_m": 5},
        }
        if link is not None:
            s["link"] = link
        sensors.append(s)
    return {"origin": {"lat": 51.0, "lon": -1.0}, "sensors": sensors}


def _links(d: dict[str, Any]) -> list[LinkConfig | None]:
    """Each sensor's parsed link (None: no link); the registry parses what the site keeps."""
    site = parse_site(d)
    by_id = {m.spec.id: m.config for m in parse_links(site)}
    return [by_id.get(s.id) for s in site.sensors]


def test_every_protocol_parses_with_its_defaults() -> None:
    links = _links(
        _site(
            {"protocol": "sapient", "port": 5020, "node_id": NODE.upper()},
            {"protocol": "asterix_cat048", "host": "0.0.0.0", "port": 8600, "sac": 25, "sic": 1},
            {"protocol": "adsb_beast", "host": "10.0.0.5"},
            {"protocol": "adsb_sbs", "host": "10.0.0.5"},
            {"protocol": "remoteid_udp", "port": 0},
            {"protocol": "mqtt_json", "host": "127.0.0.1", "topic": "site/det/s5"},
            None,
        )
    )
    assert links[-1] is None
    sap, ast, beast, sbs, rid, mq = links[:6]
    assert isinstance(sap, SapientLinkConfig)
    assert sap.node_id == NODE and sap.host == "127.0.0.1" and sap.binds
    assert isinstance(ast, AsterixLinkConfig) and (ast.sac, ast.sic, ast.port) == (25, 1, 8600)
    assert beast is not None and beast.port == 30005 and not beast.binds
    assert sbs is not None and sbs.port == 30003
    assert rid is not None and rid.port == 0 and rid.protocol == "remoteid_udp"
    assert isinstance(mq, MqttLinkConfig) and mq.port == 1883 and mq.topic == "site/det/s5"


@pytest.mark.parametrize(
    ("link", "field", "reason"),
    [
        ({"protocol": "carrier_pigeon"}, "sensors[0].link.protocol", "is not one of"),
        ({"protocol": "sapient", "port": 5020}, "sensors[0].link.node_id", "is required"),
        ({"protocol": "sapient", "port": 5020, "node_id": "x"}, "sensors[0].link.node_id", "UUID"),
        ({"protocol": "sapient", "node_id": NODE}, "sensors[0].link.port", "is required"),
        ({"protocol": "adsb_beast"}, "sensors[0].link.host", "is required"),
        ({"protocol": "adsb_beast", "host": "h", "port": 0}, "sensors[0].link.port", "[1, 65535]"),
        (
            {"protocol": "asterix_cat048", "port": 1, "sac": 256, "sic": 1},
            "sensors[0].link.sac",
            "",
        ),
        (
            {"protocol": "mqtt_json", "host": "h", "topic": "a/#"},
            "sensors[0].link.topic",
            "wildcard",
        ),
        ({"protocol": "adsb_sbs", "host": "h", "topic": "t"}, "sensors[0].link.topic", "does not"),
        ({"protocol": "adsb_sbs", "host": "h", "prot": 1}, "sensors[0].link.prot", "unknown key"),
        ("sapient", "sensors[0].link", "must be a table"),
    ],
)
def test_a_bad_link_names_the_field_and_the_reason(link: Any, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        _links(_site(link))
    assert e.value.field == field and reason in e.value.reason


def test_two_sensors_cannot_claim_the_same_source() -> None:
    same_node = {"protocol": "sapient", "port": 5020, "node_id": NODE}
    with pytest.raises(ConfigError, match=r"sensors\[1\].link: same source as sensors\[0\]"):
        _links(_site(same_node, dict(same_node)))
    radar = {"protocol": "asterix_cat048", "port": 8600, "sac": 1, "sic": 2}
    with pytest.raises(ConfigError, match="same source"):
        _links(_site(radar, dict(radar)))
    # two radars on one socket, told apart by SAC/SIC: fine
    _links(_site(radar, {**radar, "sic": 3}))
