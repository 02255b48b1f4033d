"""The foundation of the service: one database, one config, one clock, and the write discipline.

Each write runs in one SQLite transaction (entry, balance, lots, outbox, audit and the
client transaction record together) and carries a client transaction id: repeating it
returns the first answer instead of writing again.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar
from zoneinfo import ZoneInfo

from kiosk.core.clock import Clock, system_clock, to_iso
from kiosk.core.program import (
    lot_expiry,
)
from kiosk.core.pulled import max_amount_override, program_override
from kiosk.core.results import (
    Bonus,
    EarnResult,
)
from kiosk.core.store import audit
from kiosk.core.store.db import connect, database_path, write_transaction
from kiosk.core.store.erasure import ErasureJournal
from kiosk.core.store.ledger import Entry, Ledger, LedgerHistory
from kiosk.core.store.members import Member, MemberStore
from kiosk.core.store.merged import MergedMembers
from kiosk.core.store.outbox import RemoteBalances, SyncState
from kiosk.core.store.settings import DeviceIdentity, SettingsStore
from kiosk.core.store.staff import Actor, StaffStore
from kiosk.core.store.txns import ERASED, ClientTxns
from kiosk.core.store.vault import KeySource
from kiosk.errors import (
    IdempotencyConflict,
    InvalidInput,
    MemberErased,
    SelfApproval,
    UnknownMember,
)

if TYPE_CHECKING:
    from kiosk.config import KioskConfig


_T = TypeVar("_T")
_MAX_NAME = 80


class ServiceBase:
    """The shared state and the transaction discipline of every service operation."""

    def __init__(
        self, conn: sqlite3.Connection, config: KioskConfig, *, clock: Clock = system_clock
    ) -> None:
        self.conn = conn
        self.config = config
        # The CRM may have sent its own tiers and rewards (kiosk/core/pulled.py).
        self.program = program_override(conn, config.program)
        self.max_amount = max_amount_override(conn, config.money.max_amount)
        self.clock = clock
        self.tz = ZoneInfo(config.shop.timezone)
        self.device_id = DeviceIdentity(conn).device_id(config.device.id)
        self.ledger = Ledger(conn, self.device_id)
        self.history = LedgerHistory(conn)
        self.members = MemberStore(conn)
        self.staff = StaffStore(conn, config.security, clock)
        self.settings = SettingsStore(conn, clock)
        self.txns = ClientTxns(conn)
        self.sync_state = SyncState(conn)
        self.remote_balances = RemoteBalances(conn)
        # Every erasure is also journaled outside the database (the composition root sets it).
        self.erasure_journal: ErasureJournal | None = None

    @classmethod
    def open(
        cls,
        data_dir: Path,
        config: KioskConfig,
        *,
        clock: Clock = system_clock,
        keys: KeySource | None = None,
    ) -> Self:
        """Open (creating and migrating if needed) the database in `data_dir`, its personal
        data sealed with a data key wrapped by `keys` (default: the local key file)."""
        return cls(connect(database_path(data_dir), keys=keys), config, clock=clock)

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    def reload_program(self) -> None:
        """Take up a program update the sync worker stored."""
        self.program = program_override(self.conn, self.config.program)
        self.max_amount = max_amount_override(self.conn, self.config.money.max_amount)

    def effective_balance(self, member_id: str) -> int:
        """What the member may spend: the CRM's balance plus this kiosk's entries it lacks.

        Without a balance from the CRM (no CRM, or not pulled yet) it is the local one,
        with that of member ids the CRM merged into this one (kiosk/core/store/merged.py).
        """
        spendable = self.remote_balances.spendable(member_id, self.device_id)
        if spendable is not None:
            return spendable
        return self.ledger.balance(member_id) + MergedMembers(self.conn).alias_points(member_id)

    def offline_since(self, now: datetime) -> datetime | None:
        """When the CRM was last heard from, if that is longer ago than allowed; else None.

        A kiosk without a CRM is never offline: there is no other branch to spend at.
        """
        if not self.config.crm.url:
            return None
        last = self.sync_state.get("last_contact_at")
        heard = datetime.fromtimestamp(float(last), now.tzinfo) if last is not None else None
        limit = timedelta(minutes=self.config.crm.offline_after_minutes)
        if heard is not None and now - heard <= limit:
            return None
        return heard or datetime.fromtimestamp(0, now.tzinfo)

    def member(self, member_id: str) -> Member:
        """The member with this id (erased members too)."""
        found = self.members.get(member_id)
        if found is None:
            raise UnknownMember(by="id")
        return found

    # -- helpers -----------------------------------------------------------------

    def _once(
        self,
        txn_id: str,
        operation: str,
        request: dict[str, Any],
        write: Callable[[], _T],
        result_type: type[_T],
    ) -> _T:
        """Run `write` in one transaction unless `txn_id` was seen; then return its answer."""
        if not txn_id or len(txn_id) > 100:
            raise InvalidInput("Every change needs a client transaction id (1 to 100 characters).")
        digest = hashlib.sha256(_FINGERPRINT_JSON.encode([operation, request]).encode())
        fingerprint = self.txns.fingerprint(digest.hexdigest())
        with write_transaction(self.conn):
            seen = self.txns.find(txn_id)
            if seen is not None:
                if seen.fingerprint == ERASED:  # the enrollment of a person since erased
                    raise MemberErased()
                if seen.fingerprint != fingerprint:
                    raise IdempotencyConflict(txn=txn_id)
                return _load(result_type, json.loads(seen.result))
            result = write()
            self.txns.record(
                txn_id,
                operation,
                fingerprint,
                json.dumps(_plain(result)),
                to_iso(self.clock()),
                # Whose enrollment this was: an erasure finds it by this (txns.py).
                enrolled=getattr(result, "member_id", None) if operation == "enroll" else None,
            )
            return result

    def _active_with_due(self, member_id: str, now: datetime) -> tuple[Member, bool]:
        """The member (not erased) and whether lots of theirs are due, in one query."""
        found = self.members.get_with_due(member_id, to_iso(now))
        if found is None:
            raise UnknownMember(by="id")
        if found[0].status == "erased":
            raise MemberErased()
        return found

    def _active(self, member_id: str) -> Member:
        member = self.member(member_id)
        if member.status == "erased":
            raise MemberErased()
        return member

    def local_today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def _day_start(self, now: datetime) -> datetime:
        return datetime.combine(self.local_today(now), time(0), tzinfo=self.tz)

    def expiry_for(self, now: datetime) -> str | None:
        moment = lot_expiry(self.program, now)
        return to_iso(moment) if moment else None

    def _expire_due(self, now: datetime, member_id: str | None) -> list[Entry]:
        """Expire due lots (of one member, or all); the caller holds the transaction."""
        stamp = to_iso(now)
        expired = []
        for lot_id, owner, remaining in self.ledger.due_lots(stamp, member_id):
            expired.append(
                self.ledger.append(
                    kind="expire",
                    member_id=owner,
                    points=-remaining,
                    created_at=stamp,
                    reason="expired",
                    lot_id=lot_id,
                )
            )
        if expired:
            audit.record(
                self.conn,
                at=stamp,
                actor="system",
                action="expire",
                details={"entries": len(expired), "points": -sum(e.points for e in expired)},
            )
        return expired


def staff_id(actor: Actor) -> str:
    return actor.actor_id


def check_approver(approver: Actor, *, acting: tuple[str | None, ...], action: str) -> None:
    """Raise unless `approver` may approve and is none of the people `acting` in `action`.

    An approval is a second person vouching: a manager approving their own purchase (or the
    void of their own redemption) would be no check at all.
    """
    approver.require("approve")
    if approver.actor_id in acting:
        raise SelfApproval(staff=approver.actor_id, action=action)


def clean_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = " ".join(name.split())
    if not name:
        return None
    if len(name) > _MAX_NAME or re.search(r"[\x00-\x1f\x7f]", name):
        raise InvalidInput(f"A name is at most {_MAX_NAME} characters of text.")
    return name


# json.dumps builds a new encoder for every call with options; this one is built once.
# Its output is json.dumps(..., sort_keys=True)'s, so stored fingerprints still match.
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True)
_SCALARS = (str, int, float, bool, type(None))
_FIELDS: dict[type, tuple[str, ...]] = {}  # a result class's field names, looked up once


def _plain(value: Any) -> Any:
    """A result as JSON-able data; like dataclasses.asdict without its deep copies.

    Every change stores its answer this way (for a replayed client transaction id), so it
    runs once per earn: scalars first, and each class's fields are looked up only once.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is None:
        if not is_dataclass(value) or isinstance(value, type):
            return value
        names = _FIELDS[kind] = tuple(f.name for f in fields(value))
    return {name: _plain(getattr(value, name)) for name in names}


def _load(result_type: type[_T], data: dict[str, Any]) -> _T:
    if result_type is EarnResult:
        data["bonuses"] = [Bonus(**b) for b in data.get("bonuses", [])]
    result = result_type(**data)
    return replace(result, replayed=True)  # type: ignore[type-var]
