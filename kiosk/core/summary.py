"""The member summary a shopper sees: balance, tier progress, rewards, expiring points, visits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from kiosk.core.clock import to_iso
from kiosk.core.program import next_tier, reward_is_active
from kiosk.core.service import LoyaltyService
from kiosk.text.phone import mask_phone

EXPIRING_SOON_DAYS = 30
LAST_VISITS = 5


@dataclass(frozen=True)
class RewardView:
    """A reward from the catalogue, as this member sees it."""

    reward_id: str
    name_fa: str
    name_en: str
    cost: int
    kind: str
    value: int
    affordable: bool


@dataclass(frozen=True)
class Visit:
    """A past purchase."""

    at: str
    amount: int | None
    points: int
    voided: bool


@dataclass(frozen=True)
class MemberSummary:
    """Everything the member screen and `kiosk member show` need about one member."""

    member_id: str
    status: str
    balance: int
    tier: str
    tier_name_fa: str
    tier_name_en: str
    tier_until: str | None
    earned_in_window: int
    next_tier: str | None
    points_to_next_tier: int | None
    next_reward: str | None
    points_to_next_reward: int | None
    expiring_points: int
    expiring_first_at: str | None
    phone_masked: str | None
    name: str | None
    birthday: str | None
    cards: int
    consent_marketing: bool
    consent_version: str | None
    mode: str
    can_redeem: bool
    rewards: list[RewardView] = field(default_factory=list)
    last_visits: list[Visit] = field(default_factory=list)


def member_summary(service: LoyaltyService, member_id: str) -> MemberSummary:
    """Summarise one member; every figure comes from an index, never a scan of history."""
    now = service.clock()
    member = service.member(member_id)
    program = service.program
    tier = service.effective_tier(member, now)
    window_start = now - timedelta(days=program.tier_window_days)
    earned = service.history.earned_since(member_id, to_iso(window_start))
    above = next_tier(program, tier)
    today = service.local_today(now)
    balance = service.effective_balance(member_id)
    rewards = [
        RewardView(r.id, r.name_fa, r.name_en, r.cost, r.kind, r.value, balance >= r.cost)
        for r in sorted(program.rewards, key=lambda r: r.cost)
        if reward_is_active(r, today)
    ]
    out_of_reach = [r for r in rewards if not r.affordable]
    expiring, first = service.history.expiring(
        member_id, to_iso(now + timedelta(days=EXPIRING_SOON_DAYS))
    )
    visits = [
        Visit(e.created_at, e.amount, e.points, service.history.is_reversed(e.entry_id))
        for e in service.history.recent(member_id, kinds=("earn",), limit=LAST_VISITS)
    ]
    person = member.person
    return MemberSummary(
        member_id=member_id,
        status=member.status,
        balance=balance,
        tier=tier.id,
        tier_name_fa=tier.name_fa,
        tier_name_en=tier.name_en,
        tier_until=member.tier_until if member.tier == tier.id else None,
        earned_in_window=earned,
        next_tier=above.id if above else None,
        points_to_next_tier=max(0, above.threshold - earned) if above else None,
        next_reward=out_of_reach[0].reward_id if out_of_reach else None,
        points_to_next_reward=out_of_reach[0].cost - balance if out_of_reach else None,
        expiring_points=expiring,
        expiring_first_at=first,
        phone_masked=mask_phone(person.phone) if person else None,
        name=person.name if person else None,
        birthday=person.birthday.isoformat() if person and person.birthday else None,
        cards=len(service.members.cards_of(member_id)),
        consent_marketing=person.consent_marketing if person else False,
        consent_version=person.consent_version if person else None,
        mode=program.mode,
        can_redeem=balance > 0 and member.status == "active",
        rewards=rewards,
        last_visits=visits,
    )
