"""Where a request comes from, as far as the hub can tell: for limits per source address.

The peer's address (REMOTE_ADDR), unless the peer is a reverse proxy listed in
HUB_TRUSTED_PROXIES: then the address that proxy saw, read from X-Forwarded-For from the
right (the nearest hop first), skipping the trusted proxies. The left-most hops are
whatever the client wrote itself (nginx's `$proxy_add_x_forwarded_for` appends to the
header it was sent), so they are never believed over the proxy's own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def source_address(meta: Mapping[str, Any], trusted: Iterable[Network]) -> str:
    """The client's address for `meta` (a WSGI environ), believing only trusted proxies."""
    networks = tuple(trusted)
    peer = str(meta.get("REMOTE_ADDR") or "")
    address = _address(peer)
    if address is None or not _within(address, networks):
        return peer
    source = str(address)
    hops = str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",")
    for hop in reversed(hops):
        found = _address(hop.strip())
        if found is None:
            break  # garbage beyond this point was not written by a proxy of ours
        source = str(found)
        if not _within(found, networks):
            break
    return source


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)
