"""The device secret's file: where it is, read (refused when others may read it), written.

The secret is the HMAC key of every signed request (docs/sync-protocol.md). It is kept as
its base64url text in `crm.secret_file`, else `crm-secret` in the data directory, mode
0600; `crm.device_secret` may hold it instead, for development. A refused secret is
remembered by a fingerprint only, never the secret.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from kiosk.config import CrmConfig
from kiosk.errors import SecretExposed
from sync.client import decode_secret

SECRET_FILENAME = "crm-secret"


def fingerprint(secret: bytes | None) -> str | None:
    """Which secret was refused, without keeping the secret (or anything that signs)."""
    if secret is None:
        return None
    return hashlib.sha256(b"loyalty-kiosk refused secret\0" + secret).hexdigest()[:32]


def secret_path(config: CrmConfig, data_dir: Path) -> Path:
    """Where the device secret is kept: crm.secret_file, else a file in the data directory."""
    return Path(config.secret_file) if config.secret_file else data_dir / SECRET_FILENAME


def load_secret(config: CrmConfig, data_dir: Path) -> bytes | None:
    """The device secret (from crm.device_secret for development, else the secret file)."""
    if config.device_secret:
        return decode_secret(config.device_secret.strip())
    path = secret_path(config, data_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise SecretExposed(path=str(path), mode=f"{mode & 0o777:o}")
    return decode_secret(path.read_text(encoding="ascii").strip())


def save_secret(config: CrmConfig, data_dir: Path, secret: bytes) -> Path:
    """Write the device secret, readable by the service user only (written then renamed)."""
    path = secret_path(config, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(secret).decode())
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return path
