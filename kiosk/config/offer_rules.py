"""What makes a limited-time offer valid (docs/program.md, "Limited-time offers").

The config's rules (kiosk/config/rules.py) and a pulled program's reader
(kiosk/core/program_data.py) both check an offer with `offer_problems`, so an offer the
hub sends is held to the rules a configured one is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from kiosk.config.schema import OfferConfig

# date.weekday()'s order: Monday is 0. The Iranian week starts on Saturday, but a weekday
# is named, never numbered, so the order does not matter to a chain.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_MULTIPLIER = Decimal(10)


def minute_of_day(text: str) -> int:
    """Minutes since midnight of an "HH:MM" time ("24:00" is 1440); ValueError if not one."""
    found = _TIME.fullmatch(text)
    if found is None:
        raise ValueError(f'{text!r} is not a time written "HH:MM"')
    minutes = int(found[1]) * 60 + int(found[2])
    if minutes > 24 * 60:
        raise ValueError(f"{text!r} is after 24:00")
    return minutes


def offer_problems(offer: OfferConfig, tier_ids: set[str]) -> Iterator[tuple[str, str]]:
    """Each (key, problem) of an offer; nothing when it is valid."""
    if not _ID.fullmatch(offer.id):
        yield "id", "must be 1 to 64 letters, digits, '.', '_' or '-'"
    if not offer.multiplier.is_finite() or not 1 <= offer.multiplier <= MAX_MULTIPLIER:
        yield "multiplier", f'must be a decimal from "1" to "{MAX_MULTIPLIER}"'
    if offer.bonus < 0:
        yield "bonus", f"must be at least 0, not {offer.bonus}"
    if offer.multiplier == 1 and offer.bonus == 0:
        yield "multiplier", 'gives nothing: set a multiplier above "1" or a bonus'
    if offer.min_amount < 0:
        yield "min_amount", f"must be at least 0, not {offer.min_amount}"
    if offer.starts and offer.ends and offer.starts > offer.ends:
        yield "ends", "ends before it starts"
    for day in offer.weekdays:
        if day not in WEEKDAYS:
            yield "weekdays", f"{day!r} is not one of {', '.join(WEEKDAYS)}"
    times = []
    for key in ("from_time", "until_time"):
        try:
            times.append(minute_of_day(getattr(offer, key)))
        except ValueError as error:
            yield key, str(error)
    if len(times) == 2 and times[0] >= times[1]:
        yield "until_time", "must be after from_time (a window across midnight is two offers)"
    for tier in offer.tiers:
        if tier not in tier_ids:
            yield "tiers", f"{tier!r} is not a tier of the program"
