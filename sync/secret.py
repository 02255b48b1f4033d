"""The device secret's file: where it is, read (refused when others may read it), written.

The secret is the HMAC key of every signed request (docs/sync-protocol.md). It is kept as
its base64url text in `crm.secret_file`, else `crm-secret` in the data directory, mode
0600; `crm.device_secret` may hold it instead, for development. A refused secret is
remembered by a fingerprint only, never the secret.

Sealed at rest: with a key source that does not need the secret itself (the board's OTP
key, or the local key file), the file holds `sealed:` and the secret encrypted with it
(kiosk/core/store/vault.py `seal_with`), so the SD card alone does not give it. A secret
found in clear (written before, or by hand) is sealed at its first read. With the `hub`
source it stays in clear: it is what asks the hub for the key, and revoking the device at
the hub is what stops a thief who copied it (docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from kiosk.config import CrmConfig
from kiosk.core.store.vault import KeySource, open_with, seal_with
from kiosk.errors import DataKeyUnavailable, SecretExposed
from sync.client import decode_secret

SECRET_FILENAME = "crm-secret"
SEALED = "sealed:"
_LABEL = "device secret"


def sealing(keys: KeySource | None) -> KeySource | None:
    """The key source the secret may be sealed with: not the hub's (it needs the secret)."""
    return keys if keys is not None and keys.name != "hub" else None


def fingerprint(secret: bytes | None) -> str | None:
    """Which secret was refused, without keeping the secret (or anything that signs)."""
    if secret is None:
        return None
    return hashlib.sha256(b"loyalty-kiosk refused secret\0" + secret).hexdigest()[:32]


def secret_path(config: CrmConfig, data_dir: Path) -> Path:
    """Where the device secret is kept: crm.secret_file, else a file in the data directory."""
    return Path(config.secret_file) if config.secret_file else data_dir / SECRET_FILENAME


def load_secret(config: CrmConfig, data_dir: Path, keys: KeySource | None = None) -> bytes | None:
    """The device secret (from crm.device_secret for development, else the secret file).

    A sealed file needs `keys`; a file in clear is sealed with them (when they may seal).
    """
    if config.device_secret:
        return decode_secret(config.device_secret.strip())
    path = secret_path(config, data_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise SecretExposed(path=str(path), mode=f"{mode & 0o777:o}")
    text = path.read_text(encoding="ascii").strip()
    if text.startswith(SEALED):
        if keys is None or keys.name == "hub":
            raise DataKeyUnavailable(reason=f"{path} is sealed and no key source opens it")
        blob = base64.b64decode(text[len(SEALED) :])
        return decode_secret(open_with(keys.key(), blob, _LABEL).decode("ascii"))
    secret = decode_secret(text)
    if sealing(keys) is not None:
        save_secret(config, data_dir, secret, keys)  # sealed from now on
    return secret


def save_secret(
    config: CrmConfig, data_dir: Path, secret: bytes, keys: KeySource | None = None
) -> Path:
    """Write the device secret, readable by the service user only (written then renamed),
    sealed with `keys` when they may seal it."""
    path = secret_path(config, data_dir)
    text = base64.urlsafe_b64encode(secret).decode()
    sealer = sealing(keys)
    if sealer is not None:
        text = SEALED + base64.b64encode(seal_with(sealer.key(), text.encode(), _LABEL)).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return path
