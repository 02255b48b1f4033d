"""Changes from the CRM, applied to this kiosk's database (docs/sync-protocol.md, "Pull").

Each page is applied in one transaction together with the new cursor, so a page applied
twice (a crash between applying and storing the cursor cannot happen, but a CRM may send
a change again) changes nothing: every change is an upsert or an erasure.

`staff` and `program` changes are applied only when the chain's owner signed them and the
kiosk's own rules allow them (kiosk/core/signed.py); each one applied, and each one
refused, is audited with the actor "crm".
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from kiosk.config import ProgramConfig
from kiosk.core.badges import keep_hub_visits
from kiosk.core.program_data import INVALID, earning_rules, program_from, verification_rules
from kiosk.core.signed import (
    SIGNED_KINDS,
    ChangeVerifier,
    Refused,
    applied_version,
    check_signature,
    check_staff,
    program_version,
    staff_signed_at,
)
from kiosk.core.store import audit
from kiosk.core.store.db import checkpoint, database_now, savepoint, write_transaction
from kiosk.core.store.erasure import ErasureJournal
from kiosk.core.store.members import MemberStore
from kiosk.core.store.merged import MergedMembers
from kiosk.core.store.outbox import Outbox, RemoteBalances, SyncState
from kiosk.core.store.staff import StaffAccounts
from kiosk.core.store.txns import ClientTxns

log = logging.getLogger(__name__)
PROGRAM_KEY = "program"
# A sync state key: an erasure was pulled that the backups have not been given yet.
BACKUPS_OWE_ERASURES = "backups_owe_erasures"
# A sync state key: the epoch of the CRM's feed the cursor was read under (sync/feed_epoch.py).
FEED_EPOCH = "feed_epoch"
# The shipped `security.pin_scrypt_n`; the worker passes the configured one.
DEFAULT_MIN_SCRYPT_N = 32_768
_AUDITED_ACTION = {"staff": "staff.put", "program": "program.put"}


@dataclass(frozen=True)
class Here:
    """What applying a change needs to know about this kiosk.

    `owner` verifies the owner's signature of staff and program changes; without it (a
    kiosk provisioned before owner keys) every such change is refused.
    """

    device_id: str
    first_tier: str
    owner: ChangeVerifier | None = None
    min_pin_scrypt_n: int = DEFAULT_MIN_SCRYPT_N
    # The feed is being read again up to this cursor (`read_again_for`): only its staff and
    # program changes are applied there; everything else was applied the first time.
    replay_until: int = 0
    # Where erasures are journaled outside the database (kiosk/core/store/erasure.py).
    journal: ErasureJournal | None = None


@dataclass(frozen=True)
class Stores:
    """The stores a page of changes is written through (one connection, one transaction)."""

    conn: sqlite3.Connection
    members: MemberStore
    outbox: Outbox
    balances: RemoteBalances
    state: SyncState
    staff_accounts: StaffAccounts
    erased: list[str] = field(default_factory=list)  # members erased by this page

    @classmethod
    def on(cls, conn: sqlite3.Connection, device_id: str) -> Stores:
        """The stores on `conn`."""
        return cls(
            conn,
            MemberStore(conn),
            Outbox(conn, device_id),
            RemoteBalances(conn),
            SyncState(conn),
            StaffAccounts(conn),
        )


def apply_page(
    conn: sqlite3.Connection, here: Here, changes: list[dict[str, Any]], next_cursor: int
) -> Counter[str]:
    """Apply one page of changes and store `next_cursor`, in one transaction."""
    applied: Counter[str] = Counter()
    stores = Stores.on(conn, here.device_id)
    with write_transaction(conn):
        for change in changes:
            kind = str(change.get("type")) if isinstance(change, dict) else "?"
            data = change.get("data") if isinstance(change, dict) else None
            handler = _HANDLERS.get(kind)
            if kind not in SIGNED_KINDS and _read_before(change, here.replay_until):
                continue
            if handler is None:
                log.warning("ignoring a change of unknown type %r", kind[:40])
                applied["skipped"] += 1
                continue
            # Each change on a savepoint: a malformed one (a CRM's bug) is skipped whole,
            # logged and counted, and the feed goes on; stopping at it would stop every
            # later change for good. A storage fault still fails the page.
            try:
                with savepoint(conn, "change"):
                    if not isinstance(data, dict):
                        raise TypeError("its data is not an object")
                    if kind in SIGNED_KINDS:
                        check_signature(here.owner, kind, data, change.get("signature"))
                    handler(stores, here, data)
            except Refused as refused:
                _refused(stores, kind, data, refused.reason)
                applied["skipped"] += 1
                continue
            except _MALFORMED as exc:
                log.error(
                    "skipping a malformed %s change from the CRM (%s)", kind, type(exc).__name__
                )
                applied["skipped"] += 1
                continue
            applied[kind] += 1
        stores.state.write({"cursor": next_cursor})
    if stores.erased:  # the WAL still holds the erased people's pages (as erase does)
        checkpoint(conn)
    return applied


def apply_found(
    conn: sqlite3.Connection, here: Here, member: dict[str, Any], balance: dict[str, Any]
) -> bool:
    """Store a member looked up at the CRM and their balance, as pulled ones, in one
    transaction (docs/sync-protocol.md, "Looking a member up"); False if malformed."""
    stores = Stores.on(conn, here.device_id)
    try:
        with write_transaction(conn):
            _member(stores, here, member)
            _balance(stores, here, balance)
    except _MALFORMED as exc:
        log.error("a member looked up at the CRM was not stored (%s)", type(exc).__name__)
        return False
    return True


def cursor(conn: sqlite3.Connection) -> int:
    """Where the next pull starts."""
    return int(SyncState(conn).get("cursor", 0))


def start_feed_again(conn: sqlite3.Connection) -> None:
    """Read the feed from its start at the next pull (a kiosk moved to another CRM)."""
    SyncState(conn).set(cursor=0, replay_until=0, pulled_with_owner_key="", **{FEED_EPOCH: ""})


def read_again_for(conn: sqlite3.Connection, owner: str) -> int:
    """Before a pull with the owner key `owner` ("" for none): where a re-read ends, or 0.

    Staff and program changes read without that key (a kiosk provisioned before owner
    keys, or given another key) were refused and passed by. With a key not pulled with
    before, the feed is read again from the start, and up to where it had been read only
    its staff and program changes are applied (the rest was applied then).
    """
    state = SyncState(conn)
    replay_until = int(state.get("replay_until", 0))
    with write_transaction(conn):
        if owner != state.get("pulled_with_owner_key", ""):
            if owner and cursor(conn) > 0:
                log.info("a new owner key: reading the change feed again for staff and program")
                replay_until = max(replay_until, cursor(conn))
                state.write({"cursor": 0})
            state.write({"pulled_with_owner_key": owner})
        if replay_until and cursor(conn) >= replay_until:
            replay_until = 0
        state.write({"replay_until": replay_until})
    return replay_until


def _read_before(change: object, replay_until: int) -> bool:
    """Whether a change was applied by an earlier read of the feed (see `read_again_for`)."""
    number = change.get("cursor") if isinstance(change, dict) else None
    return type(number) is int and number <= replay_until


def _member(stores: Stores, here: Here, data: dict[str, Any]) -> None:
    member_id = str(data["member_id"])
    if data.get("status") == "erased":
        _erasure(stores, here, data)
        return
    members = stores.members
    mine = stores.outbox.member_change(member_id)
    if mine is not None and not _as_new(data.get("updated_at"), mine.updated_at):
        # Older than a change made here that the CRM's feed has not brought back yet
        # (often the echo of this kiosk's own earlier record): the change here wins, as
        # it does at the CRM, which keeps the newest record by `updated_at`.
        return
    existing = members.get(member_id)
    if existing is not None and existing.status == "erased":
        return  # an erasure here is final
    phone = str(data["phone"])
    owner = members.id_by_phone(phone)
    if owner is not None and owner != member_id:
        # The same number enrolled at two branches while they were offline: keep ours
        # and leave the CRM's record out until a person merges them.
        log.warning("a pulled member has a phone number enrolled here as another member")
        return
    if existing is None:
        members.create_pulled(
            member_id, created_at=data.get("created_at") or "", tier=here.first_tier
        )
    members.put_person(member_id, data)
    for card in data.get("cards") or []:
        uid, status = str(card["uid"]), str(card.get("status", "active"))
        held = members.card(uid)
        if held is None:
            members.link_card(
                uid, member_id=member_id, now=data.get("updated_at") or "", status=status
            )
        elif held.member_id == member_id:
            members.set_card_status(uid, status)
        else:
            log.warning("a pulled card is linked to someone else here; kept as it is")
    if mine is None or not mine.pending:
        # The CRM's record, as new as anything made here, was written: nothing to push
        # back, nothing more to wait for. A change still to be pushed goes, with this
        # record merged in and a newer `updated_at`.
        stores.outbox.forget_member_change(member_id)


def _as_new(pulled: object, mine: str) -> bool:
    """Whether a pulled record's `updated_at` is at least that of a change made here.

    A record without a readable time cannot be shown to be newer: the change here wins.
    """
    if not isinstance(pulled, str):
        return False
    try:
        theirs = datetime.fromisoformat(pulled)
    except ValueError:
        return False
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)  # the protocol's times are UTC
    return theirs >= datetime.fromisoformat(mine)


def _balance(stores: Stores, here: Here, data: dict[str, Any]) -> None:
    member_id = str(data["member_id"])
    if stores.members.get(member_id) is None:
        return  # a member we do not know (yet); their record comes as a `member` change
    acknowledged = int((data.get("acknowledged") or {}).get(here.device_id, 0))
    stores.balances.put(member_id, int(data["balance"]), acknowledged)
    if "visits" in data:  # the member's visits at every branch, for their badges
        keep_hub_visits(stores.conn, member_id, data["visits"])
    if "referral" in data:  # their referral settled at the hub: not paid again here
        from kiosk.core.referral import settled_at_hub  # it reads PROGRAM_KEY from here

        settled_at_hub(stores.conn, member_id, data["referral"])


def _erasure(stores: Stores, here: Here, data: dict[str, Any]) -> None:
    member_id = str(data["member_id"])
    found = stores.members.get(member_id)
    if found is None or found.status == "erased":
        return
    now = database_now(stores.conn)
    stores.members.erase(member_id, now)
    stores.outbox.forget_member_change(member_id)
    ClientTxns(stores.conn).forget_member(member_id)
    stores.erased.append(member_id)
    # The backups still hold the person: the composition root erases them there after
    # the sync session (kiosk/bootstrap.py); kept here, so a crash before that retries.
    stores.state.write({BACKUPS_OWE_ERASURES: True})
    audit.record(stores.conn, at=now, actor="crm", action="member.erase", target=member_id)
    if here.journal is not None:  # before the page's commit, as every erasure is
        here.journal.record(member_id, now)


def _program(stores: Stores, here: Here, data: dict[str, Any]) -> None:
    # Versions only go forward: an older program (a delayed or replayed change) or the same
    # version again is not applied, whatever order the feed brings them in.
    version = program_version(data)
    previous = applied_version(stores.state.get(PROGRAM_KEY))
    if version <= previous:
        raise Refused("not_newer")
    program_from(data)  # raises when it is not a valid program: the change is skipped
    earning_rules(data)
    verification_rules(data)
    stores.state.write({PROGRAM_KEY: data})
    audit.record(
        stores.conn,
        at=database_now(stores.conn),
        actor="crm",
        action="program.put",
        target=str(version),
        details={"version": version, "was": previous or None},
    )


def _staff(stores: Stores, here: Here, data: dict[str, Any]) -> None:
    staff_id, name, disabled = data["staff_id"], data["name"], data.get("disabled", False)
    if not (isinstance(staff_id, str) and staff_id and isinstance(name, str)):
        raise TypeError("staff_id and name are strings")
    if not isinstance(disabled, bool):
        raise TypeError("disabled is true or false")
    role_here = stores.staff_accounts.role_of(staff_id)
    check_staff(data, role_here, here.min_pin_scrypt_n)
    # Salted hashes of one PIN differ, so only a copied hash shows here (a duplicate PIN can
    # be found only where the PIN is typed); sign-in names the person picked anyway.
    if stores.staff_accounts.hash_in_use(data["pin_hash"], other_than=staff_id):
        raise Refused("pin_hash_reused")
    # Staff changes only go forward (an old "active, PIN H" replayed, or read again from a
    # restored hub's feed, after the owner disabled the person or changed their PIN).
    signed_at = staff_signed_at(data, stores.staff_accounts.signed_at(staff_id))
    now = database_now(stores.conn)
    stores.staff_accounts.put_pulled(
        staff_id,
        name=name,
        role=data["role"],
        pin_hash=data["pin_hash"],
        now=now,
        disabled=disabled,
        signed_at=signed_at,
    )
    for uid in data.get("cards") or []:
        if stores.members.card(str(uid)) is None:
            stores.members.link_card(str(uid), staff_id=staff_id, now=now)
    audit.record(
        stores.conn,
        at=now,
        actor="crm",
        action="staff.put",
        target=staff_id,
        details={"role": data["role"], "was": role_here, "disabled": disabled},
    )


def _refused(stores: Stores, kind: str, data: object, reason: str) -> None:
    """Log and audit a change that is not applied (its ids only: no names, no PIN hash)."""
    log.warning("refused a %s change from the CRM (%s)", kind, reason)
    target = None
    if isinstance(data, dict):
        ident = data.get("staff_id") if kind == "staff" else data.get("version")
        target = str(ident)[:64] if isinstance(ident, str | int) else None
    audit.record(
        stores.conn,
        at=database_now(stores.conn),
        actor="crm",
        action=_AUDITED_ACTION.get(kind, f"{kind[:20]}.put"),
        target=target,
        outcome="refused",
        details={"reason": reason},
    )


def _merge(stores: Stores, here: Here, data: dict[str, Any]) -> None:
    # One phone enrolled at two branches offline: the CRM kept the survivor `into`. Its
    # phone and cards here identify the survivor; the merged id's entries stay as they
    # are, pushed as they are, and count in the survivor's balance.
    alias, survivor = data["member_id"], data["into"]
    if not (isinstance(alias, str) and isinstance(survivor, str) and alias and survivor):
        raise TypeError("member_id and into are ids")
    if alias == survivor:
        raise ValueError("a member is not merged into itself")
    merged = MergedMembers(stores.conn)
    merged.merge(alias, survivor, now=database_now(stores.conn), tier=here.first_tier)


_HANDLERS = {
    "merge": _merge,
    "member": _member,
    "balance": _balance,
    "erasure": _erasure,
    "program": _program,
    "staff": _staff,
}


def program_override(conn: sqlite3.Connection, base: ProgramConfig) -> ProgramConfig:
    """The program with the CRM's tiers, rewards and earning rules, if it sent any; else `base`.

    The rules it sent (points per amount, the bonuses, the cap per purchase, the offline
    allowance, the mode) replace the configured ones; those it did not send stay.
    """
    data = SyncState(conn).get(PROGRAM_KEY)
    if not data:
        return base
    try:
        tiers, rewards = program_from(data)
        rules = earning_rules(data)
    except INVALID:
        log.error("the CRM's program update is not valid; keeping the configured program")
        return base
    cap = rules.pop("max_points_per_purchase", base.limits.max_points_per_purchase)
    rules.pop("max_amount", None)  # the money's, not the program's: see max_amount_override
    return replace(
        base,
        tiers=tiers or base.tiers,
        rewards=rewards,
        limits=replace(base.limits, max_points_per_purchase=cap),
        **rules,
    )


def max_amount_override(conn: sqlite3.Connection, base: int) -> int:
    """The largest purchase (rial) of the CRM's program, if it sent one; else `base`."""
    data = SyncState(conn).get(PROGRAM_KEY)
    if not data:
        return base
    try:
        program_from(data)
        found = earning_rules(data).get("max_amount", base)
    except INVALID:
        return base
    return int(found)


# What a change of the wrong shape raises (a storage fault, OperationalError, is not here).
_MALFORMED = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    ArithmeticError,
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
)
