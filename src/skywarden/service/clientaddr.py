"""Who is really on the other end: the TCP peer, or what a *configured* proxy says it relays.

``X-Forwarded-For`` is a request header: any client can write any address into it. It is
believed only when the TCP peer is one of ``ServiceSettings.trusted_proxies`` (addresses or
networks; none by default). Then the header is read from the right (the entry the proxy
appended) and the first address that is not itself a trusted proxy is the client. Otherwise
the peer is the client, and a header it sent is kept only as a *claim* (audited as such,
never used for rate limits or lockout).

The runtime starts uvicorn with ``proxy_headers=False``: uvicorn's own handling trusts
loopback by default and would rewrite the peer before this code sees it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 20


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.1", "192.168.0.0/24", "::1"]`` -> networks; a bad item is a ``ValueError``."""
    out = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"trusted_proxies: {item!r} is not an address or network") from None
    return tuple(out)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    t = text.strip().strip('"')
    if t.startswith("["):  # [v6]:port
        t = t[1 : t.find("]")] if "]" in t else t
    elif t.count(":") == 1:  # v4:port
        t = t.split(":", 1)[0]
    try:
        return ipaddress.ip_address(t)
    except ValueError:
        return None


def _trusted(addr: str, proxies: tuple[Network, ...]) -> bool:
    ip = _ip(addr)
    return ip is not None and any(ip in n for n in proxies)


@dataclass(frozen=True)
class ClientAddress:
    address: str  # the client rate limits, lockout and the audit use
    peer: str  # the TCP peer
    claimed: str | None = None  # an X-Forwarded-For from an untrusted peer, as sent (cut)


def client_address(
    peer: str, headers: Mapping[str, str], proxies: tuple[Network, ...]
) -> ClientAddress:
    xff = headers.get("x-forwarded-for")
    if xff is None:
        return ClientAddress(peer, peer)
    if not proxies or not _trusted(peer, proxies):
        return ClientAddress(peer, peer, xff[:100])
    hops = [h.strip() for h in xff.split(",")][-MAX_HOPS:]
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # a malformed entry: nothing left of it can be believed
        if not any(ip in n for n in proxies):
            return ClientAddress(str(ip), peer)
    return ClientAddress(peer, peer)
