"""The outputs (``skywarden run --outputs FILE``, or ``[outputs]`` of ``skywarden.toml``):
where alerts and the fused picture go.

Outputs name receivers and accounts that belong to one installation, while the site
description is journaled (``runtime.start`` carries it) and shared with whoever surveys the
site: a site file given with ``--site`` is journaled as written, so outputs stay out of it;
``skywarden.toml`` may hold them because a run from it journals only the site, as data
(``runtime.feeds.config_feed``). Secrets are never written in either: ``token_env`` /
``password_env`` name environment variables read when the outputs are built.

Layout (TOML; every table optional, each may repeat with a distinct ``name``)::

    [queue]
    size = 1000                      # events per output before the oldest is dropped

    [[webhook]]                      # alert events as HTTP POST JSON, durable outbox
    name = "soc"                     # default "webhook"; unique across all outputs
    url = "https://soc.example/hooks/skywarden"
    outbox = "var/outbox-soc.sqlite" # default var/outbox-<name>.sqlite; ":memory:" = none
    headers = { X-Site = "north" }
    token_env = "SOC_TOKEN"          # sends "Authorization: Bearer $SOC_TOKEN"
    timeout_s = 5.0
    max_backoff_s = 60.0

    [[email]]                        # raised/escalated alerts by SMTP
    host = "smtp.example"
    port = 587
    from = "skywarden@example"
    to = ["duty@example"]
    starttls = true
    username = "skywarden"
    password_env = "SMTP_PASSWORD"
    kinds = ["raised", "escalated"]

    [[push]]                         # notifications to phones through apprise
    name = "family"                  # default "push"
    urls = ["ntfy://ntfy.example/skywarden-home"]   # apprise URLs without secrets
    urls_env = "PUSH_URLS"           # and/or: URLs with tokens, whitespace separated, in env
    kinds = ["raised", "escalated"]
    min_interval_s = 1.0             # per service (apprise's own default spacing is 5.5 s)

    [[tak]]                          # CoT to a TAK server: confirmed tracks + alert updates
    host = "127.0.0.1"
    port = 8087
    protocol = "tcp"                 # tcp only (TLS TAK ports: put a stunnel in front)
    rate_s = 1.0                     # at most one picture per rate_s
    stale_s = 10.0

    [[sapient]]                      # skywarden as a SAPIENT node to a higher node
    host = "127.0.0.1"
    port = 12000
    destination_id = "<UUID of the higher node>"
    node_id = "<skywarden's UUID>"   # default: stable per site name
    rate_s = 1.0
    status_s = 5                     # StatusReport every status_s seconds (as registered)

Errors are :class:`~skywarden.core.errors.ConfigError` naming the field
(``tak[0].port: must be an integer in 1..65535``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from skywarden.alerts.sinks.mail import EmailConfig
from skywarden.core.config_fields import read_toml
from skywarden.core.errors import ConfigError
from skywarden.core.strict import check_keys

_ALERT_KINDS: Final = frozenset({"raised", "escalated", "acknowledged", "resolved"})


@dataclass(frozen=True)
class WebhookOutput:
    name: str
    url: str
    outbox: str
    headers: tuple[tuple[str, str], ...] = ()
    token_env: str | None = None
    timeout_s: float = 5.0
    max_backoff_s: float = 60.0
    base_backoff_s: float = 0.5


@dataclass(frozen=True)
class EmailOutput:
    """An e-mail output as the file gives it: the sink's own settings (``mail``, with no
    password) and the environment variable its password is read from when the outputs start,
    so the secret is never part of the configuration (nor of its repr)."""

    name: str
    mail: EmailConfig
    password_env: str | None = None


@dataclass(frozen=True)
class PushOutput:
    name: str
    urls: tuple[str, ...] = ()
    urls_env: str | None = None
    kinds: frozenset[str] = frozenset({"raised", "escalated"})
    min_interval_s: float = 1.0


@dataclass(frozen=True)
class TakOutput:
    name: str
    host: str
    port: int
    protocol: str = "tcp"
    rate_s: float = 1.0
    stale_s: float = 10.0

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}"


@dataclass(frozen=True)
class SapientOutput:
    name: str
    host: str
    port: int
    destination_id: str
    node_id: str | None = None
    rate_s: float = 1.0
    status_s: int = 5  # StatusReport interval promised in the registration


@dataclass(frozen=True)
class OutputsConfig:
    webhooks: tuple[WebhookOutput, ...] = ()
    emails: tuple[EmailOutput, ...] = ()
    taks: tuple[TakOutput, ...] = ()
    sapients: tuple[SapientOutput, ...] = ()
    pushes: tuple[PushOutput, ...] = ()
    queue_size: int = 1000
    source: str = field(default="", compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        outs: tuple[Any, ...] = (
            *self.webhooks,
            *self.emails,
            *self.taks,
            *self.sapients,
            *self.pushes,
        )
        return tuple(o.name for o in outs)

    @property
    def empty(self) -> bool:
        return not self.names


# --------------------------------------------------------------------------- field readers


def _str(d: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    if key not in d:
        if default is None:
            raise ConfigError(f"{path}.{key}", "is required")
        return default
    v = d[key]
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{path}.{key}", "must be a non-empty string")
    return v


def _opt_str(d: Mapping[str, Any], key: str, path: str) -> str | None:
    return _str(d, key, path) if key in d else None


def _port(d: Mapping[str, Any], key: str, path: str) -> int:
    if key not in d:
        raise ConfigError(f"{path}.{key}", "is required")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
        raise ConfigError(f"{path}.{key}", f"must be an integer in 1..65535, got {v!r}")
    return v


def _pos(d: Mapping[str, Any], key: str, path: str, default: float) -> float:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < float(v) < 1e7:
        raise ConfigError(f"{path}.{key}", f"must be a number > 0, got {v!r}")
    return float(v)


def _bool(d: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    v = d.get(key, default)
    if not isinstance(v, bool):
        raise ConfigError(f"{path}.{key}", f"must be true or false, got {v!r}")
    return v


def _check_keys(d: Mapping[str, Any], allowed: set[str], path: str) -> None:
    check_keys(d, allowed, path)


def _uuid(v: str, path: str) -> str:
    import uuid

    try:
        uuid.UUID(v)
    except ValueError:
        raise ConfigError(path, f"{v!r} is not a UUID") from None
    return v


# --------------------------------------------------------------------------- sections


def _webhook(d: Mapping[str, Any], path: str) -> WebhookOutput:
    _check_keys(
        d,
        {"name", "url", "outbox", "headers", "token_env", "timeout_s", "max_backoff_s",
         "base_backoff_s"},
        path,
    )  # fmt: skip
    name = _str(d, "name", path, "webhook")
    url = _str(d, "url", path)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{path}.url", f"must be an http:// or https:// URL, got {url!r}")
    headers = d.get("headers", {})
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(f"{path}.headers", "must be a table of string values")
    return WebhookOutput(
        name=name,
        url=url,
        outbox=_str(d, "outbox", path, f"var/outbox-{name}.sqlite"),
        headers=tuple(sorted(headers.items())),
        token_env=_opt_str(d, "token_env", path),
        timeout_s=_pos(d, "timeout_s", path, 5.0),
        max_backoff_s=_pos(d, "max_backoff_s", path, 60.0),
        base_backoff_s=_pos(d, "base_backoff_s", path, 0.5),
    )


def _email(d: Mapping[str, Any], path: str) -> EmailOutput:
    _check_keys(
        d,
        {"name", "host", "port", "from", "to", "starttls", "username", "password_env", "kinds"},
        path,
    )
    to = d.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or not all(isinstance(x, str) and "@" in x for x in to):
        raise ConfigError(f"{path}.to", "must be a non-empty list of e-mail addresses")
    kinds = d.get("kinds", ["raised", "escalated"])
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= _ALERT_KINDS:
        raise ConfigError(
            f"{path}.kinds", f"must be a list from: {', '.join(sorted(_ALERT_KINDS))}"
        )
    sender = _str(d, "from", path)
    if "@" not in sender:
        raise ConfigError(f"{path}.from", f"{sender!r} is not an e-mail address")
    mail = EmailConfig(
        host=_str(d, "host", path),
        port=_port(d, "port", path),
        sender=sender,
        recipients=tuple(to),
        starttls=_bool(d, "starttls", path, False),
        username=_opt_str(d, "username", path),
        kinds=frozenset(kinds),
    )
    return EmailOutput(_str(d, "name", path, "email"), mail, _opt_str(d, "password_env", path))


def _kinds(d: Mapping[str, Any], path: str) -> frozenset[str]:
    kinds = d.get("kinds", ["raised", "escalated"])
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= _ALERT_KINDS:
        raise ConfigError(
            f"{path}.kinds", f"must be a list from: {', '.join(sorted(_ALERT_KINDS))}"
        )
    return frozenset(kinds)


def _push(d: Mapping[str, Any], path: str) -> PushOutput:
    _check_keys(d, {"name", "urls", "urls_env", "kinds", "min_interval_s"}, path)
    urls = d.get("urls", [])
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not all(isinstance(u, str) and "://" in u for u in urls):
        raise ConfigError(f"{path}.urls", "must be a list of apprise URLs (scheme://...)")
    env = _opt_str(d, "urls_env", path)
    if not urls and env is None:
        raise ConfigError(f"{path}.urls", "give urls, urls_env, or both")
    return PushOutput(
        name=_str(d, "name", path, "push"),
        urls=tuple(urls),
        urls_env=env,
        kinds=_kinds(d, path),
        min_interval_s=_pos(d, "min_interval_s", path, 1.0),
    )


def _tak(d: Mapping[str, Any], path: str) -> TakOutput:
    _check_keys(d, {"name", "host", "port", "protocol", "rate_s", "stale_s"}, path)
    proto = _str(d, "protocol", path, "tcp")
    if proto != "tcp":
        raise ConfigError(f"{path}.protocol", f"{proto!r} is not supported (tcp)")
    return TakOutput(
        name=_str(d, "name", path, "tak"),
        host=_str(d, "host", path),
        port=_port(d, "port", path),
        protocol=proto,
        rate_s=_pos(d, "rate_s", path, 1.0),
        stale_s=_pos(d, "stale_s", path, 10.0),
    )


def _sapient(d: Mapping[str, Any], path: str) -> SapientOutput:
    _check_keys(
        d, {"name", "host", "port", "destination_id", "node_id", "rate_s", "status_s"}, path
    )
    node = _opt_str(d, "node_id", path)
    return SapientOutput(
        name=_str(d, "name", path, "sapient"),
        host=_str(d, "host", path),
        port=_port(d, "port", path),
        destination_id=_uuid(_str(d, "destination_id", path), f"{path}.destination_id"),
        node_id=None if node is None else _uuid(node, f"{path}.node_id"),
        rate_s=_pos(d, "rate_s", path, 1.0),
        status_s=_status_s(d, path),
    )


def _status_s(d: Mapping[str, Any], path: str) -> int:
    v = d.get("status_s", 5)
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 3600:
        raise ConfigError(f"{path}.status_s", "must be an integer number of seconds in 1..3600")
    return v


def _list(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    v = data.get(key, [])
    if isinstance(v, Mapping):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, Mapping) for x in v):
        raise ConfigError(key, f"must be a table or an array of tables ([[{key}]])")
    return v


def parse_outputs(data: Mapping[str, Any], source: str = "") -> OutputsConfig:
    """A parsed TOML mapping -> :class:`OutputsConfig` (raises ConfigError naming the field)."""
    try:
        _check_keys(data, {"queue", "webhook", "email", "tak", "sapient", "push"}, "")
    except ConfigError as e:
        raise ConfigError(e.field.lstrip("."), e.reason, source) from None
    try:
        q = data.get("queue", {})
        if not isinstance(q, Mapping):
            raise ConfigError("queue", "must be a table")
        _check_keys(q, {"size"}, "queue")
        size = q.get("size", 1000)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 1_000_000:
            raise ConfigError("queue.size", f"must be an integer in 1..1000000, got {size!r}")
        cfg = OutputsConfig(
            webhooks=tuple(
                _webhook(d, f"webhook[{i}]") for i, d in enumerate(_list(data, "webhook"))
            ),
            emails=tuple(_email(d, f"email[{i}]") for i, d in enumerate(_list(data, "email"))),
            taks=tuple(_tak(d, f"tak[{i}]") for i, d in enumerate(_list(data, "tak"))),
            sapients=tuple(
                _sapient(d, f"sapient[{i}]") for i, d in enumerate(_list(data, "sapient"))
            ),
            pushes=tuple(_push(d, f"push[{i}]") for i, d in enumerate(_list(data, "push"))),
            queue_size=size,
            source=source,
        )
        seen: set[str] = set()
        for n in cfg.names:
            if n in seen:
                raise ConfigError("name", f"{n!r} is used by two outputs (names must be unique)")
            seen.add(n)
    except ConfigError as e:
        if e.source:
            raise
        raise ConfigError(e.field, e.reason, source) from None
    return cfg


def load_outputs(path: str | Path) -> OutputsConfig:
    """Read an outputs TOML file."""
    return parse_outputs(read_toml(path), str(path))
