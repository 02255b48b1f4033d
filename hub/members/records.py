"""Members as the devices push them: the hub decides what of a record it takes.

The rules of protocol v2 (docs/sync-protocol.md, "What the hub refuses"), decided in
`_accepted` and written by `_write`:

- Records are ordered by the hub's own `received_at`: the last received wins. The device's
  `updated_at` is kept as reported, never compared; one more than `FUTURE_SLACK` ahead of
  the hub's clock is flagged `future_dated` and stored clamped to the hub's time.
- A device never changes an existing member's phone: such a record is not taken at all,
  the member stays as held, flagged `phone_move` (no kiosk changes a phone number; a
  record that does is forged or corrupt, and the rest of it is not the member's either).
- A card another member holds (active) is dropped from the record, flagged `card_move`.
- A new member id whose phone a member holds is merged into that member (hub/members/
  merges.py): the earlier one survives, the new id becomes its alias.
- An erased member stays erased: a record cannot bring the person back.
- A card blocked at the hub stays blocked: no kiosk unblocks a card, so a record that says
  it is active was made before its kiosk pulled the block (the owner's, from the panel).
- Marketing consent goes by its own time, `consent_at`, not by the record's: a record whose
  consent is not later than the one held (an opt-out at the hub by reply or link, or a
  consent another kiosk recorded) brings the rest of the record, never its consent. A
  kiosk's record made before an opt-out it had not pulled must not market to that person
  again; a consent given at the counter after the opt-out is later, and wins.
- A new member's `referrer_id` is kept once, checked (hub/members/referrals.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from hub.devices.models import Device
from hub.flags.flags import Raised, raise_flags
from hub.formats import parse_date, parse_timestamp, to_timestamp
from hub.integration import events
from hub.members import merges, referrals
from hub.members.models import Card, Member
from hub.verification import links

_MEMBERS = Member._meta.db_table
_CARDS = Card._meta.db_table
# How far ahead of the hub's clock a record may be dated before it is flagged and clamped
# (the protocol's signature window: a kiosk further off cannot sign at all).
FUTURE_SLACK = timedelta(seconds=300)
# Phones and cards are locked in this many buckets (advisory locks, ascending), so that
# two pushes enrolling the same phone or card at once are taken one after the other and
# the second sees the first; a bounded count keeps a 500-member push within the lock table.
_IDENTITY_BUCKETS = 64
_IDENTITY_LOCK = 0x4D656D62  # "Memb": the first key of the advisory locks' two

FeedChange = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Held:
    """A member as the hub holds it, read under its row lock."""

    status: str
    phone: str | None
    merged_into: str | None
    blocked: frozenset[str] = frozenset()  # uids of the member's cards blocked at the hub
    # consent_marketing, consent_version, consent_at as held (None: a new member's record)
    consent: tuple[bool, str | None, datetime | None] | None = None


@dataclass
class Decision:
    """What the hub takes of one record: the record to write (None: nothing), and why not all."""

    record: dict[str, Any] | None
    into: str | None = None  # the survivor, when the record's member is (now) an alias
    flags: list[Raised] = field(default_factory=list)


def accept(device: Device, records: list[dict[str, Any]]) -> list[FeedChange]:
    """Take checked MemberRecords in one transaction; the feed changes they make.

    Rows are locked in member-id order, as every push does, so that two pushes naming the
    same members wait for each other instead of deadlocking; the phones and cards they
    name before that (`_lock_identities`).
    """
    ordered = sorted(records, key=lambda r: str(r["member_id"]))  # stable: batch order kept
    with connection.cursor() as cursor:
        _lock_identities(cursor, ordered)
        cursor.execute(
            f"SELECT member_id, status, phone, merged_into, consent_marketing, consent_version, "
            f"consent_at FROM {_MEMBERS} WHERE member_id = ANY(%s) ORDER BY member_id FOR UPDATE",
            [sorted({str(r["member_id"]) for r in ordered})],
        )
        held = {
            str(row[0]): Held(str(row[1]), row[2], row[3], consent=(bool(row[4]), row[5], row[6]))
            for row in cursor.fetchall()
        }
        cursor.execute(
            f"SELECT member_id, array_agg(uid) FROM {_CARDS} WHERE member_id = ANY(%s) "
            "AND status = 'blocked' GROUP BY member_id",
            [sorted(held)],
        )
        for member_id, uids in cursor.fetchall():
            held[str(member_id)] = replace(held[str(member_id)], blocked=frozenset(uids))
        cursor.execute("SELECT now()")
        now: datetime = cursor.fetchone()[0]
    changes: list[FeedChange] = []
    raised: list[Raised] = []
    asked = links.asked()  # the program's verification setting, once for the push
    taken: list[dict[str, Any]] = []
    for record in ordered:
        member_id = str(record["member_id"])
        decision = _accepted(record, held.get(member_id), now)
        raised += decision.flags
        if decision.record is None:
            continue
        taken.append(decision.record)
        owner = decision.into or (member_id if member_id in held else None)
        raised += links.take(device, decision.record, owner, now, asked)  # a code, if asked
        changes += _write(device, decision, held.get(member_id))
        events.emit(events.MemberWritten(decision.record, decision.into, held.get(member_id)))
        held[member_id] = Held(
            str(decision.record["status"]),
            decision.record.get("phone"),
            decision.into,
            consent=_consent_of(decision.record),
        )
    raised += referrals.take(device, taken)  # a new member's referrer (referrals.py)
    raise_flags(device, raised)
    return changes


def _lock_identities(cursor: Any, records: list[dict[str, Any]]) -> None:
    keys = set()
    for record in records:
        if record["status"] == "active":
            keys.add(f"phone:{record['phone']}")
            keys.update(f"card:{uid}" for uid, status in _cards(record).items())
    if not keys:
        return
    cursor.execute(
        "SELECT pg_advisory_xact_lock(%s, b) FROM unnest(%s::int[]) AS b",  # in array order
        [_IDENTITY_LOCK, sorted({_bucket(key) for key in keys})],
    )


def _bucket(key: str) -> int:
    # Not hash(): it differs between processes, and the locks are shared by every hub process.
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % _IDENTITY_BUCKETS


def _accepted(record: dict[str, Any], held: Held | None, now: datetime) -> Decision:
    """What the hub takes of this record, given the member as held (None: a new member)."""
    member_id = str(record["member_id"])
    record = dict(record)
    flags: list[Raised] = []
    reported = parse_timestamp(record["updated_at"])
    if reported is not None and reported > now + FUTURE_SLACK:
        flags.append(
            Raised(
                "future_dated",
                member_id,
                detail={"updated_at": record["updated_at"], "hub_time": to_timestamp(now)},
            )
        )
        record["updated_at"] = to_timestamp(now)
    if held is not None and held.status == "erased":
        return Decision(None, flags=flags)  # erasure is final
    into = held.merged_into if held is not None else None
    if record["status"] == "erased":
        return Decision(record, into=into, flags=flags)
    if held is not None and held.merged_into is None and held.phone != record["phone"]:
        flags.append(Raised("phone_move", member_id))
        return Decision(None, flags=flags)
    if held is None:
        into = merges.holder_of_phone(str(record["phone"]), member_id)
    _keep_later_consent(record, held, now)
    cards = _cards(record)
    if held is not None:  # blocked at the hub: stays so (the record is older than the block)
        cards = {uid: "blocked" if uid in held.blocked else st for uid, st in cards.items()}
    kept, moved = merges.free_cards(cards, into or member_id)
    flags += [Raised("card_move", member_id, detail={"held_by": other}) for other in moved]
    record["cards"] = [{"uid": uid, "status": status} for uid, status in kept.items()]
    return Decision(record, into=into, flags=flags)


def _keep_later_consent(record: dict[str, Any], held: Held | None, now: datetime) -> None:
    """The record's consent, unless the one held is as late or later (then the held one).

    A consent dated past the hub's clock (a kiosk's clock far ahead) is stored as given
    now and outranks nothing held: it would otherwise outrank every opt-out to come.
    """
    given = parse_timestamp(record["consent_at"]) if record.get("consent_at") else None
    ahead = given is not None and given > now + FUTURE_SLACK
    if ahead:
        record["consent_at"] = to_timestamp(now)
    if held is None or held.consent is None:
        return
    marketing, version, held_at = held.consent
    if held_at is None or (given is not None and given > held_at and not ahead):
        return
    record["consent_marketing"] = marketing
    record["consent_version"] = version
    record["consent_at"] = to_timestamp(held_at)


def _consent_of(record: dict[str, Any]) -> tuple[bool, str | None, datetime | None] | None:
    if record["status"] == "erased":
        return None
    at = parse_timestamp(record["consent_at"]) if record.get("consent_at") else None
    return bool(record.get("consent_marketing")), record.get("consent_version"), at


def _write(device: Device, decision: Decision, held: Held | None) -> list[FeedChange]:
    """Write what was decided; the feed changes it makes."""
    record = decision.record
    assert record is not None
    member_id = str(record["member_id"])
    erased = record["status"] == "erased"
    if decision.into is not None and held is not None:
        if erased:  # the person asked to be forgotten where they were known by the alias
            survivor = replace(decision, record=record | {"member_id": decision.into}, into=None)
            return _write(device, replace(decision, into=None), held) + _write(
                device, survivor, Held("active", None, None)
            )
        # A kiosk that had not pulled the merge yet: the alias's free cards go to the
        # survivor, nothing else of the record is written.
        added = merges.add_cards(decision.into, record["cards"])
        return [_member_change(decision.into)] if added else []
    _upsert(device, record, decision.into)
    if decision.into is not None:
        merge = merges.merged(member_id, decision.into, record["cards"])
        return [merge, _member_change(decision.into)]
    if erased:
        return (
            []
            if held is not None and held.status == "erased"
            else [("erasure", {"member_id": member_id})]
        )
    return [("member", record)]


def _upsert(device: Device, record: dict[str, Any], into: str | None) -> None:
    """Insert or replace the member's row and cards (an alias keeps none: the survivor has them)."""
    erased = record["status"] == "erased"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_MEMBERS} (member_id, status, created_at, updated_at, received_at,
                pushed_by_id, phone, name, birthday, language, consent_marketing,
                consent_version, consent_at, merged_into)
            VALUES (%s, %s, %s, %s, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (member_id) DO UPDATE SET
                status = excluded.status, created_at = excluded.created_at,
                updated_at = excluded.updated_at, received_at = excluded.received_at,
                pushed_by_id = excluded.pushed_by_id, phone = excluded.phone,
                name = excluded.name, birthday = excluded.birthday,
                language = excluded.language, consent_marketing = excluded.consent_marketing,
                consent_version = excluded.consent_version, consent_at = excluded.consent_at
            """,
            [
                record["member_id"],
                record["status"],
                parse_timestamp(record["created_at"]),
                parse_timestamp(record["updated_at"]),
                device.pk,
                *_columns(record),
                into,
            ],
        )
        cursor.execute(f"DELETE FROM {_CARDS} WHERE member_id = %s", [record["member_id"]])
        if not erased and into is None:
            cursor.executemany(
                f"INSERT INTO {_CARDS} (member_id, uid, status) VALUES (%s, %s, %s)",
                [(record["member_id"], uid, status) for uid, status in _cards(record).items()],
            )


def _member_change(member_id: str) -> FeedChange:
    """The member's record as the hub now holds it, as a `member` change."""
    member = Member.objects.get(pk=member_id)
    return ("member", record_of(member, member.cards.order_by("uid")))


def _columns(record: dict[str, Any]) -> list[Any]:
    """The personal columns of a record (all null for an erased member)."""
    if record["status"] == "erased":
        return [None, None, None, None, False, None, None]
    return [
        record["phone"],
        record["name"],
        parse_date(record["birthday"]) if record["birthday"] else None,
        record["language"],
        record["consent_marketing"],
        record["consent_version"],
        parse_timestamp(record["consent_at"]) if record["consent_at"] else None,
    ]


def _cards(record: dict[str, Any]) -> dict[str, str]:
    """uid -> status; a uid listed twice keeps its last status."""
    return {str(card["uid"]): str(card["status"]) for card in record["cards"]}


def survivor_of(member_ids: Iterable[str]) -> dict[str, str]:
    """Each id -> the member whose balance its entries count in (itself unless an alias)."""
    wanted = sorted(set(member_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, COALESCE(merged_into, member_id) FROM {_MEMBERS} "
            "WHERE member_id = ANY(%s)",
            [wanted],
        )
        found = {str(row[0]): str(row[1]) for row in cursor.fetchall()}
    return {member_id: found.get(member_id, member_id) for member_id in wanted}


def family(survivors: Iterable[str]) -> dict[str, str]:
    """Every id counted in these survivors' balances (they and their aliases) -> survivor."""
    wanted = sorted(set(survivors))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, COALESCE(merged_into, member_id) FROM {_MEMBERS} "
            "WHERE member_id = ANY(%s) OR merged_into = ANY(%s)",
            [wanted, wanted],
        )
        found = {str(row[0]): str(row[1]) for row in cursor.fetchall()}
    return {member_id: member_id for member_id in wanted} | found


def record_of(member: Member, cards: Iterable[Card]) -> dict[str, Any]:
    """The member as a MemberRecord of the protocol (for `hub export` and the feed)."""
    head: dict[str, Any] = {
        "member_id": member.member_id,
        "status": member.status,
        "created_at": to_timestamp(member.created_at),
        "updated_at": to_timestamp(member.updated_at),
    }
    if member.status == "erased":
        return head
    return head | {
        "phone": member.phone,
        "name": member.name,
        "birthday": member.birthday.isoformat() if member.birthday else None,
        "language": member.language,
        "consent_marketing": member.consent_marketing,
        "consent_version": member.consent_version,
        "consent_at": _iso(member.consent_at),
        "cards": [{"uid": card.uid, "status": card.status} for card in cards],
    }


def _iso(moment: datetime | None) -> str | None:
    return to_timestamp(moment) if moment is not None else None
