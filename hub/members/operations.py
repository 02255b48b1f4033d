"""What the panel does to a member: adjust points, block a card, export, erase.

Each reaches the kiosks through the change feed, in the transaction that made it: an
adjustment as the member's new `balance`, a blocked card as their `member` record (with
the card blocked; a kiosk that never knew them hears `card_blocked` when it looks the card
up), an erasure as one `erasure` change per id of the person (theirs and their merged
aliases'), which also cuts their earlier records in the feed down to "erased"
(hub/feed/feed.py). The erasure change is the durable record webhooks will be sent from.

Who may do what is the caller's to decide (the panel's roles); what is checked here is
what no caller may get around: the member is the viewer's (hub/members/profile.py
`visible`), an export or erasure needs a viewer who sees personal data, an adjustment
stays within the program's `max_adjust_points` unless `confirmed`, and never takes the
balance (less held points) below zero. Every function returns what the audit log records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from hub.devices.models import Branch
from hub.errors import HubError
from hub.feed import feed
from hub.formats import to_timestamp
from hub.integration import events
from hub.ledger import adjustments
from hub.ledger.holds import held_points
from hub.ledger.models import Balance, Entry, Hold
from hub.members import records
from hub.members.models import BranchMember, Card, Member
from hub.members.profile import NotYours, visible
from hub.members.search import Viewer
from hub.messaging.models import Message
from hub.program.publish import current
from hub.program.rules import DEFAULT_MAX_ADJUST_POINTS

MOST_REASON = 200
_MEMBERS = Member._meta.db_table
_CARDS = Card._meta.db_table
_BRANCH_MEMBERS = BranchMember._meta.db_table
_BRANCHES = Branch._meta.db_table
_CARD_UID = 32
_HOLDS = Hold._meta.db_table
_MESSAGES = Message._meta.db_table


class NotAllowed(HubError):
    """The viewer may not do this to any member (a support user exporting, say)."""


class NotEnoughPoints(HubError):
    """Taking more points than the member has available (their balance less held points)."""

    def __init__(self, available: int, asked: int) -> None:
        super().__init__(f"the member has {available:,} points to take from, not {asked:,}")
        self.available = available
        self.asked = asked


class AboveLimit(HubError):
    """An adjustment beyond the program's `max_adjust_points`, not confirmed by the owner."""

    def __init__(self, points: int, limit: int) -> None:
        super().__init__(
            f"{points:+,} points is beyond the program's limit of {limit:,} an adjustment; "
            "the owner must confirm it"
        )
        self.points = points
        self.limit = limit


def adjust_limit() -> int:
    """The program's `max_adjust_points` (its default before any program is published)."""
    program = current()
    if program is None:
        return DEFAULT_MAX_ADJUST_POINTS
    return int(program.data.get("max_adjust_points", DEFAULT_MAX_ADJUST_POINTS))


def adjust(
    member_id: str,
    points: int,
    reason: str,
    viewer: Viewer,
    *,
    actor: str,
    client_txn_id: str,
    confirmed: bool = False,
) -> adjustments.Adjusted:
    """Add (or take) points with a reason; reaches every kiosk of the member at its next pull."""
    member = visible(member_id, viewer)
    reason = " ".join(reason.split())
    if not reason:
        raise HubError("say why the points are adjusted (the reason is kept with the entry)")
    if len(reason) > MOST_REASON:
        raise HubError(f"the reason is longer than {MOST_REASON} characters")
    if points == 0:
        raise HubError("an adjustment of 0 points changes nothing")
    limit = adjust_limit()
    if abs(points) > limit and not confirmed:
        raise AboveLimit(points, limit)
    if points < 0:
        balance = Balance.objects.filter(member_id=member.member_id).values_list(
            "balance", flat=True
        )
        available = (balance[0] if balance else 0) - held_points([member.member_id]).get(
            member.member_id, 0
        )
        if available + points < 0:
            raise NotEnoughPoints(available, -points)
    with transaction.atomic():  # the entry and its points.adjusted event commit together
        made = adjustments.adjust(member.member_id, points, reason, actor, client_txn_id)
        events.emit(events.HubEntryStored(made.entry_id))  # a repeat: the same event id
    return made


@dataclass(frozen=True)
class Blocked:
    """A card blocked: whose, and whether it was active until now."""

    member_id: str
    uid: str
    was_active: bool


def block_card(uid: str, viewer: Viewer) -> Blocked:
    """Block a card of a member the viewer may see: refused at every kiosk after its pull."""
    uid = "".join(uid.split()).replace(":", "").replace("-", "").upper()
    if not 4 <= len(uid) <= _CARD_UID:
        raise HubError("a card uid is 4 to 32 hexadecimal digits")
    holders = list(
        # The active holder first ("active" sorts before "blocked").
        Card.objects.filter(uid=uid).order_by("status", "-id").values_list("member_id", "status")
    )
    for holder, _status in holders:
        try:
            member = visible(str(holder), viewer)
        except NotYours:
            continue
        with transaction.atomic():
            _lock(member.member_id)
            changed = Card.objects.filter(member_id=member.member_id, uid=uid, status="active")
            was_active = changed.update(status="blocked") > 0
            if was_active:
                feed.append([("member", _touched(member.member_id))])
        return Blocked(member.member_id, uid, was_active)
    raise HubError("no card with this uid on a member you may see")


def _lock(member_id: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_MEMBERS} WHERE member_id = %s FOR UPDATE", [member_id])


