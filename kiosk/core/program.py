"""The loyalty program's rules as pure functions: points for a purchase, tiers, rewards, birthdays.

Nothing here touches the database; the service feeds in what it read and writes what
these functions decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import jdatetime

from kiosk.core import offers

if TYPE_CHECKING:
    from kiosk.config import ProgramConfig, RewardConfig, TierConfig
    from kiosk.config.schema import OfferConfig


@dataclass(frozen=True)
class QuoteLine:
    """One reason in a quote: a message key, the points it adds (may be 0) and its values."""

    code: str
    points: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PointsRule:
    """What the program says a purchase earns, before the per-member limits."""

    points: int
    lines: tuple[QuoteLine, ...]


def points_for_purchase(
    program: ProgramConfig,
    amount: int,
    tier: TierConfig,
    *,
    at: datetime | None = None,
    branch: str = "",
    language: str = "fa",
) -> PointsRule:
    """Points a purchase of `amount` rial earns in `tier`, with reasons, capped by the limits.

    With `at` (the shop-local moment) and the `branch`, the program's offers that apply
    raise it (kiosk/core/offers.py): one line each, named in `language`, before the cap.
    """
    lines: list[QuoteLine] = []
    if program.mode == "stamps":
        minimum = program.stamps.min_purchase
        if amount < minimum:
            return PointsRule(0, (QuoteLine("below_minimum", 0, {"minimum": minimum}),))
        stamps = program.stamps.stamps_per_visit
        return PointsRule(stamps, (QuoteLine("stamp", stamps, {"stamps": stamps}),))

    if amount < program.min_purchase:
        return PointsRule(0, (QuoteLine("below_minimum", 0, {"minimum": program.min_purchase}),))
    base = (amount // program.per_amount) * program.points
    lines.append(
        QuoteLine("base", base, {"points": program.points, "per_amount": program.per_amount})
    )
    total = base
    if tier.multiplier != 1:
        total = int((Decimal(base) * tier.multiplier).to_integral_value(rounding=ROUND_FLOOR))
        lines.append(
            QuoteLine(
                "tier_multiplier", total - base, {"tier": tier.id, "multiplier": tier.multiplier}
            )
        )
    if at is not None and program.offers:
        found = offers.combine(offers.applying(program.offers, at, branch, tier.id, amount))
        if found.multiplied_by is not None:
            # base x tier x offer, rounded down once: what the hub bounds (hub/ledger/rules.py)
            raised = Decimal(base) * tier.multiplier * found.multiplier
            offered = int(raised.to_integral_value(rounding=ROUND_FLOOR))
            lines.append(_offer_line(found.multiplied_by, offered - total, language))
            total = offered
        for offer in found.bonuses:
            lines.append(_offer_line(offer, offer.bonus, language))
            total += offer.bonus
    cap = program.limits.max_points_per_purchase
    if cap and total > cap:
        lines.append(QuoteLine("capped", cap - total, {"cap": cap}))
        total = cap
    return PointsRule(total, tuple(lines))


def _offer_line(offer: OfferConfig, points: int, language: str) -> QuoteLine:
    params = {
        "offer": offer.id,
        "name": offers.name_in(offer, language),
        "multiplier": offer.multiplier,
        "bonus": offer.bonus,
    }
    return QuoteLine("offer", points, params)


def tier_for(program: ProgramConfig, earned_in_window: int) -> TierConfig:
    """The highest tier whose threshold the points earned in the window reach."""
    chosen = program.tiers[0]
    for tier in program.tiers:
        if earned_in_window >= tier.threshold:
            chosen = tier
    return chosen


def tier_by_id(program: ProgramConfig, tier_id: str) -> TierConfig:
    """The tier with this id; the lowest tier if the program no longer has it."""
    for tier in program.tiers:
        if tier.id == tier_id:
            return tier
    return program.tiers[0]


def tier_rank(program: ProgramConfig, tier: TierConfig) -> int:
    """Position of the tier in the program, 0 for the lowest."""
    return next(i for i, t in enumerate(program.tiers) if t.id == tier.id)


def next_tier(program: ProgramConfig, tier: TierConfig) -> TierConfig | None:
    """The tier above, or None at the top."""
    rank = tier_rank(program, tier)
    return program.tiers[rank + 1] if rank + 1 < len(program.tiers) else None


def reward_is_active(reward: RewardConfig, today: date) -> bool:
    """Whether the reward can be redeemed on this (shop-local) day."""
    if reward.active_from is not None and today < reward.active_from:
        return False
    return not (reward.active_until is not None and today > reward.active_until)


def find_reward(program: ProgramConfig, reward_id: str) -> RewardConfig | None:
    """The reward with this id, or None."""
    return next((r for r in program.rewards if r.id == reward_id), None)


def lot_expiry(program: ProgramConfig, earned_at: datetime) -> datetime | None:
    """When points earned now expire under today's policy (fixed into the lot for good)."""
    if not program.expiry.enabled:
        return None
    return earned_at + timedelta(days=program.expiry.days)


def birthday_occurrence(
    birthday: date, today: date, calendar: str, window_days: int, before_days: int = 0
) -> date | None:
    """The birthday's date whose bonus window holds `today`, else None.

    The window opens `before_days` before the birthday and lasts to `window_days - 1`
    after it (docs/program.md, "Birthday window"). In the Jalali calendar the birthday
    comes round on the same Jalali day and month; 30 Esfand in a common year falls back to
    29 Esfand, 29 February to 28 February. Last, this and next year's occurrences are
    checked, so a window across Nowruz or 1 January works.
    """
    for occurrence in _occurrences(birthday, today, calendar):
        if (
            occurrence - timedelta(days=before_days)
            <= today
            < occurrence + timedelta(days=window_days)
        ):
            return occurrence
    return None


def anniversary_occurrence(
    joined: date, today: date, calendar: str, window_days: int
) -> date | None:
    """The anniversary of joining whose window (`window_days` from it) holds `today`, else
    None; the joining day itself is no anniversary. Dates come round as birthdays do."""
    for occurrence in _occurrences(joined, today, calendar):
        if joined < occurrence <= today < occurrence + timedelta(days=window_days):
            return occurrence
    return None


def _occurrences(birthday: date, today: date, calendar: str) -> list[date]:
    if calendar == "jalali":
        born = jdatetime.date.fromgregorian(date=birthday)
        year = jdatetime.date.fromgregorian(date=today).year
        found = []
        for y in (year + 1, year, year - 1):
            day = born.day
            while True:
                try:
                    found.append(jdatetime.date(y, born.month, day).togregorian())
                    break
                except ValueError:
                    day -= 1
        return found
    found = []
    for y in (today.year + 1, today.year, today.year - 1):
        day = birthday.day
        while True:
            try:
                found.append(date(y, birthday.month, day))
                break
            except ValueError:
                day -= 1
    return found
