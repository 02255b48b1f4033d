"""What a pulled staff or program change must be before this kiosk applies it.

docs/sync-protocol.md, "Changes signed by the chain's owner": every `staff` and `program`
change carries the owner's Ed25519 signature. The signature is checked by a verifier
given from outside (the sync layer holds the key and the cryptography); here are the
kiosk's own rules on top of it: which roles a pulled change may give, the least scrypt
cost of a pulled PIN hash, and that program versions only go forward. Each check raises
`Refused` with a short reason code, which goes to the log and the audit record (never
the change's personal data).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

SIGNED_KINDS = frozenset({"staff", "program"})
# A pulled change may make cashiers and managers. A technician is made at the kiosk (at
# provisioning, by someone at the device): the role can import members, erase, diagnose
# and re-provision, which no change sent to every branch at once should hand out.
PULLED_ROLES = frozenset({"cashier", "manager"})
LOCAL_ONLY_ROLES = frozenset({"technician"})
# scrypt as kiosk/core/pin.py writes it: `scrypt$N$r$p$salt$digest`, base64 with padding.
DIGEST_BYTES = 64  # hashlib.scrypt's default dklen: what check_pin compares with
MIN_SALT_BYTES = 16
MIN_R = 8
MAX_P = 16
# 128 * N * r bytes are needed to check a PIN: a hash needing more would stop every login
# on a Raspberry Pi with 1 GB, so it is refused like a weak one.
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024
_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
# A staff change's `signed_at`: UTC with microseconds, one way of writing it only.
_SIGNED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


class ChangeVerifier(Protocol):
    """Checks the owner's signature over one change (sync/owner_key.py's OwnerKey)."""

    def verify(self, kind: str, data: Mapping[str, Any], signature: object) -> bool:
        """Whether `signature` is the owner's over `data` as a change of type `kind`."""


class Refused(Exception):
    """A pulled change this kiosk does not apply; `reason` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ScryptCost:
    """The parameters of a PIN hash."""

    n: int
    r: int
    p: int
    salt_bytes: int
    digest_bytes: int


def check_signature(
    verifier: ChangeVerifier | None, kind: str, data: Mapping[str, Any], signature: object
) -> None:
    """Refused unless the owner signed this change (no owner key: nothing is signed)."""
    if verifier is None:
        raise Refused("no_owner_key")
    if signature is None:
        raise Refused("unsigned")
    if not verifier.verify(kind, data, signature):
        raise Refused("bad_signature")


def check_staff(data: Mapping[str, Any], role_here: str | None, min_scrypt_n: int) -> None:
    """Refused when the change gives a role it may not, touches a technician, or the PIN
    hash is weaker than the floor."""
    if role_here in LOCAL_ONLY_ROLES:
        raise Refused("technician_here")
    if data.get("role") not in PULLED_ROLES:
        raise Refused("role_not_allowed")
    pin_hash = data.get("pin_hash")
    try:
        cost = scrypt_cost(pin_hash if isinstance(pin_hash, str) else "")
    except ValueError as exc:
        raise Refused("pin_hash_not_scrypt") from exc
    if cost.n < min_scrypt_n or cost.r < MIN_R:
        raise Refused("pin_hash_too_weak")
    if cost.p > MAX_P or 128 * cost.n * cost.r > MAX_SCRYPT_MEMORY:
        raise Refused("pin_hash_too_costly")
    if cost.salt_bytes < MIN_SALT_BYTES or cost.digest_bytes != DIGEST_BYTES:
        raise Refused("pin_hash_not_scrypt")


def scrypt_cost(text: str) -> ScryptCost:
    """The parameters of `scrypt$N$r$p$salt$digest`; ValueError when it is not one."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("not scrypt$N$r$p$salt$digest")
    numbers = parts[1:4]
    if not all(_NUMBER.fullmatch(part) for part in numbers):
        raise ValueError("N, r and p are whole numbers")
    n, r, p = (int(part) for part in numbers)
    if n < 2 or n & (n - 1):
        raise ValueError("N is a power of two")
    salt, digest = (_base64(part) for part in parts[4:])
    return ScryptCost(n, r, p, len(salt), len(digest))


def _base64(text: str) -> bytes:
    if not _BASE64.fullmatch(text):
        raise ValueError("not base64")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def program_version(data: Mapping[str, Any]) -> int:
    """A program change's version: a whole number of 1 or more, else Refused."""
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise Refused("no_version")
    return version


def applied_version(stored: object) -> int:
    """The version of the program in force (0 for none, or one from before versions)."""
    version = stored.get("version") if isinstance(stored, dict) else None
    return version if type(version) is int else 0


def staff_signed_at(data: Mapping[str, Any], held: datetime | None) -> datetime | None:
    """When the owner signed this staff change (None: a hub from before `signed_at`).

    Staff changes only go forward, as program versions do: a change not signed later than
    the one applied here for that person is refused `not_newer` (an old "active, PIN H"
    replayed after a disable or a new PIN). One without `signed_at` is refused
    `no_signed_at` once this kiosk holds a signed time for the person (`held`); for a
    person it holds none for (new here, or last changed by a hub not upgraded yet) it is
    taken, as before. A `signed_at` not in the protocol's form is refused `no_signed_at`.
    """
    given = data.get("signed_at")
    if given is None:
        if held is not None:
            raise Refused("no_signed_at")
        return None
    if not (isinstance(given, str) and _SIGNED_AT.fullmatch(given)):
        raise Refused("no_signed_at")
    try:
        moment = datetime.fromisoformat(given[:-1]).replace(tzinfo=UTC)
    except ValueError as exc:  # a 13th month, a 30th of February
        raise Refused("no_signed_at") from exc
    if held is not None and moment <= held:
        raise Refused("not_newer")
    return moment
