"""Where the key that wraps the kiosk's data key comes from (`security.key_source`).

- `otp`: derived from the board's device-unique private key in OTP memory, read with
  Raspberry Pi's `rpi-otp-private-key` (Raspberry Pi 4, 400, CM4 and 5, once a key has
  been programmed: docs/install-raspberry-pi.md). Sealed to the board: the SD card moved
  to another board, or copied, opens nothing. Works offline after any power cut.
- `hub`: a per-device key the club server keeps and hands to this device only over its
  signed protocol (sync/storage_key.py), cached in memory-backed `/run` so restarts do not
  need the network; a revoked device gets it no more. After a power cut the kiosk needs
  the hub once before it can open members' data.
- `file`: a key file in the data folder: development, tests, and a standalone board
  without OTP. It protects nothing against a thief with the card; the doctor says so.
- `auto` (the default): what the database is sealed with already; for a new one, `otp`
  when the board has a key programmed, else `file`.

Whatever the source, the data key itself is stored only wrapped (kiosk/core/store/vault.py).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import shutil
import sqlite3
import subprocess
from pathlib import Path

from kiosk.core.store.db import database_path
from kiosk.core.store.vault import KeySource, LocalKeyFile, default_key_source, stored_key
from kiosk.errors import DataKeyUnavailable

OTP_COMMAND = "rpi-otp-private-key"
SOURCES = ("auto", "otp", "hub", "file")


class OtpKey:
    """The key-encryption key derived from the board's OTP private key."""

    name = "otp"

    def __init__(self, command: str = OTP_COMMAND) -> None:
        self.command = command

    def key(self) -> bytes:
        return hmac.new(
            _read_otp(self.command), b"loyalty-kiosk data key wrap v1", hashlib.sha256
        ).digest()


@functools.cache
def _read_otp(command: str) -> bytes:
    """The board's 32-byte OTP key (read once a process: it cannot change)."""
    executable = shutil.which(command)
    if executable is None:
        raise DataKeyUnavailable(reason=f"`{command}` is not installed (not a Raspberry Pi 4/5?)")
    try:
        done = subprocess.run([executable], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DataKeyUnavailable(reason=f"`{command}` failed: {type(exc).__name__}") from exc
    text = done.stdout.strip()
    if done.returncode != 0 or len(text) != 64:
        raise DataKeyUnavailable(
            reason=f"`{command}` could not read the OTP key (is the service user in the "
            "`video` group?)"
        )
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise DataKeyUnavailable(reason=f"`{command}` gave no key") from exc
    if not any(key):
        raise DataKeyUnavailable(
            reason="the board's OTP key is not programmed (docs/install-raspberry-pi.md)"
        )
    return key


def otp_available(command: str = OTP_COMMAND) -> bool:
    """Whether this board has an OTP key programmed that can be read now."""
    try:
        _read_otp(command)
    except DataKeyUnavailable:
        return False
    return True


def resolve(setting: str, data_dir: Path) -> KeySource | str:
    """The key source named by `security.key_source`, or "hub" for the caller to build
    (it needs the CRM client, which the composition root owns)."""
    if setting == "otp":
        return OtpKey()
    if setting == "file":
        return default_key_source(data_dir)
    if setting == "hub":
        return "hub"
    if setting == "auto":
        # What the database is sealed with already decides: the touch app, `kiosk sync`
        # and the backup must agree, and an OTP that cannot be read at one start (a unit
        # without /dev/vcio) must be said, not silently replaced by a new key file.
        found = sealed_with(database_path(data_dir))
        if found is not None and found != "auto":
            return resolve(found, data_dir)
        return OtpKey() if otp_available() else default_key_source(data_dir)
    raise DataKeyUnavailable(reason=f"security.key_source '{setting}' is none of {SOURCES}")


def sealed_with(path: Path) -> str | None:
    """The key source a database's data key is wrapped by, or None (new, or unreadable)."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        try:
            found = stored_key(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # opening it for real says what is wrong
    return found["source"] if found else None


def protects_against_theft(source: KeySource) -> bool:
    """Whether the card alone is useless to a thief with this source (not a local file)."""
    return not isinstance(source, LocalKeyFile)
