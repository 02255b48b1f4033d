"""Where the hub may send a webhook: no one gets it to call into the hub's own network.

An endpoint's URL is typed by a person and its DNS answer is the receiver's to choose, so
each address it resolves to is checked when the endpoint is added and again before every
delivery: a public (global) address over HTTPS, or, when the hub's operator allows it
(HUB_WEBHOOK_ALLOW_PRIVATE=1: a CRM on the shop's own network, the tests' loopback), a
private or loopback one, over HTTP too. Redirects are never followed (delivery.py), so a
public receiver cannot bounce the hub to an inner address.

DNS rebinding (a name that answers a public address to the check and 127.0.0.1 to the
connection a moment later): the name is resolved once, every address checked, and the
connection made to the first of those very addresses (`Target.pinned_url`), the name
kept for the Host header, TLS's SNI and the certificate's check (delivery.py's
`PinnedAdapter`). Nothing resolves the name a second time.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from hub.errors import HubError

ALLOW_PRIVATE_SETTING = "HUB_WEBHOOK_ALLOW_PRIVATE"


class UnsafeTarget(HubError):
    """A webhook URL the hub will not call."""


# host, port -> the addresses the name has now (the tests inject one that changes its mind)
Resolver = Callable[[str, int], Sequence[str]]


def system_resolve(host: str, port: int) -> list[str]:
    """The name's addresses by the system's resolver (zone ids dropped)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(address[0]).split("%")[0] for *_, address in found]


@dataclass(frozen=True)
class Target:
    """A URL checked: its host as typed, and the addresses that were checked."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the first checked address (the one called)."""
        parts = urlsplit(self.url)
        ip = ipaddress.ip_address(self.addresses[0])
        literal = f"[{ip}]" if ip.version == 6 else str(ip)
        return urlunsplit(parts._replace(netloc=f"{literal}:{self.port}"))

    @property
    def host_header(self) -> str:
        """The Host header: the name (and the port, if it is not the scheme's own)."""
        default = 443 if self.url.lower().startswith("https:") else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def private_allowed() -> bool:
    """Whether the operator allows private and loopback receivers."""
    return os.environ.get(ALLOW_PRIVATE_SETTING) == "1"


def check(
    url: str, *, allow_private: bool | None = None, resolve: Resolver = system_resolve
) -> Target:
    """The URL and the addresses to call it at; UnsafeTarget (saying why) if the hub must not."""
    allowed = private_allowed() if allow_private is None else allow_private
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("a webhook URL starts with https:// (or http:// on a private network)")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("a webhook URL carries no user or password (the signature proves us)")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("a webhook URL names a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = [ipaddress.ip_address(address) for address in resolve(host, port)]
    except (OSError, ValueError) as exc:
        raise UnsafeTarget(f"the webhook's host cannot be resolved: {host}") from exc
    if not found:
        raise UnsafeTarget(f"the webhook's host cannot be resolved: {host}")
    for ip in found:
        if ip.is_global and not ip.is_multicast:
            if parts.scheme != "https" and not allowed:
                raise UnsafeTarget("a webhook to the internet goes over https://")
            continue
        if not allowed or ip.is_multicast or ip.is_unspecified:
            raise UnsafeTarget(
                f"{host} is a private, loopback or reserved address ({ip}); the hub calls "
                f"those only with {ALLOW_PRIVATE_SETTING}=1"
            )
    return Target(url, host, port, tuple(str(ip) for ip in found))
