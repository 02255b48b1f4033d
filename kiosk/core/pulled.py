"""Changes from the CRM, applied to this kiosk's database (docs/sync-protocol.md, "Pull").

Each page is applied in one transaction together with the new cursor, so a page applied
twice (a crash between applying and storing the cursor cannot happen, but a CRM may send
a change again) changes nothing: every change is an upsert or an erasure.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from kiosk.config import ProgramConfig, RewardConfig, TierConfig
from kiosk.core.store import audit
from kiosk.core.store.db import write_transaction
from kiosk.core.store.outbox import SyncState

log = logging.getLogger(__name__)
PROGRAM_KEY = "program"


@dataclass(frozen=True)
class Here:
    """What applying a change needs to know about this kiosk."""

    device_id: str
    first_tier: str


def apply_page(
    conn: sqlite3.Connection, here: Here, changes: list[dict[str, Any]], next_cursor: int
) -> Counter[str]:
    """Apply one page of changes and store `next_cursor`, in one transaction."""
    applied: Counter[str] = Counter()
    with write_transaction(conn):
        for change in changes:
            kind = str(change.get("type")) if isinstance(change, dict) else "?"
            data = change.get("data") if isinstance(change, dict) else None
            handler = _HANDLERS.get(kind)
            if handler is None:
                log.warning("ignoring a change of unknown type %r", kind[:40])
                applied["skipped"] += 1
                continue
            # Each change on a savepoint: a malformed one (a CRM's bug) is skipped whole,
            # logged and counted, and the feed goes on; stopping at it would stop every
            # later change for good. A storage fault still fails the page.
            conn.execute("SAVEPOINT change")
            try:
                if not isinstance(data, dict):
                    raise TypeError("its data is not an object")
                handler(conn, here, data)
            except _MALFORMED as exc:
                conn.execute("ROLLBACK TO change")
                conn.execute("RELEASE change")
                log.error(
                    "skipping a malformed %s change from the CRM (%s)", kind, type(exc).__name__
                )
                applied["skipped"] += 1
                continue
            conn.execute("RELEASE change")
            applied[kind] += 1
        conn.execute(
            "INSERT INTO sync_state (key, value) VALUES ('cursor', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (json.dumps(next_cursor),),
        )
    return applied


def cursor(conn: sqlite3.Connection) -> int:
    """Where the next pull starts."""
    return int(SyncState(conn).get("cursor", 0))


def _member(conn: sqlite3.Connection, here: Here, data: dict[str, Any]) -> None:
    member_id = str(data["member_id"])
    if data.get("status") == "erased":
        _erasure(conn, here, data)
        return
    had_local_change = conn.execute(
        "SELECT 1 FROM member_outbox WHERE member_id = ?", (member_id,)
    ).fetchone()
    existing = conn.execute(
        "SELECT status FROM members WHERE member_id = ?", (member_id,)
    ).fetchone()
    if existing is not None and existing[0] == "erased":
        return  # an erasure here is final
    phone = str(data["phone"])
    owner = conn.execute("SELECT member_id FROM people WHERE phone = ?", (phone,)).fetchone()
    if owner is not None and owner[0] != member_id:
        # The same number enrolled at two branches while they were offline: keep ours
        # and leave the CRM's record out until a person merges them.
        log.warning("a pulled member has a phone number enrolled here as another member")
        return
    if existing is None:
        conn.execute(
            "INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
            "VALUES (?, ?, ?, ?)",
            (member_id, data.get("created_at") or "", "crm", here.first_tier),
        )
    conn.execute(
        "INSERT INTO people (member_id, phone, name, birthday, language, consent_marketing, "
        "consent_version, consent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(member_id) DO UPDATE SET phone = excluded.phone, name = excluded.name, "
        "birthday = excluded.birthday, language = excluded.language, "
        "consent_marketing = excluded.consent_marketing, "
        "consent_version = excluded.consent_version, consent_at = excluded.consent_at",
        (
            member_id,
            phone,
            data.get("name"),
            data.get("birthday"),
            data.get("language"),
            1 if data.get("consent_marketing") else 0,
            data.get("consent_version"),
            data.get("consent_at"),
        ),
    )
    for card in data.get("cards") or []:
        uid, status = str(card["uid"]), str(card.get("status", "active"))
        held = conn.execute(
            "SELECT member_id, staff_id FROM cards WHERE uid = ?", (uid,)
        ).fetchone()
        if held is None:
            conn.execute(
                "INSERT INTO cards (uid, member_id, status, linked_at) VALUES (?, ?, ?, ?)",
                (uid, member_id, status, data.get("updated_at") or ""),
            )
        elif held[0] == member_id:
            conn.execute("UPDATE cards SET status = ? WHERE uid = ?", (status, uid))
        else:
            log.warning("a pulled card is linked to someone else here; kept as it is")
    if had_local_change is None:
        # Only the CRM's own record was written: nothing to push back.
        conn.execute("DELETE FROM member_outbox WHERE member_id = ?", (member_id,))


def _balance(conn: sqlite3.Connection, here: Here, data: dict[str, Any]) -> None:
    member_id = str(data["member_id"])
    if conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone() is None:
        return  # a member we do not know (yet); their record comes as a `member` change
    acknowledged = int((data.get("acknowledged") or {}).get(here.device_id, 0))
    conn.execute(
        "INSERT INTO remote_balances (member_id, balance, acknowledged_seq) VALUES (?, ?, ?) "
        "ON CONFLICT(member_id) DO UPDATE SET balance = excluded.balance, "
        "acknowledged_seq = excluded.acknowledged_seq",
        (member_id, int(data["balance"]), acknowledged),
    )


def _erasure(conn: sqlite3.Connection, here: Here, data: dict[str, Any]) -> None:
    member_id = str(data["member_id"])
    row = conn.execute("SELECT status FROM members WHERE member_id = ?", (member_id,)).fetchone()
    if row is None or row[0] == "erased":
        return
    conn.execute("DELETE FROM cards WHERE member_id = ?", (member_id,))
    conn.execute("DELETE FROM people WHERE member_id = ?", (member_id,))
    conn.execute(
        "UPDATE members SET status = 'erased', erased_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
        "WHERE member_id = ?",
        (member_id,),
    )
    conn.execute("DELETE FROM member_outbox WHERE member_id = ?", (member_id,))
    audit.record(conn, at=_now(conn), actor="crm", action="member.erase", target=member_id)


def _program(conn: sqlite3.Connection, here: Here, data: dict[str, Any]) -> None:
    _program_from(data)  # raises when it is not a valid program: the change is skipped
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (PROGRAM_KEY, json.dumps(data)),
    )


def _staff(conn: sqlite3.Connection, here: Here, data: dict[str, Any]) -> None:
    staff_id = str(data["staff_id"])
    disabled = _now(conn) if data.get("disabled") else None
    conn.execute(
        "INSERT INTO staff (staff_id, name, role, pin_hash, created_at, disabled_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(staff_id) DO UPDATE SET name = excluded.name, "
        "role = excluded.role, pin_hash = excluded.pin_hash, "
        "disabled_at = CASE WHEN excluded.disabled_at IS NULL THEN NULL "
        "ELSE COALESCE(staff.disabled_at, excluded.disabled_at) END",
        (staff_id, data["name"], data["role"], data["pin_hash"], _now(conn), disabled),
    )
    for uid in data.get("cards") or []:
        held = conn.execute("SELECT staff_id FROM cards WHERE uid = ?", (str(uid),)).fetchone()
        if held is None:
            conn.execute(
                "INSERT INTO cards (uid, staff_id, status, linked_at) VALUES (?, ?, 'active', ?)",
                (str(uid), staff_id, _now(conn)),
            )


def _now(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')").fetchone()[0])


_HANDLERS = {
    "member": _member,
    "balance": _balance,
    "erasure": _erasure,
    "program": _program,
    "staff": _staff,
}


def program_override(conn: sqlite3.Connection, base: ProgramConfig) -> ProgramConfig:
    """The program with the CRM's tiers and rewards, if it sent any; else `base`."""
    data = SyncState(conn).get(PROGRAM_KEY)
    if not data:
        return base
    try:
        tiers, rewards = _program_from(data)
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
        log.error("the CRM's program update is not valid; keeping the configured program")
        return base
    return replace(base, tiers=tiers or base.tiers, rewards=rewards)


