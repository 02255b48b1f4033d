"""Limited-time offers as pure functions: which run now, which apply to a purchase, how they add up.

docs/program.md, "Limited-time offers". Every moment given here is the shop's local time
(an aware datetime in `shop.timezone`): dates, weekdays and hours are the shop's.

How offers combine (one rule): of those that apply, the highest multiplier applies (one
only) on top of the tier's, the fixed bonuses of all of them add, then the per-purchase
cap caps the total (kiosk/core/program.py `points_for_purchase`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from kiosk.config.offer_rules import WEEKDAYS, minute_of_day
from kiosk.config.schema import OfferConfig


def runs_at(offer: OfferConfig, moment: datetime, branch: str) -> bool:
    """Whether the offer runs at this shop-local moment at the branch (`shop.name`)."""
    day = moment.date()
    if offer.starts is not None and day < offer.starts:
        return False
    if offer.ends is not None and day > offer.ends:
        return False
    if offer.weekdays and WEEKDAYS[day.weekday()] not in offer.weekdays:
        return False
    if offer.branches and branch not in offer.branches:
        return False
    minute = moment.hour * 60 + moment.minute
    return minute_of_day(offer.from_time) <= minute < minute_of_day(offer.until_time)


def applying(
    offers: Iterable[OfferConfig], moment: datetime, branch: str, tier: str, amount: int
) -> list[OfferConfig]:
    """The offers that apply to a purchase of `amount` rial by a member of `tier`."""
    return [
        o
        for o in offers
        if runs_at(o, moment, branch)
        and (not o.tiers or tier in o.tiers)
        and amount >= o.min_amount
    ]


@dataclass(frozen=True)
class Combined:
    """What the applying offers add: the one multiplier that applies and the bonuses."""

    multiplier: Decimal
    multiplied_by: OfferConfig | None
    bonuses: tuple[OfferConfig, ...]


def combine(offers: Sequence[OfferConfig]) -> Combined:
    """The highest multiplier (the first offer listed on a tie) and every fixed bonus."""
    best: OfferConfig | None = None
    for offer in offers:
        if offer.multiplier > 1 and (best is None or offer.multiplier > best.multiplier):
            best = offer
    return Combined(
        multiplier=best.multiplier if best else Decimal(1),
        multiplied_by=best,
        bonuses=tuple(o for o in offers if o.bonus > 0),
    )


def ends_at(offer: OfferConfig, moment: datetime) -> datetime:
    """When the offer running at `moment` stops today (its until_time, shop-local)."""
    start = datetime.combine(moment.date(), time(0), tzinfo=moment.tzinfo)
    return start + timedelta(minutes=minute_of_day(offer.until_time))


def running_now(offers: Iterable[OfferConfig], moment: datetime, branch: str) -> OfferConfig | None:
    """The offer to announce at this branch now: of those running, the one ending first."""
    running = [o for o in offers if runs_at(o, moment, branch)]
    return min(running, key=lambda o: minute_of_day(o.until_time), default=None)


def name_in(offer: OfferConfig, language: str) -> str:
    """The offer's name in `language` ("fa" or "en"), else the other's, else its id."""
    first, second = (
        (offer.name_en, offer.name_fa) if language == "en" else (offer.name_fa, offer.name_en)
    )
    return first.strip() or second.strip() or offer.id
