"""Security and liveness options of the sensor links that carry them: MQTT and SAPIENT.

The link kinds that carry them (``sensors.links.mqtt``, ``sensors.links.sapient_server``)
call these parsers for the keys below (each kind declares which keys it accepts).

MQTT (``protocol = "mqtt_json"``)::

    [sensors.link]
    protocol = "mqtt_json"
    host = "broker.site.lan"
    port = 8883
    topic = "site/detections/cam-1"
    username = "skywarden"                  # broker account (MQTT CONNECT user name)
    password_env = "SKYWARDEN_MQTT_PASSWORD" # the password is read from this variable
    ca_file = "/etc/skywarden/mqtt-ca.pem"  # TLS: the CA that signed the broker's cert
    cert_file = "/etc/skywarden/client.pem" # TLS client certificate (with key_file)
    key_file = "/etc/skywarden/client.key"
    # tls = true                            # TLS against the system CAs (no ca_file)

The password itself never goes in the site file (a ``password`` key is refused with that
reason): site files are copied into journals, reports and tickets; environment variables
are the operator's secret store (systemd ``LoadCredential``/``EnvironmentFile``, a
container secret). The variable is read when the link starts, not when the file is parsed,
so ``skywarden validate`` and report tools work without it.

SAPIENT (``protocol = "sapient"``)::

    keepalive_s = 30      # TCP keepalive: first probe after this idle time (0: off)
    idle_timeout_s = 60   # close a connection silent this long (0: never)

Every SAPIENT node sends a StatusReport at the interval it registered, so a healthy node is
never silent for long; a connection that stays quiet past ``idle_timeout_s`` (or three of
the status intervals its node declared, when longer) is a dead or half-open link and is
closed (the node must register again). TCP keepalive finds a peer
that vanished without a FIN even when skywarden has nothing to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from skywarden.core.config_fields import no_secret
from skywarden.core.errors import ConfigError

MQTT_KEYS: Final = frozenset(
    {"username", "password_env", "tls", "ca_file", "cert_file", "key_file", "password"}
)
SAPIENT_KEYS: Final = frozenset({"keepalive_s", "idle_timeout_s"})
DEFAULT_KEEPALIVE_S: Final = 30.0
DEFAULT_IDLE_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True)
class MqttSecurity:
    """How skywarden authenticates to the broker and protects the connection."""

    username: str | None = None
    password_env: str | None = None
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def password(self, environ: Mapping[str, str]) -> str | None:
        """The password from ``environ``; ConfigError when the named variable is unset."""
        if self.password_env is None:
            return None
        value = environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                "link.password_env",
                f"environment variable {self.password_env} is not set (the MQTT password)",
            )
        return value


@dataclass(frozen=True)
class SapientLiveness:
    """Connection liveness of a SAPIENT server (0 disables either)."""

    keepalive_s: float = DEFAULT_KEEPALIVE_S
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S


def _opt_str(d: Mapping[str, Any], key: str, path: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{path}.{key}", "must be a non-empty string")
    return v.strip()


def _seconds(d: Mapping[str, Any], key: str, path: str, default: float) -> float:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 86_400:
        raise ConfigError(f"{path}.{key}", f"must be seconds in [0, 86400], got {v!r}")
    return float(v)


def parse_mqtt_security(d: Mapping[str, Any], path: str) -> MqttSecurity:
    """The MQTT keys of one ``link`` table (the caller has checked the protocol)."""
    no_secret(d, path)
    username = _opt_str(d, "username", path)
    password_env = _opt_str(d, "password_env", path)
    if password_env is not None and username is None:
        raise ConfigError(f"{path}.password_env", "needs username (MQTT sends both)")
    tls_raw = d.get("tls")
    if tls_raw is not None and not isinstance(tls_raw, bool):
        raise ConfigError(f"{path}.tls", "must be true or false")
    ca, cert, key = (_opt_str(d, k, path) for k in ("ca_file", "cert_file", "key_file"))
    if (cert is None) != (key is None):
        raise ConfigError(f"{path}.cert_file", "cert_file and key_file go together")
    tls = bool(tls_raw) or ca is not None or cert is not None
    if tls_raw is False and tls:
        raise ConfigError(f"{path}.tls", "is false but ca_file/cert_file ask for TLS")
    return MqttSecurity(username, password_env, tls, ca, cert, key)


def parse_sapient_liveness(d: Mapping[str, Any], path: str) -> SapientLiveness:
    return SapientLiveness(
        _seconds(d, "keepalive_s", path, DEFAULT_KEEPALIVE_S),
        _seconds(d, "idle_timeout_s", path, DEFAULT_IDLE_TIMEOUT_S),
    )
