"""Subjects, streams and key-value buckets of the cluster, defined in code and created
idempotently at start (``ensure_topology``), so every process agrees on them and a restart
never needs an operator to run ``nats stream add``.

Subjects (site ids are single NATS tokens: letters, digits, ``-`` and ``_``)::

    skywarden.site.<site>.raw.<sensor>   raw reports (one accepted Inbound each)  -> RAW
    skywarden.site.<site>.tracks         one frame per worker flush (fenced)        -> SITES
    skywarden.site.<site>.alerts         one message per alert transition           -> SITES
    skywarden.site.<site>.health         per-site worker / edge health              -> SITES
    skywarden.edge.<site>.{tracks,alerts,health}  an edge site's own output, stored in
                                         its local domain and mirrored to central   -> EDGE

Why two output prefixes: an edge site's leaf node shares core subjects with central; if the
edge published on ``skywarden.site.<site>.*`` central's SITES stream would store it directly
*and* through the mirror. The edge subjects are stored only by the edge's own stream and
reach central only through the mirror ``EDGE_<site>``, which catches up after a link loss.

Buckets: ``sw_sites`` (site id -> site description), ``sw_leases`` (site id -> owner, with
the bucket TTL as lease expiry), ``sw_workers`` (worker heartbeats, same TTL) and
``sw_snapshots`` (site id -> pipeline state (``core.statecodec``) + the raw sequence it covers).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    ExternalStream,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
)
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError

from skywarden.core.errors import ConfigError

log = logging.getLogger(__name__)

PREFIX = "skywarden"
RAW_STREAM = "SKYWARDEN_RAW"
SITES_STREAM = "SKYWARDEN_SITES"
EDGE_STREAM = "SKYWARDEN_EDGE"
SITES_BUCKET = "sw_sites"
LEASES_BUCKET = "sw_leases"
WORKERS_BUCKET = "sw_workers"
SNAPSHOTS_BUCKET = "sw_snapshots"

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_token(v: str, what: str = "site id") -> str:
    """A site or sensor id must be one NATS subject token (and a valid KV key)."""
    if not _TOKEN.match(v):
        raise ConfigError(what, f"{v!r} must be 1-64 of [A-Za-z0-9_-] (one NATS token)")
    return v


# The sensor token of a site's control records (ticks, operator actions, site edits): they
# travel on the raw stream so they are ordered among the reports and replayed after a
# take-over. Sensor ids starting with "_" are refused at ingest, so no sensor can collide.
CONTROL = "_ctl"


def raw_subject(site: str, sensor: str) -> str:
    return f"{PREFIX}.site.{site}.raw.{sensor}"


def control_subject(site: str) -> str:
    return raw_subject(site, CONTROL)


def sensor_token(sensor: str) -> str:
    """A sensor id usable on a raw subject: one token, not a reserved one."""
    check_token(sensor, "sensor id")
    if sensor.startswith("_"):
        raise ConfigError("sensor id", f"{sensor!r}: ids starting with '_' are reserved")
    return sensor


def raw_filter(site: str) -> str:
    return f"{PREFIX}.site.{site}.raw.*"


def out_subject(site: str, kind: str) -> str:
    """``kind`` is tracks, alerts or health."""
    return f"{PREFIX}.site.{site}.{kind}"


def live_subject(site: str, kind: str) -> str:
    """Core-only copy of a site's output (tracks, alerts), published as soon as it is made,
    before it is stored: for the live picture only. No stream captures ``skywarden.live.>``,
    so it can never enter the stored history unfenced."""
    return f"{PREFIX}.live.{site}.{kind}"


def edge_subject(site: str, kind: str) -> str:
    return f"{PREFIX}.edge.{site}.{kind}"


def edge_mirror_name(site: str) -> str:
    return f"EDGE_{site}"


def parse_out_subject(subject: str) -> tuple[str, str] | None:
    """``(site, kind)`` of a site, edge or live output subject, None for anything else."""
    parts = subject.split(".")
    if len(parts) == 4 and parts[0] == PREFIX and parts[1] in ("site", "edge", "live"):
        return parts[2], parts[3]
    return None


# Ordered consumers ask the server for an idle heartbeat this often. nats-py re-creates an
# ordered consumer after two missed heartbeats, so a consumer whose server died (or whose
# stream changed leader) is noticed in 2 s; nats-py's own default of 5 s took 10-20 s, which
# froze a third of the sites when a node that led nothing was killed.
CONSUMER_HEARTBEAT_S = 1.0


@dataclass(frozen=True)
class TopologyConfig:
    """Replicas, retention and limits. ``replicas`` 3 on a three-node cluster (R3)."""

    replicas: int = 1
    raw_max_age_s: float = 24 * 3600.0
    out_max_age_s: float = 24 * 3600.0
    raw_max_bytes: int = -1
    out_max_bytes: int = -1
    duplicate_window_s: float = 120.0
    lease_ttl_s: float = 5.0
    max_snapshot_bytes: int = 1024 * 1024
    memory: bool = False

    @property
    def storage(self) -> StorageType:
        return StorageType.MEMORY if self.memory else StorageType.FILE


async def _ensure_stream(js: JetStreamContext, cfg: StreamConfig) -> None:
    """Create the stream, or bring an existing one in line with ``cfg`` without ever lowering
    its replica count: a process started with the default (R1) configuration must not scale
    an operator's R3 stream down to one copy (it did: a worker's start-up turned the cluster
    test's R3 streams into R1, and losing that one node lost the stream)."""
    try:
        await js.add_stream(cfg)
    except BadRequestError as e:  # exists with another configuration
        if e.err_code != 10058:
            raise
        have = (await js.stream_info(str(cfg.name))).config.num_replicas or 1
        if have > (cfg.num_replicas or 1):
            cfg = dataclasses.replace(cfg, num_replicas=have)
        await js.update_stream(cfg)


