"""The chain owner's Ed25519 key: the bytes a staff or program change is signed over.

docs/sync-protocol.md, "Changes signed by the chain's owner": the hub (or the simulated
CRM) signs every `staff` and `program` change with the owner's private key; a kiosk holds
the public half (given at enrollment) and verifies. The signed bytes bind the change's
data to its type and to the chain, so a signature cannot be moved to another change, to
another kind of change, or to another chain's kiosks. Pure code with no kiosk state: the
hub may import it as it imports `sync.signing`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIGNED_KINDS = frozenset({"staff", "program"})
# Put before the JSON: these bytes are never anything else the owner key might sign.
DOMAIN = b"loyalty-kiosk signed change v1\n"
KEY_BYTES = 32
SIGNATURE_BYTES = 64
# A chain id goes into the signed bytes and into provisioned.toml: plain ASCII, short.
CHAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]{43}=?")
_SIGNATURE_TEXT = re.compile(r"[A-Za-z0-9_-]{86}(==)?")
# JSON integers that every JSON reader takes exactly (JavaScript's safe integers).
_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """`value` as canonical JSON: sorted keys, no spaces, UTF-8, integers and no floats.

    For the JSON this protocol signs (ASCII keys, no floats) this is RFC 8785 (JCS).
    ValueError for what has no canonical form here: a float, a non-string key, an
    integer beyond 2**53 - 1, a string that is not Unicode text (a lone surrogate).
    """
    _check_canonical(value)
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("a string is not Unicode text") from exc


def _check_canonical(value: Any, depth: int = 0) -> None:
    if depth > 32:
        raise ValueError("nested too deeply")
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > _SAFE_INTEGER:
            raise ValueError("an integer beyond 2**53 - 1")
        return
    if isinstance(value, list):
        for item in value:
            _check_canonical(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ValueError("an object key that is not an ASCII string")
            _check_canonical(item, depth + 1)
        return
    raise ValueError(f"a {type(value).__name__} has no canonical form here")


def signed_bytes(kind: str, chain_id: str, data: Mapping[str, Any]) -> bytes:
    """What the owner signs for one change: DOMAIN, then canonical JSON of the triple."""
    if kind not in SIGNED_KINDS:
        raise ValueError(f"{kind!r} changes are not signed")
    if not CHAIN_ID.fullmatch(chain_id):
        raise ValueError("not a chain id")
    return DOMAIN + canonical_json({"chain_id": chain_id, "data": dict(data), "type": kind})


def decode_key(text: str) -> Ed25519PublicKey:
    """The public key from its text: 32 bytes in base64url, with or without its `=`."""
    if not isinstance(text, str) or not _KEY_TEXT.fullmatch(text):
        raise ValueError(f"not {KEY_BYTES} bytes in base64url")
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(text[:43] + "="))


def encode_key(key: Ed25519PublicKey) -> str:
    """The public key's text: its 32 raw bytes in base64url, with the `=`."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_signature(text: object) -> bytes | None:
    if not isinstance(text, str) or not _SIGNATURE_TEXT.fullmatch(text):
        return None
    try:
        return base64.urlsafe_b64decode(text[:86] + "==")
    except binascii.Error:  # not expected after the pattern
        return None


class OwnerKey:
    """The public half of a chain's owner key, as a kiosk holds it: verifies changes."""

    def __init__(self, key: Ed25519PublicKey, chain_id: str) -> None:
        if not CHAIN_ID.fullmatch(chain_id):
            raise ValueError("not a chain id")
        self.key = key
        self.chain_id = chain_id

    @classmethod
    def parse(cls, key_text: str, chain_id: str) -> OwnerKey:
        """From `crm.owner_key` and `crm.chain_id`; ValueError when either is not valid."""
        return cls(decode_key(key_text), chain_id)

    @property
    def text(self) -> str:
        """The public key as `crm.owner_key` holds it."""
        return encode_key(self.key)

    def verify(self, kind: str, data: Mapping[str, Any], signature: object) -> bool:
        """Whether `signature` is the owner's over this change of this chain."""
        raw = _decode_signature(signature)
        if raw is None:
            return False
        try:
            self.key.verify(raw, signed_bytes(kind, self.chain_id, data))
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


class OwnerSigner:
    """The private half, as the hub (or the simulated CRM) holds it: signs changes."""

    def __init__(self, private: Ed25519PrivateKey, chain_id: str) -> None:
        if not CHAIN_ID.fullmatch(chain_id):
            raise ValueError("not a chain id")
        self.private = private
        self.chain_id = chain_id

    @classmethod
    def generate(cls, chain_id: str) -> OwnerSigner:
        """A new key pair for a chain."""
        return cls(Ed25519PrivateKey.generate(), chain_id)

    @classmethod
    def from_seed(cls, seed: bytes, chain_id: str) -> OwnerSigner:
        """The key pair from its 32-byte private seed (as stored)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed), chain_id)

    @property
    def seed(self) -> bytes:
        """The 32-byte private seed, to store (never to send)."""
        return self.private.private_bytes_raw()

    @property
    def public(self) -> OwnerKey:
        """The public half, for the kiosks."""
        return OwnerKey(self.private.public_key(), self.chain_id)

    def sign(self, kind: str, data: Mapping[str, Any]) -> str:
        """The `signature` of a change: base64url of 64 bytes, without padding."""
        raw = self.private.sign(signed_bytes(kind, self.chain_id, data))
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
