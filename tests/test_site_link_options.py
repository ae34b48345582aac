"""Site-file keys for MQTT credentials/TLS and SAPIENT liveness: parsed, checked, refused."""

from __future__ import annotations

from typing import Any

import pytest

from skywarden.core.errors import ConfigError
from skywarden.core.link_options import MqttSecurity, SapientLiveness
from skywarden.core.site import parse_site
from skywarden.sensors.links.mqtt import MqttLinkConfig
from skywarden.sensors.links.registry import LinkConfig, parse_links
from skywarden.sensors.links.sapient_server import SapientLinkConfig, _lenient

NODE = "a8654cdf-4328-47de-81fa-c495589e30c9"


def _site(*links: dict[str, Any]) -> dict[str, Any]:
    sensors = [
        {
            "id": f"s{i}",
            "kind": "camera",
            "measures": "xyz",
            "position_enu_m": [0, 0, 5],
            "sigma": {"x_m": 4.0, "y_m": 4.0, "z_m": 6.0},
            "link": link,
        }
        for i, link in enumerate(links)
    ]
    return {"name": "opts", "origin": {"lat": 51.0, "lon": -1.0}, "sensors": sensors}


def _links(d: dict[str, Any]) -> list[LinkConfig]:
    """The parsed links of a site mapping (the registry parses what the site keeps)."""
    return [m.config for m in parse_links(parse_site(d))]


MQTT = {"protocol": "mqtt_json", "host": "127.0.0.1", "topic": "site/cam"}


def test_mqtt_security_keys_parsed() -> None:
    link = {
        **MQTT,
        "username": "skywarden",
        "password_env": "SW_MQTT_PW",
        "ca_file": "/etc/ca.pem",
        "cert_file": "/etc/c.pem",
        "key_file": "/etc/c.key",
    }
    (c,) = _links(_site(link))
    assert isinstance(c, MqttLinkConfig) and c.security == MqttSecurity(
        "skywarden", "SW_MQTT_PW", True, "/etc/ca.pem", "/etc/c.pem", "/etc/c.key"
    )
    assert c.security.password({"SW_MQTT_PW": "s3cret"}) == "s3cret"
    with pytest.raises(ConfigError, match="SW_MQTT_PW is not set"):
        c.security.password({})
    (plain,) = _links(_site(MQTT))
    assert isinstance(plain, MqttLinkConfig) and plain.security == MqttSecurity()


@pytest.mark.parametrize(
    ("extra", "field", "reason"),
    [
        ({"password": "hunter2"}, "password", "never in the site file"),
        ({"password_env": "X"}, "password_env", "needs username"),
        ({"cert_file": "/c.pem"}, "cert_file", "go together"),
        ({"tls": False, "ca_file": "/ca.pem"}, "tls", "is false"),
        ({"tls": "yes"}, "tls", "true or false"),
        ({"username": ""}, "username", "non-empty"),
        ({"keepalive_s": 5}, "keepalive_s", "does not apply"),
    ],
)
def test_mqtt_security_mistakes_refused(extra: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as e:
        _links(_site({**MQTT, **extra}))
    assert e.value.field == f"sensors[0].link.{field}"


def test_sapient_liveness_keys() -> None:
    sap = {"protocol": "sapient", "port": 0, "node_id": NODE}
    (c,) = _links(_site({**sap, "keepalive_s": 10, "idle_timeout_s": 0}))
    assert isinstance(c, SapientLinkConfig) and c.liveness == SapientLiveness(10.0, 0.0)
    (d,) = _links(_site(sap))
    assert isinstance(d, SapientLinkConfig) and d.liveness == SapientLiveness()
    for bad in ({"idle_timeout_s": -1}, {"keepalive_s": True}, {"username": "x"}):
        with pytest.raises(ConfigError):
            _links(_site({**sap, **bad}))


def _sap(node: str) -> dict[str, Any]:
    return {"protocol": "sapient", "port": 0, "node_id": node}


def test_one_server_takes_the_most_lenient_liveness() -> None:
    other = "11111111-2222-4333-8444-555555555555"
    cfgs = _links(
        _site(
            {**_sap(NODE), "keepalive_s": 10, "idle_timeout_s": 30},
            {**_sap(other), "keepalive_s": 20, "idle_timeout_s": 90},
        )
    )
    assert _lenient(_sapient(cfgs)) == SapientLiveness(20.0, 90.0)
    cfgs = _links(
        _site(
            {"protocol": "sapient", "port": 0, "node_id": NODE, "idle_timeout_s": 0},
            {"protocol": "sapient", "port": 0, "node_id": other, "idle_timeout_s": 90},
        )
    )
    assert _lenient(_sapient(cfgs)).idle_timeout_s == 0.0


def _sapient(cfgs: list[LinkConfig]) -> list[SapientLinkConfig]:
    return [c for c in cfgs if isinstance(c, SapientLinkConfig)]
