"""Staff: who may do what, sign-in that names one person, lockouts, every attempt audited.

A PIN is checked only against the person who was picked (by name or staff card): two staff
with one PIN would otherwise be told apart by table order. Wrong PINs lock out that account
alone; unknown cards tapped at the sign-in lock out that reader.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, NoReturn

from kiosk.core.clock import from_iso, to_iso
from kiosk.core.pin import check_pin, hash_pin, is_trivial, needs_rehash
from kiosk.core.store import audit
from kiosk.core.store.db import write_transaction
from kiosk.errors import (
    DuplicatePin,
    InvalidPin,
    LockedOut,
    NotAllowed,
    StaffDisabled,
    UnknownStaff,
    WeakPin,
    WrongPin,
)
from kiosk.text.digits import to_ascii_digits

if TYPE_CHECKING:
    from kiosk.config import SecurityConfig

Role = Literal["cashier", "manager", "technician"]
ROLES: tuple[Role, ...] = ("cashier", "manager", "technician")

# Roles that are not staff: the shopper at the screen, the technician's shell, the machine.
_NON_STAFF = ("shopper", "cli", "system")

PERMISSIONS: dict[str, frozenset[str]] = {
    "enroll": frozenset({"shopper", "cashier", "manager", "technician", "cli", "system"}),
    "consent": frozenset({"shopper", "cashier", "manager", "technician", "cli", "system"}),
    "earn": frozenset({"cashier", "manager", "cli"}),
    "redeem": frozenset({"cashier", "manager", "cli"}),
    "void": frozenset({"cashier", "manager", "cli"}),
    "adjust": frozenset({"manager", "cli"}),
    # An approval is a person vouching: never the shell or the machine.
    "approve": frozenset({"manager"}),
    "cards": frozenset({"shopper", "cashier", "manager", "technician", "cli"}),
    "block_card": frozenset({"cashier", "manager", "technician", "cli"}),
    "erase": frozenset({"manager", "technician", "cli", "system"}),
    "import": frozenset({"technician", "cli"}),
    "staff": frozenset({"manager", "technician", "cli"}),
    "expire": frozenset({"system", "cli"}),
    "settings": frozenset({"technician", "manager", "cli"}),
    "diagnose": frozenset({"technician", "cli"}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in staff member, or the shopper / CLI / system."""

    actor_id: str
    role: str

    def require(self, action: str) -> None:
        """Raise NotAllowed unless this actor's role may do `action`."""
        if self.role not in PERMISSIONS[action]:
            raise NotAllowed(role=self.role, action=action.replace("_", " "))


SHOPPER = Actor("shopper", "shopper")
CLI = Actor("cli", "cli")
SYSTEM = Actor("system", "system")


@dataclass(frozen=True)
class StaffMember:
    """A staff account as listed (never with its PIN hash)."""

    staff_id: str
    name: str
    role: str
    created_at: str
    disabled: bool


# What a refused attempt is called in the audit log, by how it was made.
_REFUSED = {"pin": "wrong_pin", "card": "not_a_staff_card"}
# A staff member's name is sealed to their row (kiosk/core/store/vault.py).
STAFF_NAME = "unseal(name, 'staff:' || staff_id)"
# A PIN's scrypt hash is sealed too (m015): with the file alone a 4-digit PIN is found by
# trying all 10,000 against its hash; sealed, the data key (off the card) is needed first.
PIN_HASH = "unseal(pin_hash, 'pin:' || staff_id)"


def card_subject(reader: str) -> str:
    """The lockout subject of staff-card sign-in at one reader."""
    return f"card@{reader or 'kiosk'}"