def _program_from(data: Any) -> tuple[tuple[TierConfig, ...], tuple[RewardConfig, ...]]:
    """The tiers and rewards `data` describes; raises when it is not a valid program."""
    if not isinstance(data, dict):
        raise TypeError("a program is an object")
    tiers = tuple(
        TierConfig(
            id=str(t["id"]),
            name_fa=str(t["name_fa"]),
            name_en=str(t["name_en"]),
            threshold=int(t["threshold"]),
            multiplier=Decimal(str(t["multiplier"])),
        )
        for t in data.get("tiers") or []
    )
    rewards = tuple(
        RewardConfig(
            id=str(r["id"]),
            name_fa=str(r["name_fa"]),
            name_en=str(r["name_en"]),
            cost=int(r["cost"]),
            kind=str(r["kind"]),
            value=int(r.get("value", 0)),
            active_from=date.fromisoformat(r["active_from"]) if r.get("active_from") else None,
            active_until=date.fromisoformat(r["active_until"]) if r.get("active_until") else None,
        )
        for r in data.get("rewards") or []
    )
    if any(t.threshold < 0 or not t.multiplier > 0 for t in tiers):
        raise ValueError("tiers need a threshold of 0 or more and a positive multiplier")
    if any(r.cost < 0 or r.kind not in _REWARD_KINDS for r in rewards):
        raise ValueError("a reward needs a cost of 0 or more and a known kind")
    return tiers, rewards


_REWARD_KINDS = ("fixed_discount", "percent_discount", "free_item")
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
