"""Personal data sealed at rest: field encryption with a keyed blind index for look-ups.

Why fields and not the whole file (SQLCipher): `sqlcipher3-binary` has no aarch64 wheel,
Debian bookworm's libsqlcipher is 3.4 (years behind the SQLite the ledger is tested on),
and building it on every install is a toolchain on the counter. What a stolen SD card
must not reveal is a short list (phone, name, birthday, card ids, staff names, the
device secret); the ledger itself is anonymous (member ids, points, amounts).

- **Sealed**: each such value is AES-256-GCM encrypted (`cryptography`), with a random
  96-bit nonce and its row as associated data (`person:<member id>`, `card:<index>`,
  `staff:<id>`), so a sealed value moved to another row does not open.
- **Blind index**: a phone or card id is found by an HMAC-SHA256 of it (kind-separated,
  truncated to 128 bits) under a key derived from the data key: equality look-ups stay
  one indexed query, and the file alone gives no way to test a guess.
- **Keys**: one random data key per database, kept in `meta` only *wrapped* (AES-GCM) by
  a key-encryption key from a `KeySource`: the board's OTP key on a Raspberry Pi 4/5,
  the club server (hub) for other boards, or a local key file (development, and a
  standalone kiosk without OTP: the doctor says it protects nothing against a thief).
  The data key never touches the disk in clear.

The SQL functions `seal(text, aad)`, `unseal(blob, aad)`, `blind(kind, value)` and
`chain_mac(chain, at, hash)` (the seal of a hash chain's head, kiosk/core/store/chain.py) are
installed on each connection (`install`), so stores, triggers and migrations use them in
plain SQL; the vault is unlocked on first use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import stat
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.errors import DataKeyUnavailable, SecretExposed

DATA_KEY = "data_key"  # meta: {"source": ..., "wrapped": base64(nonce + ciphertext)}
KEY_FILENAME = "data-key"  # the local key file's name (kiosk/appliance/keys.py)
_VERSION = 1
_NONCE = 12
_WRAP_AAD = b"loyalty-kiosk data key v1"


class KeySource(Protocol):
    """Where the key that wraps the data key comes from (32 bytes, never stored with it)."""

    @property
    def name(self) -> str:
        """Recorded with the wrapped key: `otp`, `hub` or `file`."""

    def key(self) -> bytes:
        """The key-encryption key; DataKeyUnavailable when it cannot be had now."""


class LocalKeyFile:
    """A key-encryption key in a file of the data directory's parent folder, made on first use.

    Protects against nothing when the file is on the same card as the data (the doctor
    says so); it is what development, the tests and a standalone board without OTP use.
    """

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def key(self) -> bytes:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return self._create()
        if stat.S_IMODE(mode) & 0o077:
            raise SecretExposed(path=str(self.path), mode=f"{stat.S_IMODE(mode):o}")
        raw = self.path.read_text(encoding="ascii").strip()
        try:
            key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError as exc:
            raise DataKeyUnavailable(reason=f"{self.path} is not a key") from exc
        if len(key) != 32:
            raise DataKeyUnavailable(reason=f"{self.path} is not a 32-byte key")
        return key

    def _create(self) -> bytes:
        key = secrets.token_bytes(32)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.path.with_name(self.path.name + ".new")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(base64.urlsafe_b64encode(key).decode())
            handle.flush()
            os.fsync(handle.fileno())
        try:  # two processes starting at once: the first key written is the key
            os.link(partial, self.path)
        except FileExistsError:
            return self.key()
        finally:
            partial.unlink(missing_ok=True)
        return key


def default_key_source(data_dir: Path) -> KeySource:
    """The local key file, when the composition root names no other source."""
    return LocalKeyFile(data_dir / KEY_FILENAME)


def _derive(data_key: bytes, label: bytes) -> bytes:
    return hmac.new(data_key, b"loyalty-kiosk " + label, hashlib.sha256).digest()


class Vault:
    """Seals and opens values, and makes blind-index keys, with one data key."""

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(_derive(data_key, b"seal v1"))
        # Keyed once and copied for each index: the key's hashing is not redone per lookup.
        self._index = hmac.new(_derive(data_key, b"blind index v1"), digestmod=hashlib.sha256)
        self._seal_key = _derive(data_key, b"chain seal v1")
        self._macs: dict[str, tuple[int, str, str]] = {}  # chain -> the last seal made

    def seal(self, value: str | bytes, aad: str) -> bytes:
        """The value encrypted, bound to `aad` (its row)."""
        data = value.encode() if isinstance(value, str) else value
        nonce = secrets.token_bytes(_NONCE)
        return bytes([_VERSION]) + nonce + self._aead.encrypt(nonce, data, aad.encode())

    def open_bytes(self, blob: bytes, aad: str) -> bytes:
        """The sealed value; DataKeyUnavailable when it was sealed with another key or row."""
        if len(blob) < 1 + _NONCE + 16 or blob[0] != _VERSION:
            raise DataKeyUnavailable(reason="a sealed value is damaged")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad.encode())
        except InvalidTag as exc:
            raise DataKeyUnavailable(reason="a sealed value does not open with this key") from exc

    def open(self, blob: bytes, aad: str) -> str:
        """The sealed text."""
        return self.open_bytes(blob, aad).decode()

    def chain_mac(self, chain: str, at: int, link: str) -> str:
        """The seal of a chain's head: only the data key makes it (kiosk/core/store/chain.py)."""
        made = self._macs.get(chain)
        if made is not None and made[0] == at and made[1] == link:
            return made[2]  # the head sealed last is checked by the next write: made once
        message = f"{chain}\0{int(at)}\0{link}".encode()
        mac = hmac.new(self._seal_key, message, hashlib.sha256).hexdigest()
        self._macs[chain] = (at, link, mac)
        return mac

    def blind(self, kind: str, value: str) -> str:
        """The blind index of a phone or card id: equal values, equal indexes; nothing else."""
        digest = self._index.copy()
        digest.update(f"{kind}\0{value}".encode())
        return digest.hexdigest()[:32]


