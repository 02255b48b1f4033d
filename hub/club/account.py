"""What the phone page shows a signed-in member and what it lets them change.

Everything is read by the session's own member id (never an id from the request), so no
page or form can reach another member's data. Their ledger is their own and their merged
aliases' (hub/members/records.py `family`), as the panel's member page counts it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction

from hub.club.texts import CONSENT_LINES
from hub.feed import feed
from hub.integration import events
from hub.ledger.models import Balance, Entry
from hub.members import operations, records
from hub.members.models import Member
from hub.members.search import OWNER
from hub.messaging.reports import opt_out
from hub.program.publish import current

HISTORY = 20  # the last entries shown


@dataclass(frozen=True)
class Line:
    """One entry of the member's history."""

    at: datetime | None
    kind: str
    points: int


@dataclass(frozen=True)
class Reward:
    """A reward of the program in force, and whether the balance pays for it."""

    reward_id: str
    name: str
    cost: int
    affordable: bool


@dataclass(frozen=True)
class Summary:
    """The member's page."""

    member_id: str
    name: str
    phone: str
    balance: int
    history: list[Line]
    rewards: list[Reward]
    consent: bool
    consent_version: str
    consent_at: datetime | None


def consent_version() -> str:
    """The version of the consent text this page shows: a digest of it in both languages,
    so that the version kept with a member names the words they agreed to."""
    digest = hashlib.sha256()
    for line in CONSENT_LINES:
        digest.update(line.fa.encode())
        digest.update(line.en.encode())
    return f"club-{digest.hexdigest()[:12]}"


def summary(member_id: str, language: str, today: date) -> Summary | None:
    """The member's page, or None if they are gone (erased)."""
    member = Member.objects.filter(pk=member_id, status="active").first()
    if member is None:
        return None
    ids = sorted(records.family([member.member_id]))
    found = Balance.objects.filter(member_id=member.member_id).values_list("balance", flat=True)
    balance = int(found[0]) if found else 0
    entries = (
        Entry.objects.filter(member_id__in=ids, status="stored")
        .order_by("-created_at", "-id")
        .values_list("created_at", "kind", "points")[:HISTORY]
    )
    return Summary(
        member_id=member.member_id,
        name=member.name or "",
        phone=member.phone or "",
        balance=balance,
        history=[Line(at, kind or "", int(points)) for at, kind, points in entries],
        rewards=_rewards(balance, language, today),
        consent=member.consent_marketing,
        consent_version=member.consent_version or "",
        consent_at=member.consent_at,
    )


def _rewards(balance: int, language: str, today: date) -> list[Reward]:
    program = current()
    if program is None:
        return []
    shown = []
    for item in program.data.get("rewards", []):
        if not _in_force(item, today):
            continue
        name = str(item.get("name_fa" if language == "fa" else "name_en") or item["id"])
        cost = int(item["cost"])
        shown.append(Reward(str(item["id"]), name, cost, balance >= cost))
    return sorted(shown, key=lambda r: (r.cost, r.reward_id))


def _in_force(item: dict[str, Any], today: date) -> bool:
    start, end = str(item.get("active_from") or ""), str(item.get("active_until") or "")
    return (not start or date.fromisoformat(start) <= today) and (
        not end or today <= date.fromisoformat(end)
    )


def set_consent(member_id: str, wanted: bool, now: datetime) -> str:
    """The member's own choice of marketing, recorded with this page's text version.

    Off is the hub's opt-out (hub/messaging/reports.py `opt_out`, via "club"): kept by
    phone, queued marketing cancelled, the record in the feed for the kiosks and
    `member.updated` for the CRM. On is the member's record with consent and this page's
    version, told to the kiosks and the CRM the same way. Returns the version recorded.
    """
    version = consent_version()
    with transaction.atomic():
        was = Member.objects.select_for_update().get(pk=member_id, status="active")
        if not wanted:
            if was.phone:
                opt_out(was.phone, "club", now)
            Member.objects.filter(pk=member_id, consent_marketing=True).update(
                consent_marketing=False, consent_at=now, updated_at=now
            )
            return version
        Member.objects.filter(pk=member_id).update(
            consent_marketing=True,
            consent_version=version,
            consent_at=now,
            updated_at=now,
            received_at=now,
            pushed_by=None,
        )
        member = Member.objects.get(pk=member_id)
        record = records.record_of(member, member.cards.order_by("uid"))
        feed.append([("member", record)])
        events.emit(events.MemberWritten(record, None, was))
    return version


def erase(member_id: str) -> list[str]:
    """Erase the person at once, as the panel's owner would (hub/members/operations.py
    `erase`): the ids erased."""
    return operations.erase(member_id, OWNER).ids
