"""The outputs file: a full example parses; each mistake is a ConfigError naming its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skywarden.core.errors import ConfigError
from skywarden.runtime.outputs.config import load_outputs, parse_outputs

HIGHER = "0f8fad5b-d9cb-469f-a165-70867728950e"

EXAMPLE = f"""
[queue]
size = 200

[[webhook]]
name = "soc"
url = "https://soc.example/hooks/skywarden"
headers = {{ X-Site = "north" }}
token_env = "SOC_TOKEN"

[[email]]
host = "smtp.example"
port = 587
from = "skywarden@example.org"
to = ["duty@example.org"]
starttls = true
kinds = ["raised", "escalated", "resolved"]

[[tak]]
host = "tak.example"
port = 8087
rate_s = 2.0

[[sapient]]
host = "hlc.example"
port = 12000
destination_id = "{HIGHER}"
"""


def test_example_file_parses(tmp_path: Path) -> None:
    f = tmp_path / "outputs.toml"
    f.write_text(EXAMPLE, encoding="utf-8")
    cfg = load_outputs(f)
    assert cfg.names == ("soc", "email", "tak", "sapient") and cfg.queue_size == 200
    (w,) = cfg.webhooks
    assert w.outbox == "var/outbox-soc.sqlite" and w.headers == (("X-Site", "north"),)
    assert w.token_env == "SOC_TOKEN"
    (e,) = cfg.emails
    assert e.mail.starttls and e.mail.kinds == {"raised", "escalated", "resolved"}
    assert cfg.taks[0].url == "tcp://tak.example:8087" and cfg.taks[0].rate_s == 2.0
    assert cfg.sapients[0].node_id is None and cfg.sapients[0].destination_id == HIGHER
    assert parse_outputs({}).empty


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"tak": [{"host": "h", "port": 70000}]}, "tak[0].port"),
        ({"tak": [{"host": "h"}]}, "tak[0].port"),
        ({"tak": [{"host": "h", "port": 1, "protocol": "udp"}]}, "tak[0].protocol"),
        ({"tak": [{"host": "h", "port": 1, "rate_s": 0}]}, "tak[0].rate_s"),
        ({"webhook": [{"url": "ftp://x"}]}, "webhook[0].url"),
        ({"webhook": [{"url": "http://x", "headers": {"a": 1}}]}, "webhook[0].headers"),
        ({"webhook": [{"url": "http://x", "retry": 3}]}, "webhook[0].retry"),
        ({"email": [{"host": "h", "port": 25, "from": "a@b", "to": []}]}, "email[0].to"),
        ({"email": [{"host": "h", "port": 25, "from": "ab", "to": ["a@b"]}]}, "email[0].from"),
        (
            {"email": [{"host": "h", "port": 25, "from": "a@b", "to": ["a@b"], "kinds": ["x"]}]},
            "email[0].kinds",
        ),
        (
            {"sapient": [{"host": "h", "port": 1, "destination_id": "nope"}]},
            "sapient[0].destination_id",
        ),
        ({"queue": {"size": 0}}, "queue.size"),
        ({"outputs": []}, "outputs"),
        (
            {"tak": [{"host": "h", "port": 1}, {"host": "g", "port": 2}]},
            "name",
        ),
    ],
)
def test_mistakes_name_their_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_outputs(data, "o.toml")
    assert e.value.field == field and e.value.source == "o.toml", str(e.value)


def test_bad_toml_is_a_config_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("[[tak]\nhost=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_outputs(f)
    with pytest.raises(ConfigError, match="cannot read"):
        load_outputs(tmp_path / "missing.toml")
