"""A staff PIN hashed as the kiosk hashes it (docs/sync-protocol.md, "PIN hashes").

`scrypt$N$r$p$SALT$DIGEST`: standard base64 with padding, a 16-byte salt and a 64-byte
digest, N = 32768, r = 8, p = 1 (the kiosk's shipped `security.pin_scrypt_n`, its floor
for a pulled hash). Written here with hashlib alone: the hub imports none of the kiosk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from itertools import pairwise

SCRYPT_N = 32_768
SCRYPT_R = 8
SCRYPT_P = 1
DIGEST_BYTES = 64
SALT_BYTES = 16
PIN = re.compile(r"[0-9]{4,8}")


def hash_pin(pin: str) -> str:
    """The kiosk's hash of a PIN of 4 to 8 ASCII digits (ValueError for anything else)."""
    if not PIN.fullmatch(pin):
        raise ValueError("a PIN is 4 to 8 digits")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(
        pin.encode("ascii"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=256 * SCRYPT_N * SCRYPT_R + 2**20,
        dklen=DIGEST_BYTES,
    )
    return "$".join(
        ("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    )


def check_pin(pin: str, stored: str) -> bool:
    """Whether `pin` is the PIN of a stored `scrypt$...` hash (False for any other text)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        if scheme != "scrypt" or int(n) * int(r) > 2**24:  # no hash that costs the hub 2 GiB
            return False
        actual = hashlib.scrypt(
            pin.encode("ascii"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=256 * int(n) * int(r) + 2**20,
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def is_trivial(pin: str) -> bool:
    """One digit repeated, or a run up or down (1234, 4321, 7890): the kiosk's rule too."""
    if len(set(pin)) == 1:
        return True
    return {(int(b) - int(a)) % 10 for a, b in pairwise(pin)} in ({1}, {9})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
