"""The client's address behind trusted reverse proxies (`CITYGRID_TRUSTED_PROXIES`).

Lock-out after failed attempts, the login audit and the write audit key on the client's address. Behind
a reverse proxy every request comes from the proxy, so one client's failures would lock out everyone.
`X-Forwarded-For` names the real client, but anyone can send it: it is believed only when the peer that
connected is a configured trusted proxy, and then only from the right: each proxy appends the address it
was connected from, so the right-most hop that is not itself a trusted proxy is the first address no
client could choose. Hops to its left are the client's to write and are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from gis.settings import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str]) -> str:
    """The client's address: `peer` (who connected), unless it is a trusted proxy; then the right-most
    `X-Forwarded-For` hop that is not a trusted proxy (all trusted: the left-most; none sent: `peer`).
    `forwarded_for` holds the header's values (it may come several times; they read as one list)."""
    peer = peer or "unknown"
    networks = _networks(tuple(get_settings().trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


def from_scope(scope: dict) -> str | None:
    """`client_address` of an ASGI scope (for the middleware, which has no Request), None without a peer."""
    client = scope.get("client")
    if not client:
        return None
    values = [v.decode("latin-1") for k, v in scope.get("headers") or () if k == b"x-forwarded-for"]
    return client_address(client[0], values)