def wrap(kek: bytes, data_key: bytes) -> str:
    """The data key encrypted with the key-encryption key (base64)."""
    nonce = secrets.token_bytes(_NONCE)
    return base64.b64encode(nonce + AESGCM(kek).encrypt(nonce, data_key, _WRAP_AAD)).decode()


def unwrap(kek: bytes, wrapped: str, source: str) -> bytes:
    """The data key; DataKeyUnavailable when `kek` is not the key that wrapped it."""
    raw = base64.b64decode(wrapped)
    try:
        return AESGCM(kek).decrypt(raw[:_NONCE], raw[_NONCE:], _WRAP_AAD)
    except InvalidTag as exc:
        raise DataKeyUnavailable(
            reason=f"the data key does not open with the key from '{source}' "
            "(another board, or the key source changed: see docs/security.md)"
        ) from exc


def seal_with(kek: bytes, data: bytes, label: str) -> bytes:
    """`data` sealed directly with a key-encryption key (the device secret's file)."""
    return Vault(_derive(kek, label.encode())).seal(data, label)


def open_with(kek: bytes, blob: bytes, label: str) -> bytes:
    """What `seal_with` sealed; DataKeyUnavailable with another key."""
    return Vault(_derive(kek, label.encode())).open_bytes(blob, label)


def stored_key(conn: sqlite3.Connection) -> dict[str, str] | None:
    """The wrapped data key and the name of its source, or None before the first."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (DATA_KEY,)).fetchone()
    return dict(json.loads(row[0])) if row else None


def store_key(conn: sqlite3.Connection, source: KeySource, data_key: bytes) -> None:
    """Write the data key wrapped by `source` (inside the caller's transaction)."""
    value = json.dumps({"source": source.name, "wrapped": wrap(source.key(), data_key)})
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (DATA_KEY, value),
    )


def unlock(conn: sqlite3.Connection, source: KeySource) -> Vault:
    """The database's vault, its data key made and stored on first use.

    Made only inside a write transaction that will commit (a migration, or `connect`'s
    own): a key used for sealing and then rolled back would leave values nothing opens.
    """
    found = stored_key(conn)
    if found is None:
        data_key = secrets.token_bytes(32)
        store_key(conn, source, data_key)
        return Vault(data_key)
    if found["source"] != source.name:
        raise DataKeyUnavailable(
            reason=f"the data key is sealed by '{found['source']}', the kiosk is set to "
            f"'{source.name}' (security.key_source; `kiosk key rotate` moves it)"
        )
    kek = source.key()  # its own refusals (an exposed cache, no hub) stand as they are
    try:
        return Vault(unwrap(kek, found["wrapped"], source.name))
    except DataKeyUnavailable:
        forget = getattr(source, "forget", None)
        if forget is None:
            raise
        forget()  # a cached key that does not open it (the hub's, stale): ask once more
        return Vault(unwrap(source.key(), found["wrapped"], source.name))


class VaultHolder:
    """The vault of one connection, unlocked on first use; the error kept if it could not be."""

    def __init__(self, conn: sqlite3.Connection, source: KeySource) -> None:
        self.conn = conn
        self.source = source
        self._vault: Vault | None = None
        self.error: BaseException | None = None

    def __call__(self) -> Vault:
        if self._vault is None:
            try:
                self._vault = unlock(self.conn, self.source)
            except BaseException as exc:
                self.error = exc
                raise
        return self._vault

    def replace(self, vault: Vault) -> None:
        """Use this vault from now on (after `kiosk key rotate` committed a new data key)."""
        self._vault = vault


def install(conn: sqlite3.Connection, source: KeySource) -> VaultHolder:
    """Install `seal`, `unseal` and `blind` on the connection; the holder of its vault."""
    holder = VaultHolder(conn, source)

    # One Python call each, no wrapper layers: a lookup calls them for every row it reads,
    # and the layers cost as much as the cipher (bench ledger, encryption_lookup_*).
    def seal(value: Any, aad: Any) -> bytes | None:
        return None if value is None else holder().seal(value, aad)

    def unseal(blob: Any, aad: Any) -> str | None:
        return None if blob is None else holder().open(blob, aad)

    def blind(kind: Any, value: Any) -> str | None:
        return None if value is None else holder().blind(kind, str(value))

    conn.create_function("seal", 2, seal)
    conn.create_function("unseal", 2, unseal, deterministic=True)
    conn.create_function("blind", 2, blind, deterministic=True)
    conn.create_function(
        "chain_mac",
        3,
        lambda chain, at, link: holder().chain_mac(str(chain), int(at), str(link)),
        deterministic=True,
    )
    if isinstance(conn, VaultConnection):
        conn.vault_holder = holder
    return holder


class VaultConnection(sqlite3.Connection):
    """A connection that knows its vault (`connect` makes these)."""

    vault_holder: VaultHolder | None = None


def holder_of(conn: sqlite3.Connection) -> VaultHolder | None:
    """The vault holder installed on this connection (None when none was)."""
    return getattr(conn, "vault_holder", None)


def source_of(conn: sqlite3.Connection) -> KeySource | None:
    """The key source this connection's database is opened with (None when unknown)."""
    holder = holder_of(conn)
    return holder.source if holder is not None else None
