"""The gateway's callbacks to the hub: delivery reports and replies (opt-out words).

Gateways do not sign their callbacks, so each URL carries a token only the hub and the
gateway's panel know: an HMAC of the gateway's name under the hub's secret key (nothing
more to store or rotate apart from it). A request without the right token is a 404, as
any unknown path; a report can only move one of our sent messages forward, once.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def token(gateway: str) -> str:
    """The secret path segment of `gateway`'s callbacks."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"messaging-callback:{gateway}".encode(), hashlib.sha256).hexdigest()[:32]


def path(gateway: str, kind: str) -> str:
    """The callback's path on the hub (`kind`: delivery or inbound)."""
    return f"/sms/{gateway}/{token(gateway)}/{kind}"


def valid(gateway: str, given: str) -> bool:
    """Whether `given` is `gateway`'s token (compared in constant time)."""
    return hmac.compare_digest(token(gateway), given)
