"""The keyed digests of verification: a phone's, a code's, and the proof's signature.

Keyed with the hub's secret key (Django's SECRET_KEY, a file only the hub reads), each
with a purpose of its own: a 5-digit code or a phone number has so few values that an
unkeyed hash would be read back by trying them all; with the key, a copy of the database
alone gives neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

CODE_DIGITS = 5


def _mac(purpose: str, text: str) -> str:
    key = hashlib.sha256(f"loyalty-hub:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """A code of 5 random digits (secrets: the operating system's randomness)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def phone_digest(phone: str) -> str:
    """The phone's keyed digest: what the hub keeps of it with a code."""
    return _mac("phone", phone)


def code_hash(code: str) -> str:
    """A code's keyed, salted hash: `salt$digest`."""
    salt = secrets.token_hex(8)
    return f"{salt}${_mac('code', salt + code)}"


def code_matches(stored: str, typed: str) -> bool:
    """Whether `typed` is the code of `stored` (compared in constant time)."""
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(_mac("code", salt + typed), digest)


def proof_signature(claims: str) -> str:
    """The signature of a proof's claims (hub/verification/proofs.py)."""
    return _mac("proof", claims)


def signature_matches(claims: str, signature: str) -> bool:
    """Whether `signature` signs `claims` (compared in constant time)."""
    return hmac.compare_digest(proof_signature(claims), signature)
