"""Client transaction ids: what each retried or double-tapped request was first answered.

A request is remembered by a fingerprint, to tell a retry from a different request that
reuses the id. The fingerprint is an HMAC-SHA256, keyed with a random key of this
database (`meta.txn_key`, made by migration m008), of the SHA-256 of the request: an
enrollment's request holds the phone number and name, and an unkeyed hash of it could be
brute-forced back to the phone at tens of thousands of guesses a second by anyone with a
copy of the file, or matched between kiosks. The key is kept in the same file sealed with
the data key (m011, kiosk/core/store/vault.py), so a thief with the file alone cannot test
guesses; erasure also replaces the fingerprints of the erased person's requests
(`forget_member`), so the living key opens nothing of them (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from dataclasses import dataclass

# The fingerprint of a request whose person was erased: it matches no request again.
ERASED = "erased"
KEY_NAME = "txn_key"
# Sealed with the data key since m011 (kiosk/core/store/vault.py): hex text once opened.
SEALED_KEY = "unseal(value, 'meta:txn_key')"


def keyed(key: bytes, digest: str) -> str:
    """The stored fingerprint of a request whose SHA-256 (hex) is `digest`."""
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Answered:
    """A request seen before: its fingerprint and the JSON answer it was given."""

    fingerprint: str
    result: str


class ClientTxns:
    """The client_txns table (written inside the operation's own transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._key: bytes | None = None

    def fingerprint(self, digest: str) -> str:
        """The keyed fingerprint of a request whose SHA-256 (hex) is `digest`."""
        if self._key is None:
            row = self.conn.execute(
                f"SELECT {SEALED_KEY} FROM meta WHERE key = ?", (KEY_NAME,)
            ).fetchone()
            if row is None:  # a database opened without migrating: it takes no writes anyway
                raise sqlite3.OperationalError("the database has no fingerprint key (migrate it)")
            self._key = bytes.fromhex(str(row[0]))
        return keyed(self._key, digest)

    def find(self, txn_id: str) -> Answered | None:
        """The first answer to `txn_id`, or None when it is new."""
        row = self.conn.execute(
            "SELECT fingerprint, result FROM client_txns WHERE txn_id = ?", (txn_id,)
        ).fetchone()
        return Answered(str(row[0]), str(row[1])) if row is not None else None

    def record(
        self,
        txn_id: str,
        operation: str,
        fingerprint: str,
        result: str,
        at: str,
        *,
        enrolled: str | None = None,
    ) -> None:
        """Remember the answer to `txn_id` (`enrolled`: the member an enrollment made)."""
        self.conn.execute(
            "INSERT INTO client_txns (txn_id, operation, fingerprint, result, created_at, "
            "enrolled) VALUES (?, ?, ?, ?, ?, ?)",
            (txn_id, operation, fingerprint, result, at, enrolled),
        )

    def forget_member(self, member_id: str) -> int:
        """Replace the fingerprints of the member's enrollments (their phone, name, card and
        birthday went into them) with ERASED; how many. In the erasure's transaction.

        Only an enrollment's request holds personal data; `enrolled` names its member
        (an index of enrollments only: a purchase adds nothing to it).
        """
        return self.conn.execute(
            "UPDATE client_txns SET fingerprint = ? WHERE enrolled = ? AND fingerprint <> ?",
            (ERASED, member_id, ERASED),
        ).rowcount