def _touched(member_id: str) -> dict[str, Any]:
    """The member's record changed at the hub now: its times moved on, as a `member` change.

    A kiosk keeps a change of its own still to push over an older record from the feed
    (kiosk/core/pulled.py `_member`); the hub's change is the newest.
    """
    Member.objects.filter(pk=member_id).update(
        updated_at=_now(), received_at=_now(), pushed_by=None
    )
    member = Member.objects.get(pk=member_id)
    return records.record_of(member, member.cards.order_by("uid"))


def _now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        moment: datetime = cursor.fetchone()[0]
    return moment


def export(member_id: str, viewer: Viewer) -> dict[str, Any]:
    """Everything the hub holds about the member (an access request), as JSON data."""
    if not viewer.sees_personal:
        raise NotAllowed("exporting a member's data needs the right to see personal data")
    member = visible(member_id, viewer)
    ids = sorted(records.family([member.member_id]))
    people = Member.objects.filter(pk__in=ids).order_by("pk")
    balance = Balance.objects.filter(member_id=member.member_id).values_list("balance", flat=True)
    entries = (
        Entry.objects.filter(member_id__in=ids, status="stored")
        .order_by("created_at", "id")
        .values_list("device__device_id", "device__branch__name", "as_pushed", "received_at")
    )
    holds = Hold.objects.filter(member_id__in=ids).order_by("created_at")
    branches = _branches(ids)
    return {
        "member_id": member.member_id,
        "exported_at": to_timestamp(_now()),
        "record": _full_record(member),
        "aliases": [_full_record(p) for p in people if p.pk != member.pk],
        "balance": int(balance[0]) if balance else 0,
        "branches": branches,
        "entries": [
            {
                "source": device_id or adjustments.HUB_SOURCE,
                "branch": branch,
                "received_at": to_timestamp(received),
                "entry": json.loads(as_pushed),
            }
            for device_id, branch, as_pushed, received in entries.iterator(1000)
        ],
        "holds": [
            {
                "client_txn_id": h.client_txn_id,
                "points": h.points,
                "reward_id": h.reward_id,
                "state": h.state,
                "created_at": to_timestamp(h.created_at),
                "expires_at": to_timestamp(h.expires_at),
            }
            for h in holds
        ],
    }


def _branches(ids: list[str]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT b.name, min(bm.since) FROM {_BRANCH_MEMBERS} bm "
            f"JOIN {_BRANCHES} b ON b.id = bm.branch_id WHERE bm.member_id = ANY(%s) "
            "GROUP BY b.name ORDER BY min(bm.since)",
            [ids],
        )
        return [{"branch": str(n), "since": to_timestamp(s)} for n, s in cursor.fetchall()]


def _full_record(member: Member) -> dict[str, Any]:
    """The member's row, every column the hub keeps, with their cards."""
    return records.record_of(member, member.cards.order_by("id")) | {
        "received_at": to_timestamp(member.received_at),
        "merged_into": member.merged_into_id,
    }


@dataclass(frozen=True)
class Erased:
    """The ids erased (the person's own and their merged aliases'), already erased or not."""

    member_id: str
    ids: list[str]


def erase(member_id: str, viewer: Viewer) -> Erased:
    """Remove the person everywhere; the anonymous ledger stays, under the same ids.

    The personal fields are nulled, the cards deleted, their active holds released, their
    SMS stripped of phone and text (one not yet sent is cancelled), the
    status `erased` for good (a kiosk's record cannot bring them back:
    hub/members/records.py), and an `erasure` change per id goes to every kiosk of their
    branches.
    """
    if not viewer.sees_personal:
        raise NotAllowed("erasing a member needs the right to see personal data")
    member = visible(member_id, viewer)
    with transaction.atomic():
        ids = sorted(records.family([member.member_id]))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT member_id FROM {_MEMBERS} WHERE member_id = ANY(%s) "
                "AND status <> 'erased' ORDER BY member_id FOR UPDATE",
                [ids],
            )
            live = [str(row[0]) for row in cursor.fetchall()]
            cursor.execute(
                f"""
                UPDATE {_MEMBERS} SET status = 'erased', phone = NULL, name = NULL,
                    birthday = NULL, language = NULL, consent_marketing = false,
                    consent_version = NULL, consent_at = NULL, updated_at = now(),
                    received_at = now(), pushed_by_id = NULL
                WHERE member_id = ANY(%s)
                """,
                [live],
            )
            cursor.execute(f"DELETE FROM {_CARDS} WHERE member_id = ANY(%s)", [ids])
            # Their points set aside for a redemption under way go back: no reward is given
            # to a person who is no longer there (a kiosk's redeem entry that still comes
            # is then judged as one made offline, hub/ledger/holds.py `confirms`).
            cursor.execute(
                f"UPDATE {_HOLDS} SET state = 'released' "
                "WHERE member_id = ANY(%s) AND state = 'active'",
                [ids],
            )
            # Their SMS: the phone and the text (which names them) go; a message not yet
            # sent is not sent. The row stays, anonymous, for the spend and the log.
            cursor.execute(
                f"UPDATE {_MESSAGES} SET phone = '', body = '', "
                "state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END, "
                "error = CASE WHEN state = 'queued' THEN 'erased' ELSE error END, "
                "finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END "
                "WHERE member_id = ANY(%s)",
                [ids],
            )
        feed.append([("erasure", {"member_id": one}) for one in live])
        events.emit(events.Erased(live))  # member.erased to the CRM; their pending events stop
    return Erased(member.member_id, live)
