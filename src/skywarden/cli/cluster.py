"""``skywarden worker | central | edge | site | gateway``: the scale-out commands' arguments.

Kept apart from ``main.py`` so the front stays short; like it, no logic here: the commands
live in ``runtime/cluster/commands.py``."""

from __future__ import annotations

import argparse
import os
from typing import Any


def _cmd_cluster(a: argparse.Namespace) -> int:
    """worker, central, edge, site and gateway: the ``--nats*`` access checked once (a
    ``ConfigError``: exit 2 with the reason, as ``main._call`` does for every command), then
    the command."""
    from skywarden.runtime.cluster import commands

    access = _nats_access(a)
    if a.cmd == "worker":
        import socket

        wid = a.id if a.id is not None else f"{socket.gethostname()}-{os.getpid()}"
        return commands.worker(access, wid, a.lease_ttl, a.flush, a.snapshot_every, a.replicas)
    if a.cmd == "central":
        return commands.central(access, a.edge, a.journal, a.every, a.replicas, a.http)
    if a.cmd == "edge":
        return commands.edge(access, a.site_id, a.scenario, a.seed, a.speed)
    if a.cmd == "site":
        return commands.site(access, a.action, a.site, a.header, a.region, a.replicas)
    journal = a.journal or f"sqlite:///var/gateway-{a.site_id}.sqlite"
    cursor = a.cursor or f"var/gateway-{a.site_id}.cursor"
    return commands.gateway(access, a.site, a.site_id, journal, cursor, a.id, a.every)


def _nats_access(a: argparse.Namespace) -> Any:
    """The servers and credentials of ``--nats*`` (``ConfigError`` when invalid)."""
    from skywarden.runtime.cluster.connect import NatsAccess

    return NatsAccess.of(
        a.nats,
        ca_file=a.nats_ca,
        cert_file=a.nats_cert,
        key_file=a.nats_key,
        creds_file=a.nats_creds,
        nkey_seed_file=a.nats_nkey,
        user=a.nats_user,
    )


def _add_nats_options(p: argparse.ArgumentParser, default: str) -> None:
    """Servers, TLS and identity of a cluster process (``runtime/cluster/connect.py``)."""
    p.add_argument("--nats", default=default, help="comma-separated server URLs")
    p.add_argument("--nats-ca", help="CA file that signed the servers' certificates (TLS)")
    p.add_argument("--nats-cert", help="client certificate (servers with verify: true)")
    p.add_argument("--nats-key", help="private key of --nats-cert")
    p.add_argument("--nats-creds", help="NATS .creds file (JWT and nkey)")
    p.add_argument("--nats-nkey", help="file holding an nkey seed")
    p.add_argument(
        "--nats-user", help="user name; the password is read from $SKYWARDEN_NATS_PASSWORD"
    )


def add_cluster_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Scale-out commands (issue 9, ``runtime/cluster``).

    No default here may cost anything to compute: every command, ``track`` included, builds
    this parser. The worker id's host name is looked up in ``_cmd_cluster``; computed here,
    it imported ``socket`` (4 ms) for every command."""
    w = sub.add_parser("worker", help="track pooled sites from NATS JetStream (scale-out)")
    _add_nats_options(w, "nats://127.0.0.1:4222")
    w.add_argument("--id", default=None, help="worker id (default: HOSTNAME-PID)")
    w.add_argument("--lease-ttl", type=float, default=5.0, help="site lease expiry, seconds")
    w.add_argument("--flush", type=float, default=0.2, help="frame publish period, seconds")
    w.add_argument("--snapshot-every", type=float, default=5.0, help="seconds")
    w.add_argument("--replicas", type=int, default=1, help="stream replicas (3 on a cluster)")
    w.set_defaults(func=_cmd_cluster)

    c = sub.add_parser("central", help="aggregate every site's tracks and alerts (scale-out)")
    _add_nats_options(c, "nats://127.0.0.1:4222")
    c.add_argument("--edge", action="append", default=[], help="SITE=JS_DOMAIN of an edge")
    c.add_argument(
        "--journal",
        help="journal URL, e.g. postgresql://127.0.0.1:5432/sky (also keeps --http's accounts)",
    )
    c.add_argument("--every", type=float, default=5.0, help="summary period, seconds")
    c.add_argument("--replicas", type=int, default=1)
    c.add_argument(
        "--http",
        help="HOST:PORT to serve /api/cluster/sites, /api/cluster/picture and /metrics "
        "(login: POST /api/auth/token; first admin's password from $SKYWARDEN_ADMIN_PASSWORD)",
    )
    c.set_defaults(func=_cmd_cluster)

    st = sub.add_parser("site", help="register, change, list or remove pooled sites")
    st.add_argument("action", choices=["add", "update", "list", "remove"])
    st.add_argument("site", nargs="?", help="site id (one NATS token)")
    st.add_argument("--header", help="skybench/1 scenario file or JSON header of the site")
    st.add_argument("--region", default="", help="groups sites in the central picture")
    st.add_argument("--replicas", type=int, default=1, help="stream replicas (3 on a cluster)")
    _add_nats_options(st, "nats://127.0.0.1:4222")
    st.set_defaults(func=_cmd_cluster)

    g = sub.add_parser("gateway", help="run a pooled site's sensor links into the raw stream")
    g.add_argument("--site", required=True, help="site TOML whose sensors have [link]s")
    g.add_argument("--site-id", required=True, help="the site's id in the pool")
    g.add_argument("--journal", help="local journal URL (default: sqlite:///var/gateway-ID.sqlite)")
    g.add_argument("--cursor", help="forwarding cursor file (default: var/gateway-ID.cursor)")
    g.add_argument("--id", default="gw", help="gateway id, part of every message id")
    g.add_argument("--every", type=float, default=5.0, help="summary line period, seconds")
    _add_nats_options(g, "nats://127.0.0.1:4222")
    g.set_defaults(func=_cmd_cluster)

    e = sub.add_parser("edge", help="track a simulated site, publish to its leaf-node NATS")
    _add_nats_options(e, "nats://127.0.0.1:4222")
    e.add_argument("--site-id", required=True)
    e.add_argument("--scenario", default="residence")
    e.add_argument("--seed", type=int, default=None)
    e.add_argument("--speed", type=float, default=1.0)
    e.set_defaults(func=_cmd_cluster)
