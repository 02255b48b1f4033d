"""The `hub` key source: the key that wraps the data key, kept by the club server per device.

For boards without an OTP key (kiosk/appliance/keys.py). The hub makes a random key for
each device at its first request and hands it only to that device, over its signed
protocol (`GET /v2/storage-key`, docs/sync-protocol.md). The kiosk caches it in
`security.key_cache_dir` (`/run/loyalty-kiosk`, memory-backed): a restart of the app
opens the members' data with no network, a power cut forgets it, and a thief with the SD
card alone has neither the key nor, once the device is revoked at the hub, a way to ask
for it (docs/security.md). The device secret that signs the request stays in clear with
this source (sync/secret.py `sealing`): it is what asks for the key.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.core.store.db import database_path
from kiosk.errors import DataKeyUnavailable, SecretExposed
from sync.client import RETRYABLE_REFUSALS, CrmClient, CrmError, decode_secret

log = logging.getLogger(__name__)
PATH = "/v2/storage-key"
# A device id used as a file name as it is; anything else is refused, never mangled.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class HubKey:
    """The key-encryption key kept by the hub for this device."""

    name = "hub"

    def __init__(
        self,
        config: KioskConfig,
        data_dir: Path,
        client: Callable[[str], CrmClient | None],
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.client = client
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def key(self) -> bytes:
        """The cached key, else the hub's (then cached); DataKeyUnavailable if neither."""
        with self._lock:
            if self._key is None:
                device_id = self.device_id()
                path = self.cache_path(device_id)
                key = read_cache(path)
                if key is None:
                    key = self._ask_hub(device_id)
                    write_cache(path, key)
                self._key = key
            return self._key

    def forget(self) -> None:
        """Drop the cached key (it did not open the data key): the next `key()` asks the hub."""
        with self._lock:
            self._key = None
            with contextlib.suppress(DataKeyUnavailable, OSError):
                self.cache_path(self.device_id()).unlink(missing_ok=True)

    def device_id(self) -> str:
        """This kiosk's id: `device.id`, else the one its database keeps (read without keys)."""
        found = self.config.device.id or stored_device_id(database_path(self.data_dir))
        if not found:
            raise DataKeyUnavailable(
                reason="the kiosk has no device id yet to ask the hub for its storage key "
                "(set device.id, or provision it at the hub)"
            )
        return found

    def cache_path(self, device_id: str) -> Path:
        """Where the key of `device_id` is cached."""
        if not _FILE_NAME.fullmatch(device_id):
            raise DataKeyUnavailable(
                reason="the device id cannot name a file of the key cache "
                "(letters, digits, '.', '_' and '-' only)"
            )
        return Path(self.config.security.key_cache_dir) / f"{device_id}.key"

    def _ask_hub(self, device_id: str) -> bytes:
        try:
            client = self.client(device_id)
        except (SecretExposed, DataKeyUnavailable, ValueError, OSError) as exc:
            raise DataKeyUnavailable(
                reason=f"the device secret cannot be read to ask the hub for the storage key "
                f"({type(exc).__name__})"
            ) from exc
        if client is None:
            raise DataKeyUnavailable(
                reason="security.key_source is 'hub' but no hub is set up (crm.url): "
                "provision the kiosk at the hub"
            )
        try:
            answer = _fetch(client)
        except CrmError as exc:
            raise DataKeyUnavailable(reason=_refusal(exc)) from exc
        text = answer.get("key")
        try:
            key = decode_secret(text) if isinstance(text, str) else None
        except ValueError:
            key = None
        if key is None:
            raise DataKeyUnavailable(reason="the hub's answer has no usable storage key")
        log.info(
            "the storage key came from the hub; cached in %s", self.config.security.key_cache_dir
        )
        return key


def _fetch(client: CrmClient) -> dict[str, object]:
    """The hub's answer, signed again once when only the time or the nonce was refused.

    After a power cut a board without a clock may be far off; the refusal's Date sets
    the client's offset, and the second request is signed with the hub's time.
    """
    try:
        # The client's signed-request helper: sync/client.py has no room for one more
        # method, and this request is the key source's alone.
        return client._request("GET", PATH, None)
    except CrmError as exc:
        if exc.code in RETRYABLE_REFUSALS:
            return client._request("GET", PATH, None)
        raise


def _refusal(exc: CrmError) -> str:
    """Why the hub gave no key, for the technician (the error's text is translated)."""
    if exc.status is None:
        return (
            f"the hub cannot be reached to get the storage key ({exc}); after a power cut "
            "the kiosk needs the hub once before it can open its members' data"
        )
    if exc.code == "device_revoked":
        return "the hub refused the storage key: this device was revoked there"
    if exc.code == "not_enrolled":
        return (
            "the kiosk is not enrolled at the hub: provision it first (with "
            "security.key_source 'auto'), then move its key with `kiosk key rotate --to hub`"
        )
    if exc.credentials:
        return f"the hub refused this device's credentials ({exc.code}): provision it again"
    if exc.status == 404:
        return "the CRM at crm.url keeps no storage keys (security.key_source 'hub' needs the hub)"
    return f"the hub gave no storage key ({exc.status} {exc.code}); try again later"


def stored_device_id(database: Path) -> str | None:
    """The device id the database keeps (`meta`, in clear), read only, or None."""
    if not database.exists():
        return None
    try:
        conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return str(row[0]) if row else None


def read_cache(path: Path) -> bytes | None:
    """The cached key, or None when there is none (or a damaged one, asked for again).

    One that others may read is refused: the key may have been copied.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DataKeyUnavailable(reason=f"the key cache {path} cannot be read ({exc})") from exc
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid():
        raise DataKeyUnavailable(
            reason=f"the cached storage key {path} belongs to another user: delete it; "
            "the kiosk asks the hub again"
        )
    if mode & 0o077:
        raise DataKeyUnavailable(
            reason=f"the cached storage key {path} can be read by others (mode {mode:o}): "
            "delete it; the kiosk asks the hub again"
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        return decode_secret(text)
    except ValueError:
        log.warning("the cached storage key is damaged; asking the hub again")
        return None


def write_cache(path: Path, key: bytes) -> None:
    """Cache the key (folder 0700, file 0600, written then renamed); a failure only warns.

    Without the cache the kiosk still serves now; its next start asks the hub again.
    """
    partial = path.with_name(path.name + ".new")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(base64.urlsafe_b64encode(key).decode())
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        log.warning("the storage key could not be cached (%s): the next start asks the hub", exc)
