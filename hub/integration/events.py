"""Events for the chain's CRM, written in the transaction of the change (a transactional
outbox): what happened is committed with its event, or neither is.

Each event id is derived from its cause (uuid5 of the type and, for an entry, the device
(`hub` for the hub's own) and the entry's id; for a record, the member and the record's
`updated_at`), and written
with ON CONFLICT DO NOTHING: a push repeated, a record sent again, never makes a second
event. Each event gets a pending delivery for every active endpoint that takes its type,
in the same statement's transaction (hub/integration/delivery.py sends them).

What an event carries (docs/integration.md, "Payloads"): the member events the member id,
phone, name, language and marketing consent (what a CRM needs to find or create its
customer); entries carry ids and points, no personal data. Birthdays, cards and consent
details stay at the hub (the read API's `members:read` scope gives them). When a member is
erased, their member events are scrubbed down to the id, their pending deliveries of
those are cancelled, and `member.erased` goes out.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connection

from hub.devices.models import Device
from hub.integration.models import Delivery, Endpoint, Event
from hub.ledger.models import Entry

TYPES = (
    "member.enrolled",
    "member.updated",
    "member.erased",
    "points.earned",
    "reward.redeemed",
    "entry.voided",
    "points.adjusted",
    "points.expired",
)
# The types that carry personal data, scrubbed and stopped at the member's erasure.
PERSONAL = ("member.enrolled", "member.updated")
# The ledger's kind -> its event: every kind that moves points makes one, so that a CRM
# summing the events comes to the hub's balance (docs/integration.md, "Events").
_BY_KIND = {
    "earn": "points.earned",
    "bonus": "points.earned",
    "redeem": "reward.redeemed",
    "reversal": "entry.voided",
    "adjust": "points.adjusted",  # a manager's at a kiosk, or the owner's at the hub
    "expire": "points.expired",  # a kiosk's; the hub makes no expiries of its own
}
_NAMESPACE = uuid.UUID("6d1f3c0e-3a51-4d0b-9a7e-4c6c7562a017")
_EVENTS = Event._meta.db_table
_DELIVERIES = Delivery._meta.db_table
_ENDPOINTS = Endpoint._meta.db_table
_ENTRIES = Entry._meta.db_table


class _Held(Protocol):
    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class EntriesStored:
    """Entries a push stored (new ones only: a repeat is never stored twice)."""

    device: Device
    entries: Sequence[dict[str, Any]]


@dataclass(frozen=True)
class MemberWritten:
    """A member record the hub took: `alias_of` set for an id merged into another member,
    `was` the member as held before (None: new)."""

    record: dict[str, Any]
    alias_of: str | None
    was: _Held | None


@dataclass(frozen=True)
class HubEntryStored:
    """An entry the hub made itself (an owner's adjustment: hub/ledger/adjustments.py)."""

    entry_id: str


@dataclass(frozen=True)
class Erased:
    """Members erased now (their ids)."""

    member_ids: Sequence[str]


Happened = EntriesStored | MemberWritten | HubEntryStored | Erased


def event_id(event_type: str, cause: str) -> str:
    """The stable id of the event of this type with this cause."""
    return "evt_" + uuid.uuid5(_NAMESPACE, f"{event_type}:{cause}").hex


def emit(happened: Happened) -> None:
    """Write the events of what happened; call it in the transaction that made the change."""
    assert connection.in_atomic_block, "emit in the transaction that made the change"
    if isinstance(happened, EntriesStored):
        _write(_entry_events(happened))
    elif isinstance(happened, MemberWritten):
        _write(_member_events(happened))
    elif isinstance(happened, HubEntryStored):
        _write(_hub_entry_events(happened.entry_id))
    else:
        _erase(happened.member_ids)


_Row = tuple[str, str, str, dict[str, Any]]  # event id, type, member id, payload


def _entry_events(stored: EntriesStored) -> list[_Row]:
    rows: list[_Row] = []
    branch = None
    for entry in stored.entries:
        event_type = _BY_KIND.get(str(entry["kind"]))
        if event_type is None:
            continue
        if branch is None:
            branch = stored.device.branch.name
        rows.append(_entry_row(event_type, entry, branch, str(stored.device.device_id)))
    return rows


def _hub_entry_events(entry_id: str) -> list[_Row]:
    """The event of an entry of the hub's own: no branch, `device_id` "hub"."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT as_pushed FROM {_ENTRIES} WHERE device_id IS NULL AND entry_id = %s",
            [entry_id],
        )
        row = cursor.fetchone()
    assert row is not None, "emit after the hub's entry is written"
    entry: dict[str, Any] = json.loads(row[0])
    event_type = _BY_KIND.get(str(entry["kind"]))
    if event_type is None:
        return []
    return [_entry_row(event_type, entry, None, str(entry["device_id"]))]


def _entry_row(event_type: str, entry: dict[str, Any], branch: str | None, source: str) -> _Row:
    """An entry's event: ids, points and amounts, never the reason (free text, may name
    someone) or the cashier."""
    payload = {
        "entry_id": entry["entry_id"],
        "member_id": entry["member_id"],
        "kind": entry["kind"],
        "points": entry["points"],
        "amount": entry["amount"],
        "currency": entry["currency"],
        "reward_id": entry["reward_id"],
        "reverses": entry["reverses"],
        "created_at": entry["created_at"],
        "branch": branch,
        "device_id": source,
    }
    cause = f"{source}:{entry['entry_id']}"
    return (event_id(event_type, cause), event_type, str(entry["member_id"]), payload)


def _member_events(written: MemberWritten) -> list[_Row]:
    record = written.record
    member_id = str(record["member_id"])
    if record["status"] == "erased":
        if written.was is not None and written.was.status != "erased":
            # Erased by an alias's id: the person is the survivor too (records.py erases both).
            _erase([member_id, *([written.alias_of] if written.alias_of else [])])
        return []
    if written.alias_of is not None:
        return []  # an id merged into a member the CRM has already heard of
    payload = member_payload(record)
    if written.was is None:
        return [(event_id("member.enrolled", member_id), "member.enrolled", member_id, payload)]
    if payload == _last_sent(member_id):
        return []  # the same record again (a kiosk repeating its push): nothing changed
    cause = f"{member_id}:{record['updated_at']}"
    return [(event_id("member.updated", cause), "member.updated", member_id, payload)]


def _last_sent(member_id: str) -> dict[str, Any] | None:
    """The payload of the member's latest member event, if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT payload::text FROM {_EVENTS} WHERE member_id = %s AND type = ANY(%s) "
            "ORDER BY id DESC LIMIT 1",
            [member_id, list(PERSONAL)],
        )
        row = cursor.fetchone()
    found: dict[str, Any] | None = json.loads(row[0]) if row else None
    return found


