"""The program form's limited-time offers (docs/program.md, "Limited-time offers"): typed
rows in, the program's `offers` list (or a reason beside each wrong field) out.

An offer is a row of fields `offer-<i>-<name>`; its weekdays are checkboxes
`offer-<i>-weekday-<sat..fri>`, its branches and tiers checkboxes `offer-<i>-branch-<j>`
and `offer-<i>-tier-<j>` whose value is the branch's name or the tier's id. Every field
is checked here with a message in both languages; `hub.program.offers.offers_problem`, the
check every publication passes, judges the list afterwards (hub/program/draft_sections.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import jdatetime

from hub.program.form_fields import day, ident, money, money_text, names, rows, whole
from hub.program.offers import MAX_MULTIPLIER
from hub.program.wording import Text, ascii_digits

MAX_OFFERS = 20
# The form's order of the week: the Iranian week, Saturday first (the program's names).
WEEK = ("sat", "sun", "mon", "tue", "wed", "thu", "fri")
# The fields typed in a row (the checkboxes apart); a row with any of them is an offer.
OFFER_FIELDS = (
    "id",
    "name_fa",
    "name_en",
    "multiplier",
    "bonus",
    "starts",
    "ends",
    "from_time",
    "until_time",
    "min_amount",
)
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_MULTIPLIER = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")


def offer_values(
    offers: list[dict[str, Any]], unit: str, calendar: str = "gregorian"
) -> dict[str, str]:
    """A program's offers as the form's values (money in `unit`, dates in `calendar`)."""
    values: dict[str, str] = {}
    for i, offer in enumerate(offers):
        key = f"offer-{i}"
        for name in ("id", "name_fa", "name_en"):
            values[f"{key}-{name}"] = str(offer.get(name, ""))
        values[f"{key}-multiplier"] = str(offer.get("multiplier", "1"))
        values[f"{key}-bonus"] = f"{int(offer.get('bonus', 0)):,}"
        for name in ("starts", "ends"):
            text = str(offer.get(name) or "")
            if text and calendar == "jalali":
                text = jdatetime.date.fromgregorian(date=date.fromisoformat(text)).strftime(
                    "%Y/%m/%d"
                )
            values[f"{key}-{name}"] = text
        values[f"{key}-from_time"] = str(offer.get("from_time", "00:00"))
        values[f"{key}-until_time"] = str(offer.get("until_time", "24:00"))
        values[f"{key}-min_amount"] = money_text(int(offer.get("min_amount", 0)), unit)
        for weekday in offer.get("weekdays", []):
            values[f"{key}-weekday-{weekday}"] = "on"
        for j, branch in enumerate(offer.get("branches", [])):
            values[f"{key}-branch-{j}"] = str(branch)
        for j, tier in enumerate(offer.get("tiers", [])):
            values[f"{key}-tier-{j}"] = str(tier)
    return values


def read_offers(
    values: Mapping[str, str], unit: str, tier_ids: set[str], errors: dict[str, Text]
) -> list[dict[str, Any]]:
    """The offers typed, each checked field by field (errors keyed by the field's name)."""
    offers: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in rows(values, "offer", OFFER_FIELDS, MAX_OFFERS):
        key = f"offer-{i}"
        offer: dict[str, Any] = {"id": ident(values, f"{key}-id", seen, errors)}
        offer |= names(values, key, errors)
        offer["multiplier"] = _multiplier(values, f"{key}-multiplier", errors)
        offer["bonus"] = _optional_whole(values, f"{key}-bonus", errors)
        if offer["multiplier"] == "1" and offer["bonus"] == 0:
            errors[f"{key}-multiplier"] = Text(
                "این پیشنهاد چیزی نمی‌دهد: ضریبی بالاتر از ۱ یا امتیاز هدیه بدهید.",
                "This offer gives nothing: a multiplier above 1 or a bonus.",
            )
        offer["starts"] = day(values, f"{key}-starts", errors)
        offer["ends"] = day(values, f"{key}-ends", errors)
        if offer["starts"] and offer["ends"] and offer["ends"] < offer["starts"]:
            errors[f"{key}-ends"] = Text(
                "پایان پیش از آغاز است.", "The end comes before the start."
            )
        offer["weekdays"] = [d for d in WEEK if values.get(f"{key}-weekday-{d}")]
        start = _time(values, f"{key}-from_time", "00:00", errors)
        until = _time(values, f"{key}-until_time", "24:00", errors)
        if start and until and until <= start:
            errors[f"{key}-until_time"] = Text(
                "ساعت پایان پس از ساعت آغاز است (از نیمه‌شب گذشت؟ دو پیشنهاد بسازید).",
                "It ends after it starts (across midnight: make two offers).",
            )
        offer["from_time"], offer["until_time"] = start, until
        offer["branches"] = _checked(values, f"{key}-branch-")
        offer["tiers"] = _checked(values, f"{key}-tier-")
        unknown = [t for t in offer["tiers"] if t not in tier_ids]
        if unknown:
            errors[f"{key}-tiers"] = Text(
                f"سطح «{unknown[0]}» در برنامه نیست.",
                f"The tier {unknown[0]!r} is not in the program.",
            )
        offer["min_amount"] = (
            money(values, f"{key}-min_amount", unit, 0, errors)
            if ascii_digits(values.get(f"{key}-min_amount", ""))
            else 0
        )
        offers.append(offer)
    return offers


def _multiplier(values: Mapping[str, str], key: str, errors: dict[str, Text]) -> str:
    text = ascii_digits(values.get(key, "")).replace("٫", ".") or "1"
    try:
        good = bool(_MULTIPLIER.fullmatch(text)) and 1 <= Decimal(text) <= MAX_MULTIPLIER
    except InvalidOperation:
        good = False
    if not good:
        errors[key] = Text(
            "ضریب عددی از ۱ تا ۱۰ است، مانند 2 یا 1.5.",
            "The multiplier is a number from 1 to 10, like 2 or 1.5.",
        )
        return text
    return text.rstrip("0").rstrip(".") if "." in text else str(int(text))


def _optional_whole(values: Mapping[str, str], key: str, errors: dict[str, Text]) -> int:
    if not ascii_digits(values.get(key, "")):
        return 0
    return whole(values, key, 0, errors) or 0


def _time(values: Mapping[str, str], key: str, empty: str, errors: dict[str, Text]) -> str:
    """A time of day "HH:MM" (Persian digits welcome), 24:00 the end of the day."""
    text = ascii_digits(values.get(key, "")).replace("٫", ":").replace(".", ":")
    if not text:
        return empty
    found = _TIME.fullmatch(text)
    if found is None or int(found[1]) * 60 + int(found[2]) > 24 * 60 or int(found[2]) > 59:
        errors[key] = Text(
            "ساعت را از ۰۰:۰۰ تا ۲۴:۰۰ بنویسید، مانند ۱۲:۳۰.",
            "Type a time from 00:00 to 24:00, like 12:30.",
        )
        return ""
    return f"{int(found[1]):02d}:{found[2]}"


def _checked(values: Mapping[str, str], prefix: str) -> list[str]:
    """The values of the checkboxes named `prefix<j>`, in the form's order."""
    found = []
    for key, value in values.items():
        if not (key.startswith(prefix) and key[len(prefix) :].isdigit()):
            continue
        if value.strip() and value.strip() not in found:
            found.append(value.strip())
    return found
