"""Webhook secrets sealed at rest: AES-256-GCM under a key file in the hub's data directory.

The hub must sign with each endpoint's secret, so it keeps the secret itself, not a hash.
Sealed in the database and with the key in a file of the data directory (mode 0600, next
to Django's secret key), a copy of the database alone (a backup, a replica, a dump sent for
support) cannot sign as the hub. Whoever holds both can, as with any signing key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

KEY_FILENAME = "webhook-key"
_NONCE = 12
_CONTEXT = b"loyalty-hub webhook secret v1"


def _key_file() -> Path:
    return Path(settings.HUB.data_dir) / KEY_FILENAME


def _key(*, create: bool) -> bytes:
    """The sealing key, made (mode 0600) the first time a secret is sealed."""
    path = _key_file()
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another command made it first: use theirs
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(AESGCM.generate_key(bit_length=256))
                handle.flush()
                os.fsync(handle.fileno())
    key = path.read_bytes()
    if len(key) != 32:
        raise ValueError(f"{path} is not a webhook key (32 bytes)")
    return key


def seal(secret: str) -> bytes:
    """The secret encrypted for the database: nonce and ciphertext."""
    nonce = secrets.token_bytes(_NONCE)
    return nonce + AESGCM(_key(create=True)).encrypt(nonce, secret.encode("utf-8"), _CONTEXT)


def unseal(sealed: bytes) -> str:
    """The secret back; refuses anything not sealed with this hub's key."""
    blob = bytes(sealed)
    opened = AESGCM(_key(create=False)).decrypt(blob[:_NONCE], blob[_NONCE:], _CONTEXT)
    return opened.decode("utf-8")
