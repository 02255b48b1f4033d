"""A member's record as the panel shows it: person, balance, tier, cards, consent, history.

A member is the viewer's to see when they use one of the viewer's branches
(hub_branch_member); another branch's member is `NotYours`, exactly as an unknown id is, so
a manager cannot learn whether an id exists elsewhere. The person (phone, name, birthday,
card uids) comes masked unless asked for by someone who may see it (`reveal`); the caller
audits that view. The history is every entry counted in the balance (the member's and
their merged aliases'), from every branch, newest first, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection

from hub.devices.models import Branch, Device
from hub.errors import HubError
from hub.ledger.adjustments import HUB_SOURCE
from hub.ledger.holds import held_points
from hub.ledger.models import Balance, Entry
from hub.members import records
from hub.members.models import BranchMember, Card, Member
from hub.members.phones import mask_phone
from hub.members.search import Viewer, mask_name
from hub.program.publish import current

PER_PAGE = 50
# The kiosk's `program.tier_window_days` as shipped; the hub's program does not carry it.
TIER_WINDOW = timedelta(days=365)
_ENTRIES = Entry._meta.db_table
_DEVICES = Device._meta.db_table
_BRANCHES = Branch._meta.db_table
_BRANCH_MEMBERS = BranchMember._meta.db_table
_BALANCES = Balance._meta.db_table


class NotYours(HubError):
    """No such member, or one the viewer may not see (the same answer for both)."""

    def __init__(self, member_id: str) -> None:
        super().__init__(f"no member {member_id!r} that you may see")


@dataclass(frozen=True)
class CardView:
    """A card and its state (the uid masked unless revealed)."""

    uid: str
    status: str


@dataclass(frozen=True)
class Profile:
    """Everything the member's page shows but the history."""

    member_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    phone: str
    name: str
    birthday: date | None
    language: str | None
    consent_marketing: bool
    consent_version: str | None
    consent_at: datetime | None
    balance: int
    held: int
    tier: str | None
    cards: list[CardView]
    aliases: list[str]
    branches: list[str]
    branch_ids: list[int]
    revealed: bool


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of the member's history, with where it was made."""

    entry_id: str
    member_id: str
    kind: str
    points: int
    amount: int | None
    created_at: datetime | None
    branch: str  # the device's branch, or "hub" for the hub's own entries
    device_id: str
    reason: str | None
    reward_id: str | None


@dataclass(frozen=True)
class History:
    """A page of the member's history."""

    entries: list[HistoryEntry]
    page: int
    pages: int
    total: int = field(default=0)


def visible(member_id: str, viewer: Viewer) -> Member:
    """The member (their survivor, if merged) if the viewer may see them; else NotYours."""
    member = Member.objects.filter(pk=member_id).first()
    if member is None:
        raise NotYours(member_id)
    if member.merged_into_id is not None:
        member = Member.objects.get(pk=member.merged_into_id)
    if viewer.branch_ids is not None:
        mine = BranchMember.objects.filter(
            member_id=member.member_id, branch_id__in=sorted(viewer.branch_ids)
        ).exists()
        if not mine:
            raise NotYours(member_id)
    return member


def profile(member_id: str, viewer: Viewer, *, reveal: bool = False) -> Profile:
    """The member's record for `viewer`; the person unmasked only if `reveal` and allowed."""
    member = visible(member_id, viewer)
    shown = reveal and viewer.sees_personal
    survivor = member.member_id
    balance = Balance.objects.filter(member_id=survivor).values_list("balance", flat=True)
    branches = list(
        Branch.objects.filter(
            id__in=BranchMember.objects.filter(member_id=survivor).values("branch_id")
        ).values_list("id", "name")
    )
    cards = Card.objects.filter(member_id=survivor).order_by("id")
    return Profile(
        member_id=survivor,
        status=member.status,
        created_at=member.created_at,
        updated_at=member.updated_at,
        phone=(member.phone or "") if shown else mask_phone(member.phone),
        name=(member.name or "") if shown else mask_name(member.name),
        birthday=member.birthday if shown else None,
        language=member.language,
        consent_marketing=member.consent_marketing,
        consent_version=member.consent_version,
        consent_at=member.consent_at,
        balance=int(balance[0]) if balance else 0,
        held=held_points([survivor]).get(survivor, 0),
        tier=_tier(survivor),
        cards=[CardView(c.uid if shown else mask_card(c.uid), c.status) for c in cards],
        aliases=sorted(Member.objects.filter(merged_into=survivor).values_list("pk", flat=True)),
        branches=[name for _, name in branches],
        branch_ids=[pk for pk, _ in branches],
        revealed=shown,
    )


def history(member_id: str, viewer: Viewer, page: int = 1, per_page: int = PER_PAGE) -> History:
    """A page of every entry counted in the member's balance, newest first."""
    member = visible(member_id, viewer)
    ids = sorted(records.family([member.member_id]))
    page = max(1, page)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {_ENTRIES} WHERE member_id = ANY(%s) AND status = 'stored'",
            [ids],
        )
        total = int(cursor.fetchone()[0])
        cursor.execute(
            f"""
            SELECT e.entry_id, e.member_id, e.kind, e.points, e.amount, e.created_at,
                   COALESCE(b.name, %s), COALESCE(d.device_id, %s), e.reason, e.reward_id
            FROM {_ENTRIES} e
            LEFT JOIN {_DEVICES} d ON d.id = e.device_id
            LEFT JOIN {_BRANCHES} b ON b.id = d.branch_id
            WHERE e.member_id = ANY(%s) AND e.status = 'stored'
            ORDER BY e.created_at DESC, e.id DESC
            LIMIT %s OFFSET %s
            """,
            [HUB_SOURCE, HUB_SOURCE, ids, per_page, (page - 1) * per_page],
        )
        rows = cursor.fetchall()
    entries = [
        HistoryEntry(
            entry_id=str(r[0]),
            member_id=str(r[1]),
            kind=str(r[2]),
            points=int(r[3]),
            amount=r[4],
            created_at=r[5],
            branch=str(r[6]),
            device_id=str(r[7]),
            reason=r[8],
            reward_id=r[9],
        )
        for r in rows
    ]
    return History(entries, page, max(1, -(-total // per_page)), total)


def _tier(member_id: str) -> str | None:
    """The tier the program in force gives the points earned in the window (the hub's
    reckoning: each kiosk keeps its own, with its hold after a demotion)."""
    program = current()
    if program is None:
        return None
    ids = sorted(records.family([member_id]))
    with connection.cursor() as cursor:
        # Purchases' points, less the reversals that took some back (a reversal of a
        # redemption gives points back: not earned).
        cursor.execute(
            f"SELECT COALESCE(SUM(points), 0) FROM {_ENTRIES} WHERE member_id = ANY(%s) "
            "AND status = 'stored' AND created_at > now() - make_interval(days => %s) "
            "AND (kind = 'earn' OR (kind = 'reversal' AND points < 0))",
            [ids, TIER_WINDOW.days],
        )
        earned = int(cursor.fetchone()[0])
    tiers: list[dict[str, Any]] = list(program.data.get("tiers") or [])
    chosen = None
    for tier in sorted(tiers, key=lambda t: int(t["threshold"])):
        if earned >= int(tier["threshold"]):
            chosen = str(tier["id"])
    return chosen


def mask_card(uid: str) -> str:
    """A card uid with all but its last four digits hidden."""
    return "•" * max(0, len(uid) - 4) + uid[-4:]
