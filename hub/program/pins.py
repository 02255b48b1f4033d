"""A staff PIN hashed as the kiosk hashes it (docs/sync-protocol.md, "PIN hashes").

`scrypt$N$r$p$SALT$DIGEST`: standard base64 with padding, a 16-byte salt and a 64-byte
digest, N = 32768, r = 8, p = 1 (the kiosk's shipped `security.pin_scrypt_n`, its floor
for a pulled hash). Written here with hashlib alone: the hub imports none of the kiosk.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