def member_payload(record: dict[str, Any]) -> dict[str, Any]:
    """What a member event says of the person: no more than a CRM needs to match them."""
    return {
        "member_id": record["member_id"],
        "status": record["status"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "phone": record["phone"],
        "name": record["name"],
        "language": record["language"],
        "consent_marketing": record["consent_marketing"],
    }


def _write(rows: list[_Row]) -> None:
    """Insert the events (a cause seen before is skipped) and their deliveries."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_EVENTS} (event_id, type, member_id, payload, created_at, txid,
                scrubbed)
            SELECT e, t, m, p::jsonb, now(), pg_current_xact_id()::text::bigint, false
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) WITH ORDINALITY
                AS r(e, t, m, p, n)
            ORDER BY n
            ON CONFLICT (event_id) DO NOTHING
            RETURNING id
            """,
            [
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [json.dumps(r[3], sort_keys=True, ensure_ascii=False) for r in rows],
            ],
        )
        made = [int(row[0]) for row in cursor.fetchall()]
        if made:
            _fan_out(cursor, made)


def _fan_out(cursor: Any, events: Iterable[int]) -> None:
    """A pending delivery of each new event to each active endpoint taking its type."""
    cursor.execute(
        f"""
        INSERT INTO {_DELIVERIES} (endpoint_id, event_id, state, attempts, next_attempt_at,
            created_at)
        SELECT p.id, e.id, 'pending', 0, now(), now()
        FROM {_EVENTS} e JOIN {_ENDPOINTS} p ON p.active AND p.events ? e.type
        WHERE e.id = ANY(%s)
        ORDER BY e.id, p.id
        ON CONFLICT DO NOTHING
        """,
        [sorted(events)],
    )


def _erase(member_ids: Sequence[str]) -> None:
    """Stop and scrub the members' personal events, then send `member.erased` for each."""
    ids = sorted(set(member_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_DELIVERIES} SET state = 'cancelled', finished_at = now(),
                last_error = 'the member was erased before this was delivered'
            WHERE state = 'pending' AND event_id IN (
                SELECT id FROM {_EVENTS} WHERE member_id = ANY(%s) AND type = ANY(%s))
            """,
            [ids, list(PERSONAL)],
        )
        # Delivered ones too: the hub's copy of what it sent holds the person as well.
        cursor.execute(
            f"""
            UPDATE {_EVENTS} SET scrubbed = true, payload = jsonb_build_object(
                'member_id', member_id, 'status', 'erased')
            WHERE member_id = ANY(%s) AND type = ANY(%s) AND NOT scrubbed
            """,
            [ids, list(PERSONAL)],
        )
        cursor.execute("SELECT now()")
        now = cursor.fetchone()[0]
    erased_at = now.isoformat().replace("+00:00", "Z")
    _write(
        [
            (
                event_id("member.erased", member_id),
                "member.erased",
                member_id,
                {"member_id": member_id, "erased_at": erased_at},
            )
            for member_id in ids
        ]
    )
