"""``skywarden site add|update|list|remove``: the pooled sites an operator registers.

A pooled site is the key ``<site>`` of bucket ``sw_sites``, holding ``{"v": 1, "header":
<skybench/1 header>, "region": ...}`` (the header names the origin, sensors and zones).
Before this command an operator had to hand-write that JSON into KV (issue 24). Each
header is parsed here exactly as a worker will parse it, so a site that a worker could not
build is refused at the door with the field that is wrong, not discovered by a worker's
failing runner later. ``add`` refuses to overwrite and ``update`` refuses to create, by
compare-and-set on the key, so two operators cannot silently replace each other's site.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError

from skywarden.core.errors import ConfigError
from skywarden.core.site import site_from_skybench_header
from skywarden.runtime.cluster.leases import owner_of
from skywarden.runtime.cluster.topology import LEASES_BUCKET, SITES_BUCKET, check_token


class RegistryError(Exception):
    """The registry refused an operation (exists already, no such site)."""


@dataclass(frozen=True)
class SiteEntry:
    site: str
    region: str
    sensors: int
    zones: int
    worker: str  # the lease holder, "" when no worker tracks it now

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "region": self.region,
            "sensors": self.sensors,
            "zones": self.zones,
            "worker": self.worker,
        }


def read_header(path: str | Path) -> dict[str, Any]:
    """A skybench/1 header from a scenario file (its first line) or a JSON file holding one,
    checked by the same parser a worker uses."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8") as f:
            text = f.readline() if p.suffix == ".jsonl" else f.read()
        header = json.loads(text)
    except (OSError, ValueError) as e:
        raise ConfigError("--header", f"{path}: {e}") from None
    if not isinstance(header, dict) or header.get("type", "header") != "header":
        raise ConfigError("--header", f"{path}: not a skybench/1 header")
    site_from_skybench_header(header)  # raises ConfigError naming the field
    return header


def _body(header: Mapping[str, Any], region: str) -> bytes:
    return json.dumps({"v": 1, "header": dict(header), "region": region}).encode()


async def add(js: JetStreamContext, site: str, header: Mapping[str, Any], region: str) -> None:
    kv = await js.key_value(SITES_BUCKET)
    try:
        await kv.create(check_token(site), _body(header, region))
    except KeyWrongLastSequenceError:
        raise RegistryError(f"site {site} exists already (use 'site update')") from None


async def update(js: JetStreamContext, site: str, header: Mapping[str, Any], region: str) -> None:
    kv = await js.key_value(SITES_BUCKET)
    try:
        entry = await kv.get(check_token(site))
        await kv.update(site, _body(header, region), last=entry.revision)
    except KeyNotFoundError:
        raise RegistryError(f"no site {site} (use 'site add')") from None
    except KeyWrongLastSequenceError:
        raise RegistryError(f"site {site} changed meanwhile; try again") from None


async def remove(js: JetStreamContext, site: str) -> None:
    kv = await js.key_value(SITES_BUCKET)
    try:
        await kv.get(check_token(site))
    except KeyNotFoundError:
        raise RegistryError(f"no site {site}") from None
    await kv.delete(site)


async def listing(js: JetStreamContext) -> list[SiteEntry]:
    kv = await js.key_value(SITES_BUCKET)
    leases = await js.key_value(LEASES_BUCKET)
    try:
        keys = sorted(await kv.keys())
    except NoKeysError:
        return []
    out = []
    for k in keys:
        try:
            d = json.loads((await kv.get(k)).value or b"{}")
        except (KeyNotFoundError, ValueError):
            continue
        h = d.get("header", {})
        try:
            worker = owner_of((await leases.get(k)).value or b"")
        except KeyNotFoundError:
            worker = ""
        out.append(
            SiteEntry(
                k,
                str(d.get("region", "")),
                len(h.get("sensors", [])),
                len(h.get("zones", [])),
                worker,
            )
        )
    return out
