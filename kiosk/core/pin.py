"""PIN hashing: salted scrypt with its parameters kept beside each hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from itertools import pairwise

_R = 8
_P = 1


def hash_pin(pin: str, *, n: int) -> str:
    """A self-describing hash of the PIN: `scrypt$n$r$p$salt$digest`."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(pin, salt, n, _R, _P)
    return "$".join(("scrypt", str(n), str(_R), str(_P), _b64(salt), _b64(digest)))


def check_pin(pin: str, stored: str) -> bool:
    """Whether `pin` matches a hash from `hash_pin`, in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(pin, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


def hash_cost(stored: str) -> tuple[int, int] | None:
    """The (N, r) of a stored hash, or None when it is not one of ours."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not (parts[1] + parts[2]).isdigit():
        return None
    return int(parts[1]), int(parts[2])


def needs_rehash(stored: str, *, n: int) -> bool:
    """Whether a stored hash is cheaper than the floor (N below `n`, or r below ours)."""
    cost = hash_cost(stored)
    return cost is None or cost[0] < n or cost[1] < _R


def is_trivial(pin: str) -> bool:
    """Whether a PIN is one a thief tries first: one digit repeated, or a run like 1234 or 4321.

    A run steps by one up or down, wrapping past 9 and 0 (7890, 3210 and 1098 are runs).
    """
    if len(set(pin)) == 1:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    return steps in ({1}, {9})


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # scrypt needs 128 * n * r bytes; give it twice that so OpenSSL never refuses.
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
