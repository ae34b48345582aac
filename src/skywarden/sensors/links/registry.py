"""Link kinds by name: each kind is one module of this package, found and registered here.

A site sensor's ``link`` table names its kind with ``protocol`` (``core.site.LinkEntry``
keeps that table as data: ``core`` cannot know the kinds, which live in this layer). A kind
module defines one :class:`LinkKind` subclass and decorates it with :func:`register`; it
owns, in one place:

- its config dataclass (a :class:`LinkConfig` subclass) and the keys its table may hold,
- ``parse``: the table -> that dataclass, refusing bad values with the key's path,
- ``conflict_key``: two sensors whose links would bind the same socket, claim the same
  SAPIENT node, radar SAC/SIC or topic are refused on load,
- ``start``: the asyncio side, given every sensor of this kind at once (a SAPIENT server
  or an ASTERIX socket serves several sensors).

:func:`kinds` imports every module of ``skywarden.sensors.links`` once, so a new kind is a
new module and nothing else (``docs/adding-a-sensor.md``). :func:`parse_links` reads every
link of a site, checks keys strictly (``core.strict``) and conflicts across sensors;
``runtime.adapters.AdapterSet`` starts the parsed links through their kinds.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from skywarden.core import config_fields as f
from skywarden.core.clock import Clock
from skywarden.core.errors import ConfigError
from skywarden.core.inbound import IngestPort
from skywarden.core.observation import Detection
from skywarden.core.site import SensorSpec, Site
from skywarden.core.strict import check_keys, nearest
from skywarden.sensors.links.health import SensorStats

#: the keys every link table may hold; a kind adds its own in ``LinkKind.keys``
COMMON_KEYS = frozenset({"protocol", "host", "port"})
#: one sensor's JSON body parser (the HTTP POST route's schema), for links carrying JSON
JsonParse = Callable[[bytes, float], Sequence[Detection]]
JsonParserFactory = Callable[[SensorSpec, Site], JsonParse]


@dataclass(frozen=True)
class LinkConfig:
    """Where a sensor's traffic comes from; a kind's own config subclasses this."""

    protocol: str
    host: str
    port: int
    binds: bool  # True: skywarden listens (the sensor connects or sends to it)

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Member:
    """One site sensor with its parsed link."""

    index: int  # position in the site's sensor list (for error paths)
    spec: SensorSpec
    config: LinkConfig


@dataclass
class LinkContext:
    """What a kind's ``start`` may use: the site, the ingest port, the clock, per-sensor stats."""

    site: Site
    ingest: IngestPort
    clock: Clock
    stats: Mapping[str, SensorStats]
    json_parser: JsonParserFactory
    bound_ports: dict[str, int] = field(default_factory=dict)

    def bound(self, members: Sequence[Member], host: str, port: int) -> None:
        """Record the port a bind got (port 0 in the site file: a free one)."""
        for m in members:
            self.bound_ports[m.spec.id] = port
            self.stats[m.spec.id].endpoint = f"{host}:{port}"


@dataclass
class Started:
    """One running link: the object itself, how to stop it and its link-level counters."""

    handle: Any
    stop: Callable[[], Awaitable[None]]
    stats: Callable[[], Mapping[str, int]] = dict
    prefix: str = ""  # /metrics names: f"{prefix}.{counter}"
    refresh: Callable[[float], object] | None = None  # brings the sensors' health up to date


class LinkKind:
    """One link kind; subclasses set the class attributes and override the methods."""

    name: ClassVar[str]
    binds: ClassVar[bool]  # skywarden listens (True) or connects to the peer (False)
    default_port: ClassVar[int | None] = None
    keys: ClassVar[frozenset[str]] = frozenset()  # the kind's own keys
    doc: ClassVar[str] = ""  # what the kind is, in one line

    def parse(self, table: Mapping[str, Any], base: LinkConfig, path: str) -> LinkConfig:
        """The kind's config from its table (host and port are already in ``base``)."""
        return base

    def conflict_key(self, m: Member) -> tuple[object, ...] | None:
        """Two links with the same key would take each other's traffic (None: never)."""
        return (self.name, m.config.host, m.config.port)

    def check_secrets(self, config: LinkConfig, environ: Mapping[str, str]) -> None:
        """Before anything starts: the secrets this link needs are there (ConfigError)."""

    async def start(self, ctx: LinkContext, members: Sequence[Member]) -> list[Started]:
        raise NotImplementedError


def by_endpoint(members: Sequence[Member]) -> dict[tuple[str, int], list[Member]]:
    """Members grouped by bind address: one server or socket serves each group."""
    groups: dict[tuple[str, int], list[Member]] = {}
    for m in members:
        groups.setdefault((m.config.host, m.config.port), []).append(m)
    return groups


_KINDS: dict[str, LinkKind] = {}
_LOADED = False


def register(cls: type[LinkKind]) -> type[LinkKind]:
    """Class decorator: make ``cls`` the kind named ``cls.name``."""
    if cls.name in _KINDS and type(_KINDS[cls.name]) is not cls:
        raise RuntimeError(f"two link kinds named {cls.name!r}")
    _KINDS[cls.name] = cls()
    return cls


def kinds() -> Mapping[str, LinkKind]:
    """Every link kind, by name (imports each module of this package the first time)."""
    global _LOADED
    if not _LOADED:
        import skywarden.sensors.links as pkg

        for mod in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")
        _LOADED = True
    return _KINDS


def parse_link(table: Mapping[str, Any], path: str) -> LinkConfig:
    """One ``link`` table -> its kind's config; ConfigError naming the key otherwise."""
    t = f.table(table, path, "a table (protocol, host, port, ...)")
    known = kinds()
    name = f.req(t, "protocol", path)
    kind = known.get(name) if isinstance(name, str) else None
    if kind is None:
        near = nearest(str(name), known)
        hint = f"did you mean {near!r}? " if near else ""
        raise ConfigError(
            f"{path}.protocol", f"{name!r} is not one of: {', '.join(sorted(known))} {hint}"
        )
    allowed = COMMON_KEYS | kind.keys
    for k in t:
        if k not in allowed and any(k in other.keys for other in known.values()):
            raise ConfigError(f"{path}.{k}", f"does not apply to protocol {name}")
    check_keys(t, allowed, path)
    if "host" in t:
        host = f.string(t["host"], f"{path}.host")
    elif kind.binds:
        host = "127.0.0.1"
    else:
        raise ConfigError(f"{path}.host", f"is required for {name} (the peer to connect to)")
    if "port" in t:
        port = f.integer(t["port"], f"{path}.port", 0 if kind.binds else 1, 65535)
    elif kind.default_port is not None:
        port = kind.default_port
    else:
        raise ConfigError(f"{path}.port", f"is required for {name}")
    return kind.parse(t, LinkConfig(name, host, port, kind.binds), path)


def parse_links(site: Site) -> tuple[Member, ...]:
    """Every linked sensor of ``site``, parsed and checked for conflicts."""
    members: list[Member] = []
    seen: dict[tuple[object, ...], Member] = {}
    for i, s in enumerate(site.sensors):
        if s.link is None:
            continue
        m = Member(i, s, parse_link(s.link.table, f"sensors[{i}].link"))
        key = kinds()[m.config.protocol].conflict_key(m)
        if key is not None:
            if key in seen:
                other = seen[key]
                raise ConfigError(
                    f"sensors[{i}].link",
                    f"same source as sensors[{other.index}] ({other.spec.id})",
                )
            seen[key] = m
        members.append(m)
    return tuple(members)
