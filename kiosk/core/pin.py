"""PIN hashing: salted scrypt with its parameters kept beside each hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

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


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # scrypt needs 128 * n * r bytes; give it twice that so OpenSSL never refuses.
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
