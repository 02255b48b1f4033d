"""The read API's keys: shown once, kept as SHA-256, with scopes and a rate limit each.

A key is `club_<prefix>_<secret>`: the prefix finds its row, the secret's SHA-256 is
compared in constant time. 32 random bytes need no slow hash (nothing to guess from a
dictionary), and a copy of the database holds no key that works.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from hub.errors import HubError
from hub.integration.models import ApiKey

SCOPES = ("members:read", "balances:read", "events:read", "exports:read")
_TABLE = ApiKey._meta.db_table


@dataclass(frozen=True)
class Key:
    """A key that checked out: its row id, name and scopes."""

    id: int
    name: str
    scopes: frozenset[str]


def parse_scopes(text: str) -> list[str]:
    """`members:read,balances:read` -> the scopes; an unknown one is refused."""
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise HubError(
            f"unknown scope {', '.join(unknown) or '(none)'}; the scopes: {', '.join(SCOPES)}"
        )
    return sorted(set(wanted), key=SCOPES.index)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def add(name: str, scopes: list[str], per_minute: int) -> str:
    """Make a key; the key itself, to show once."""
    if not name.strip() or len(name) > 100:
        raise HubError("a key's name is 1 to 100 characters")
    if not 1 <= per_minute <= 100_000:
        raise HubError("--per-minute is 1 to 100000")
    if ApiKey.objects.filter(name=name).exists():
        raise HubError(f"a key named {name!r} exists (revoke it, or choose another name)")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    ApiKey.objects.create(
        name=name,
        prefix=prefix,
        digest=_digest(secret),
        scopes=scopes,
        per_minute=per_minute,
        tokens=float(per_minute),
    )
    return f"club_{prefix}_{secret}"


def revoke(name: str, now: datetime) -> None:
    """Revoke a key for good."""
    if not ApiKey.objects.filter(name=name, revoked_at__isnull=True).update(revoked_at=now):
        raise HubError(f"no key named {name!r} in force (see hub apikey list)")


def check(presented: str) -> Key | None:
    """The key presented, if it is one in force; None for a wrong or revoked key."""
    kind, _, rest = presented.partition("_")
    prefix, _, secret = rest.partition("_")
    if kind != "club" or not prefix or not secret:
        return None
    row = (
        ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True)
        .values_list("id", "name", "digest", "scopes")
        .first()
    )
    if row is None:
        hmac.compare_digest(_digest(secret), _digest(""))  # the same work either way
        return None
    if not hmac.compare_digest(_digest(secret), str(row[2])):
        return None
    return Key(int(row[0]), str(row[1]), frozenset(row[3]))


def take_token(key_id: int) -> float:
    """Spend one request of the key's bucket: 0 if allowed, else the seconds to wait.

    One UPDATE refills (per_minute a minute, up to per_minute) and takes, so that the
    hub's processes share the bucket without a race.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_TABLE} SET
                tokens = LEAST(per_minute::float8, tokens + per_minute / 60.0 *
                    EXTRACT(EPOCH FROM clock_timestamp() - tokens_at)) - 1,
                tokens_at = clock_timestamp(), last_used_at = clock_timestamp()
            WHERE id = %s
            RETURNING tokens, per_minute
            """,
            [key_id],
        )
        tokens, per_minute = cursor.fetchone()
        if tokens >= 0:
            return 0.0
        # Not spent: put it back, and say when one will be there.
        cursor.execute(f"UPDATE {_TABLE} SET tokens = tokens + 1 WHERE id = %s", [key_id])
        return float((-tokens) * 60.0 / per_minute)


def listing() -> list[dict[str, object]]:
    """Every key (never its secret): name, prefix, scopes, limit, when used, revoked."""
    return [
        {
            "name": k.name,
            "prefix": k.prefix,
            "scopes": k.scopes,
            "per_minute": k.per_minute,
            "created_at": k.created_at,
            "last_used_at": k.last_used_at,
            "revoked_at": k.revoked_at,
        }
        for k in ApiKey.objects.order_by("id")
    ]
