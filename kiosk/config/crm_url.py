"""The one rule for the CRM's address: https, or plain http to this machine only.

Members' phone numbers, names and card ids travel to the CRM; over plain http anyone on
the shop's network reads them. The configuration (`crm.url`, whatever layer set it),
`kiosk sync enroll` and provisioning (the command and the technician's screen) all ask
`crm_url_problem`, so no way in takes an address the others would refuse. Loopback
(127.0.0.0/8, ::1, `localhost`) stays open to plain http: the simulated CRM and a local
TLS-terminating proxy never leave the machine.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.0/8, ::1, localhost"


def is_loopback(host: str) -> bool:
    """Whether `host` (as a URL gives it, brackets removed) never leaves this machine."""
    name = host.lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a name: it could resolve anywhere


def crm_url_problem(url: str) -> str | None:
    """Why `url` cannot be the CRM's address, or None when it can."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "is not a URL (e.g. https://crm.example)"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// address with a host (e.g. https://crm.example)"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user or password (the kiosk signs with its own secret)"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            f"must use https:// for {parts.hostname}: plain http:// would send members' "
            f"data in clear (http:// only on loopback: {LOOPBACK})"
        )
    return None