class StaffAccounts:
    """The staff table as the CRM fills it: accounts written with no local actor or PIN."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def role_of(self, staff_id: str) -> str | None:
        """The account's role here, or None when there is no such account."""
        row = self.conn.execute("SELECT role FROM staff WHERE staff_id = ?", (staff_id,)).fetchone()
        return str(row[0]) if row else None

    def signed_at(self, staff_id: str) -> datetime | None:
        """When the owner signed the change last applied to this account (None: none held)."""
        row = self.conn.execute(
            "SELECT signed_at FROM staff WHERE staff_id = ?", (staff_id,)
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def hash_in_use(self, pin_hash: str, *, other_than: str) -> bool:
        """Whether another active account stores this very hash (a copied PIN hash)."""
        row = self.conn.execute(
            f"SELECT 1 FROM staff WHERE {PIN_HASH} = ? AND staff_id <> ? AND disabled_at IS NULL",
            (pin_hash, other_than),
        ).fetchone()
        return row is not None

    def put_pulled(
        self,
        staff_id: str,
        *,
        name: str,
        role: str,
        pin_hash: str,
        now: str,
        disabled: bool,
        signed_at: datetime | None = None,
    ) -> None:
        """Insert or update an account the CRM sent (inside the caller's transaction).

        A disabled account keeps the time it was first disabled; enabling clears it.
        `signed_at`: when the owner signed the change (kept to refuse an older one after it).
        """
        self.conn.execute(
            "INSERT INTO staff (staff_id, name, role, pin_hash, created_at, disabled_at, "
            "signed_at) "
            "VALUES (?1, seal(?2, 'staff:' || ?1), ?3, seal(?4, 'pin:' || ?1), ?5, ?6, ?7) "
            "ON CONFLICT(staff_id) DO UPDATE SET name = excluded.name, "
            "role = excluded.role, pin_hash = excluded.pin_hash, "
            "signed_at = excluded.signed_at, "
            "disabled_at = CASE WHEN excluded.disabled_at IS NULL THEN NULL "
            "ELSE COALESCE(staff.disabled_at, excluded.disabled_at) END",
            (
                staff_id,
                name,
                role,
                pin_hash,
                now,
                now if disabled else None,
                to_iso(signed_at) if signed_at is not None else None,
            ),
        )


class StaffStore:
    """Staff accounts and logins on one database."""

    def __init__(
        self, conn: sqlite3.Connection, security: SecurityConfig, clock: Callable[[], datetime]
    ) -> None:
        self.conn = conn
        self.security = security
        self.clock = clock

    def validate_pin(self, pin: str) -> None:
        """Raise InvalidPin unless the PIN is digits of an allowed length, WeakPin if trivial."""
        lo, hi = self.security.pin_min_length, self.security.pin_max_length
        if not re.fullmatch(r"[0-9]+", pin) or not lo <= len(pin) <= hi:
            raise InvalidPin(min_length=lo, max_length=hi)
        if is_trivial(pin):
            raise WeakPin()

    def check_new_pin(self, pin: str, *, other_than: str | None = None) -> str:
        """The PIN in ASCII digits when it may be set: valid, not trivial, and no other
        active account's (InvalidPin, WeakPin, DuplicatePin otherwise)."""
        pin = to_ascii_digits(pin)
        self.validate_pin(pin)
        # Salted hashes cannot be compared: each other account's is checked with this PIN.
        rows = self.conn.execute(
            f"SELECT staff_id, {PIN_HASH} AS pin_hash FROM staff WHERE disabled_at IS NULL"
        ).fetchall()
        if any(r["staff_id"] != other_than and check_pin(pin, r["pin_hash"]) for r in rows):
            raise DuplicatePin()
        return pin

    def _new_hash(self, pin: str, *, other_than: str | None) -> str:
        return hash_pin(
            self.check_new_pin(pin, other_than=other_than), n=self.security.pin_scrypt_n
        )

    def add(self, *, name: str, role: str, pin: str, actor: Actor) -> StaffMember:
        """Create a staff account; the PIN is stored only as a slow salted hash."""
        actor.require("staff")
        if role not in ROLES:
            raise NotAllowed(role=role, action="be a staff role (cashier, manager, technician)")
        pin_hash = self._new_hash(pin, other_than=None)
        staff_id = f"s-{secrets.token_hex(3)}"
        now = to_iso(self.clock())
        with write_transaction(self.conn):
            self.conn.execute(
                "INSERT INTO staff (staff_id, name, role, pin_hash, created_at) "
                "VALUES (?1, seal(?2, 'staff:' || ?1), ?3, seal(?4, 'pin:' || ?1), ?5)",
                (staff_id, name, role, pin_hash, now),
            )
            audit.record(
                self.conn,
                at=now,
                actor=actor.actor_id,
                action="staff.add",
                target=staff_id,
                details={"role": role},
            )
        return StaffMember(staff_id, name, role, now, False)

    def set_pin(self, staff_id: str, pin: str, *, actor: Actor) -> None:
        """Give an account a new PIN (the same rules as a new account's); its lockout ends."""
        actor.require("staff")
        if self.name_of(staff_id) is None:
            raise UnknownStaff(staff=staff_id)
        pin_hash = self._new_hash(pin, other_than=staff_id)
        now = to_iso(self.clock())
        with write_transaction(self.conn):
            self.conn.execute(
                "UPDATE staff SET pin_hash = seal(?1, 'pin:' || ?2) WHERE staff_id = ?2",
                (pin_hash, staff_id),
            )
            self.conn.execute("DELETE FROM pin_guard WHERE subject = ?", (staff_id,))
            audit.record(
                self.conn, at=now, actor=actor.actor_id, action="staff.set_pin", target=staff_id
            )

    def name_of(self, staff_id: str) -> str | None:
        """The account's name, or None when there is no such account."""
        row = self.conn.execute(
            f"SELECT {STAFF_NAME} FROM staff WHERE staff_id = ?", (staff_id,)
        ).fetchone()
        return str(row[0]) if row else None

    def list(self) -> list[StaffMember]:
        """Every staff account, oldest first."""
        rows = self.conn.execute(
            f"SELECT staff_id, {STAFF_NAME}, role, created_at, disabled_at FROM staff "
            "ORDER BY created_at"
        ).fetchall()
        return [StaffMember(r[0], r[1], r[2], r[3], r[4] is not None) for r in rows]

    def disable(self, staff_id: str, *, actor: Actor) -> None:
        """Disable an account: its PIN and cards stop working; its history stays."""
        actor.require("staff")
        now = to_iso(self.clock())
        with write_transaction(self.conn):
            changed = self.conn.execute(
                "UPDATE staff SET disabled_at = COALESCE(disabled_at, ?) WHERE staff_id = ?",
                (now, staff_id),
            ).rowcount
            if not changed:
                raise UnknownStaff(staff=staff_id)
            audit.record(
                self.conn, at=now, actor=actor.actor_id, action="staff.disable", target=staff_id
            )

    def active(self) -> tuple[StaffMember, ...]:
        """The accounts that may sign in here, by name (the sign-in screen's list)."""
        return tuple(sorted((s for s in self.list() if not s.disabled), key=lambda s: s.name))

    def login_with_pin(self, pin: str, staff_id: str) -> Actor:
        """The staff member `staff_id` (picked by name or card) when `pin` is theirs.

        Wrong PINs are counted for that account alone; after `pin_max_attempts` in a row it
        is locked out for a delay that doubles with each lockout, and only its owner's right
        PIN (after the delay) clears the count. A hash cheaper than `security.pin_scrypt_n`
        is replaced at this sign-in. Every attempt is audited.
        """
        pin = to_ascii_digits(pin)
        now = self.clock()
        self._raise_if_locked(staff_id, now, "pin")
        row = self.conn.execute(
            f"SELECT staff_id, role, {PIN_HASH} AS pin_hash, disabled_at FROM staff "
            "WHERE staff_id = ?",
            (staff_id,),
        ).fetchone()
        if row is None:
            self._audit_login(now, "unknown", "pin", "unknown_staff")
            raise UnknownStaff(staff=staff_id)
        if not check_pin(pin, row["pin_hash"]):
            self._record_failure(staff_id, now, "pin")
        if row["disabled_at"] is not None:
            self._audit_login(now, staff_id, "pin", "disabled")
            raise StaffDisabled()
        rehash = needs_rehash(row["pin_hash"], n=self.security.pin_scrypt_n)
        with write_transaction(self.conn):
            self.conn.execute("DELETE FROM pin_guard WHERE subject = ?", (staff_id,))
            if rehash:
                self.conn.execute(
                    "UPDATE staff SET pin_hash = seal(?1, 'pin:' || ?2) WHERE staff_id = ?2",
                    (hash_pin(pin, n=self.security.pin_scrypt_n), staff_id),
                )
            details: dict[str, object] = {"with": "pin"}
            if rehash:
                details["rehashed"] = True
            audit.record(
                self.conn,
                at=to_iso(now),
                actor=staff_id,
                action="login",
                target=staff_id,
                details=details,
            )
        return Actor(staff_id, row["role"])

    def login_with_card(self, uid: str, reader: str = "") -> Actor:
        """The staff member whose card this is; a member's or unknown card is refused.

        Refused cards are counted per reader (`card_subject`) and lock that reader's staff
        sign-in out like wrong PINs; a staff card's success does not clear the count, so
        cards tried between a real one's taps still run into the back-off.
        """
        now = self.clock()
        subject = card_subject(reader)
        self._raise_if_locked(subject, now, "card")
        row = self.conn.execute(
            "SELECT s.staff_id, s.role, s.disabled_at, c.status FROM cards c "
            "JOIN staff s ON s.staff_id = c.staff_id WHERE c.uid_index = blind('card', ?)",
            (uid,),
        ).fetchone()
        if row is None:
            try:
                self._record_failure(subject, now, "card")
            except WrongPin as error:
                raise UnknownStaff(staff="with this card") from error
        if row["disabled_at"] is not None or row["status"] != "active":
            self._audit_login(now, row["staff_id"], "card", "disabled")
            raise StaffDisabled()
        self._audit_login(now, row["staff_id"], "card", "ok")
        return Actor(row["staff_id"], row["role"])

    def _raise_if_locked(self, subject: str, now: datetime, how: str) -> None:
        row = self.conn.execute(
            "SELECT locked_until FROM pin_guard WHERE subject = ?", (subject,)
        ).fetchone()
        if row and row[0] and from_iso(row[0]) > now:
            seconds = int((from_iso(row[0]) - now).total_seconds()) + 1
            self._audit_login(now, subject, how, "locked_out")
            raise LockedOut(seconds=seconds, until=row[0])

    def _record_failure(self, subject: str, now: datetime, how: str) -> NoReturn:
        sec = self.security
        with write_transaction(self.conn):
            self.conn.execute(
                "INSERT INTO pin_guard (subject, failed) VALUES (?, 1) "
                "ON CONFLICT(subject) DO UPDATE SET failed = failed + 1",
                (subject,),
            )
            failed, lockouts = self.conn.execute(
                "SELECT failed, lockouts FROM pin_guard WHERE subject = ?", (subject,)
            ).fetchone()
            locked_for = 0
            if failed >= sec.pin_max_attempts:
                locked_for = min(sec.pin_lockout_seconds * 2**lockouts, sec.pin_lockout_max_seconds)
                until = to_iso(now + timedelta(seconds=locked_for))
                self.conn.execute(
                    "UPDATE pin_guard SET failed = 0, lockouts = lockouts + 1, locked_until = ? "
                    "WHERE subject = ?",
                    (until, subject),
                )
            audit.record(
                self.conn,
                at=to_iso(now),
                actor=subject,
                action="login",
                target=subject,
                outcome="locked_out" if locked_for else _REFUSED[how],
                details={"with": how, "failed": failed},
            )
        if locked_for:
            raise LockedOut(seconds=locked_for, until=to_iso(now + timedelta(seconds=locked_for)))
        raise WrongPin(attempts_left=sec.pin_max_attempts - failed)

    def _audit_login(self, now: datetime, subject: str, how: str, outcome: str) -> None:
        with write_transaction(self.conn):
            audit.record(
                self.conn,
                at=to_iso(now),
                actor=subject,
                action="login",
                target=subject,
                outcome=outcome,
                details={"with": how},
            )
