"""Where the hub may send a webhook: no one gets it to call into the hub's own network.

An endpoint's URL is typed by a person and its DNS answer is the receiver's to choose, so
each address it resolves to is checked when the endpoint is added and again before every
delivery: a public (global) address over HTTPS, or, when the hub's operator allows it
(HUB_WEBHOOK_ALLOW_PRIVATE=1: a CRM on the shop's own network, the tests' loopback), a
private or loopback one, over HTTP too. Redirects are never followed (delivery.py), so a
public receiver cannot bounce the hub to an inner address. What is left (docs/security.md):
a name that resolves anew between this check and the connection (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from hub.errors import HubError

ALLOW_PRIVATE_SETTING = "HUB_WEBHOOK_ALLOW_PRIVATE"


class UnsafeTarget(HubError):
    """A webhook URL the hub will not call."""


def private_allowed() -> bool:
    """Whether the operator allows private and loopback receivers."""
    return os.environ.get(ALLOW_PRIVATE_SETTING) == "1"


def check(url: str, *, allow_private: bool | None = None) -> None:
    """Refuse a URL the hub must not call (UnsafeTarget says why)."""
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
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise UnsafeTarget(f"the webhook's host cannot be resolved: {host}") from exc
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if ip.is_global and not ip.is_multicast:
            if parts.scheme != "https" and not allowed:
                raise UnsafeTarget("a webhook to the internet goes over https://")
            continue
        if not allowed or ip.is_multicast or ip.is_unspecified:
            raise UnsafeTarget(
                f"{host} is a private, loopback or reserved address ({ip}); the hub calls "
                f"those only with {ALLOW_PRIVATE_SETTING}=1"
            )