async def _ensure_bucket(js: JetStreamContext, cfg: KeyValueConfig) -> None:
    """Create the bucket, or raise an existing one's replica count to ``cfg.replicas``.

    Never lowers it (as for streams). Raising matters: a ``skywarden central`` started
    without ``--replicas`` used to create every bucket with one copy, and workers started
    later with ``--replicas 3`` found them and kept them at one copy, silently, so losing
    that node lost every lease."""
    try:
        await js.key_value(cfg.bucket)
    except BucketNotFoundError:
        await js.create_key_value(cfg)
        return
    stream = f"KV_{cfg.bucket}"
    have = await js.stream_info(stream)
    if (have.config.num_replicas or 1) < cfg.replicas:
        await js.update_stream(dataclasses.replace(have.config, num_replicas=cfg.replicas))


T = TypeVar("T")


async def retrying(
    what: str,
    call: Callable[[], Awaitable[T]],
    give_up_s: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """``call()``, retried with exponential backoff (0.25 s doubling to 4 s) while the
    cluster is forming or electing leaders (timeouts, no responders, 503); the last error
    propagates after ``give_up_s`` seconds of retries, a configuration conflict (400) at
    once."""
    delay, waited = 0.25, 0.0
    while True:
        try:
            return await call()
        except (TimeoutError, NatsError) as e:
            if isinstance(e, BadRequestError) or waited >= give_up_s:  # a real conflict: say so
                raise
            log.warning("%s not ready (%s); retrying in %.2f s", what, e, delay)
        await sleep(delay)
        waited += delay
        delay = min(delay * 2, 4.0)


async def ensure_topology_retrying(
    js: JetStreamContext,
    cfg: TopologyConfig | None = None,
    give_up_s: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """:func:`ensure_topology` through :func:`retrying`. A worker started together with its
    servers used to exit on the first timeout, about once in ten starts."""
    await retrying("topology", lambda: ensure_topology(js, cfg), give_up_s, sleep)


async def ensure_topology(js: JetStreamContext, cfg: TopologyConfig | None = None) -> None:
    """Create (or update) the central streams and buckets; safe to call from every process."""
    c = cfg or TopologyConfig()
    common = {
        "retention": RetentionPolicy.LIMITS,
        "discard": DiscardPolicy.OLD,
        "storage": c.storage,
        "num_replicas": c.replicas,
        "duplicate_window": c.duplicate_window_s,
    }
    await _ensure_stream(
        js,
        StreamConfig(
            name=RAW_STREAM,
            subjects=[f"{PREFIX}.site.*.raw.*"],
            max_age=c.raw_max_age_s,
            max_bytes=c.raw_max_bytes,
            **common,  # type: ignore[arg-type]
        ),
    )
    await _ensure_stream(
        js,
        StreamConfig(
            name=SITES_STREAM,
            subjects=[f"{PREFIX}.site.*.{k}" for k in ("tracks", "alerts", "health")],
            max_age=c.out_max_age_s,
            max_bytes=c.out_max_bytes,
            **common,  # type: ignore[arg-type]
        ),
    )
    for bucket, ttl, size in (
        (SITES_BUCKET, None, 256 * 1024),
        (LEASES_BUCKET, c.lease_ttl_s, 1024),
        (WORKERS_BUCKET, c.lease_ttl_s, 1024),
        (SNAPSHOTS_BUCKET, None, c.max_snapshot_bytes),
    ):
        await _ensure_bucket(
            js,
            KeyValueConfig(
                bucket=bucket,
                history=1,
                ttl=ttl,
                max_value_size=size,
                storage=c.storage,
                replicas=c.replicas,
            ),
        )


async def ensure_edge_stream(js: JetStreamContext, site: str, cfg: TopologyConfig) -> None:
    """The edge site's own output stream, in its local JetStream domain."""
    await _ensure_stream(
        js,
        StreamConfig(
            name=EDGE_STREAM,
            subjects=[f"{PREFIX}.edge.{check_token(site)}.*"],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            storage=cfg.storage,
            num_replicas=1,
            max_age=cfg.out_max_age_s,
            max_bytes=cfg.out_max_bytes,
            duplicate_window=cfg.duplicate_window_s,
        ),
    )


async def ensure_edge_mirror(
    js: JetStreamContext, site: str, domain: str, cfg: TopologyConfig | None = None
) -> None:
    """On central: ``EDGE_<site>`` mirrors the edge's stream through its JetStream domain.

    The mirror is pulled by central, so whatever the edge stored while the link was down
    arrives when the leaf connection returns, in order, without duplicates.
    """
    c = cfg or TopologyConfig()
    try:
        await js.stream_info(edge_mirror_name(check_token(site)))
        return
    except NotFoundError:
        pass
    await js.add_stream(
        StreamConfig(
            name=edge_mirror_name(site),
            mirror=StreamSource(name=EDGE_STREAM, external=ExternalStream(api=f"$JS.{domain}.API")),
            storage=c.storage,
            num_replicas=c.replicas,
            max_age=c.out_max_age_s,
        )
    )
