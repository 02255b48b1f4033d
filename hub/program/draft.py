"""The program's edit form as a model: typed values in, a publishable program (or reasons) out.

The panel's form posts flat fields (`points`, `tier-0-threshold`, `reward-1-name_fa`...);
`read_draft` checks each one and says what is wrong with it in Persian and English, then
builds the program's data, which `hub.program.rules.program_problem` (the check every
publication passes) must accept too. Money is typed in the chain's display unit (Toman or
Rial) and kept in Rial; a date is typed Jalali or Gregorian and kept Gregorian. Plain code
rather than Django formsets: a program is one signed JSON document with nested lists whose
rules (ascending thresholds, one id each) span rows, and the same model serves the preview
and the tests without a request or a database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

import jdatetime

from hub.program.draft_sections import SECTION_KEYS, read_sections, section_values
from hub.program.form_fields import day as _day
from hub.program.form_fields import ident as _ident
from hub.program.form_fields import money as _money
from hub.program.form_fields import money_text as _money_text
from hub.program.form_fields import names as _names
from hub.program.form_fields import rows as _rows
from hub.program.form_fields import whole as _whole
from hub.program.rules import MODES, REWARD_KINDS, VERIFICATION, program_problem, verification_of
from hub.program.wording import Text, ascii_digits

# Rows read of each list (the form shows those there are and one empty row to add one).
MAX_TIERS = 10
MAX_REWARDS = 40
# The top-level numbers, in the form's order; those in MONEY are typed in the display unit.
NUMBERS = (
    "points",
    "per_amount",
    "enrollment_bonus",
    "birthday_bonus",
    "max_points_per_purchase",
    "max_amount",
    "max_adjust_points",
    "max_opening_balance",
    "offline_redemption_allowance",
)
MONEY = frozenset({"per_amount", "max_amount"})
LEAST = {"points": 1, "per_amount": 1, "max_amount": 1}  # the rest may be 0
TIER_FIELDS = ("id", "name_fa", "name_en", "threshold", "multiplier")
REWARD_FIELDS = ("id", "name_fa", "name_en", "cost", "kind", "value", "active_from", "active_until")
_MULTIPLIER = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")


@dataclass
class Draft:
    """A form as typed: its values, what is wrong with them (by field), the program if none."""

    values: dict[str, str]
    errors: dict[str, Text] = field(default_factory=dict)
    data: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        """Whether the draft is a program that can be previewed and published."""
        return self.data is not None and not self.errors


def values_of(data: Mapping[str, Any], unit: str, calendar: str = "gregorian") -> dict[str, str]:
    """A program's data as the form's values (money in `unit`, dates in `calendar`:
    "jalali" for a Persian page), to start editing from."""
    values = {"mode": str(data["mode"])}
    # Checkboxes: "on" when checked, as a browser posts them (absent when not).
    for name, asked in verification_of(dict(data)).items():
        values[f"verification-{name}"] = "on" if asked else ""
    for name in NUMBERS:
        if name in data:
            number = int(data[name])
            values[name] = _money_text(number, unit) if name in MONEY else f"{number:,}"
    for i, tier in enumerate(data.get("tiers") or []):
        for name in TIER_FIELDS:
            value = tier.get(name, "")
            values[f"tier-{i}-{name}"] = f"{value:,}" if name == "threshold" else str(value)
    for i, reward in enumerate(data.get("rewards") or []):
        for name in REWARD_FIELDS:
            value = reward.get(name)
            text = "" if value is None else str(value)
            if name == "value" and reward.get("kind") == "fixed_discount":
                text = _money_text(int(value or 0), unit)
            elif name == "cost":
                text = f"{int(value or 0):,}"
            elif name in ("active_from", "active_until") and text and calendar == "jalali":
                text = jdatetime.date.fromgregorian(date=date.fromisoformat(text)).strftime(
                    "%Y/%m/%d"
                )
            values[f"reward-{i}-{name}"] = text
    return values | section_values(data, unit, calendar)


# What the form edits; the rest of a program (the anniversary and birthday windows, ...)
# is carried from the program in force unchanged, never dropped by an edit of the form.
FORM_KEYS = frozenset(
    {"version", "mode", "verification", "tiers", "rewards", *NUMBERS, *SECTION_KEYS}
)


def read_draft(
    posted: Mapping[str, str], unit: str, kept: Mapping[str, Any] | None = None
) -> Draft:
    """Check a posted form; the program's data when every field is right, with what the
    form does not edit taken from `kept` (the program in force)."""
    values = {k: str(v) for k, v in posted.items() if isinstance(k, str)}
    draft = Draft(values)
    errors = draft.errors
    data: dict[str, Any] = {k: v for k, v in (kept or {}).items() if k not in FORM_KEYS}
    mode = values.get("mode", "")
    if mode not in MODES:
        errors["mode"] = Text("نوع باشگاه را انتخاب کنید.", "Choose the kind of club.")
    data["mode"] = mode
    for name in NUMBERS:
        if name in MONEY:
            number = _money(values, name, unit, LEAST.get(name, 0), errors)
        else:
            number = _whole(values, name, LEAST.get(name, 0), errors)
        data[name] = number
    data["verification"] = {name: bool(values.get(f"verification-{name}")) for name in VERIFICATION}
    data["tiers"] = _tiers(values, errors)
    data["rewards"] = _rewards(values, unit, errors)
    tier_ids = {str(t["id"]) for t in data["tiers"]}
    data |= read_sections(values, unit, tier_ids, kept or {}, errors)
    if errors:
        return draft
    problem = program_problem(data)
    if problem is not None:  # a rule this form does not check itself: said as the hub says it
        errors[""] = Text(f"برنامه پذیرفته نیست: {problem}", f"Not a program: {problem}")
        return draft
    draft.data = data
    return draft


def _tiers(values: Mapping[str, str], errors: dict[str, Text]) -> list[dict[str, Any]]:
    tiers: list[dict[str, Any]] = []
    seen: set[str] = set()
    rows = _rows(values, "tier", TIER_FIELDS, MAX_TIERS)
    if not rows:
        errors["tiers"] = Text("دست‌کم یک سطح لازم است.", "A program needs at least one tier.")
        return tiers
    for i in rows:
        prefix = f"tier-{i}"
        tier: dict[str, Any] = {"id": _ident(values, f"{prefix}-id", seen, errors)}
        tier |= _names(values, prefix, errors)
        tier["threshold"] = _whole(values, f"{prefix}-threshold", 0, errors)
        multiplier = ascii_digits(values.get(f"{prefix}-multiplier", "")).replace("٫", ".")
        try:
            good = bool(_MULTIPLIER.fullmatch(multiplier)) and Decimal(multiplier) > 0
        except InvalidOperation:
            good = False
        if not good:
            errors[f"{prefix}-multiplier"] = Text(
                "ضریب عددی بزرگ‌تر از صفر است، مانند 1.25.",
                "The multiplier is a number above 0, like 1.25.",
            )
        tier["multiplier"] = multiplier
        tiers.append(tier)
    thresholds = [t["threshold"] for t in tiers]
    if None not in thresholds:
        if thresholds[0] != 0:
            errors[f"tier-{rows[0]}-threshold"] = Text(
                "آستانهٔ نخستین سطح صفر است: هر عضو در سطحی است.",
                "The first tier's threshold is 0: every member is in a tier.",
            )
        for i, (low, high) in zip(rows[1:], pairwise(thresholds), strict=True):
            if high <= low:
                errors[f"tier-{i}-threshold"] = Text(
                    "آستانهٔ هر سطح از سطح پیش از آن بیشتر است.",
                    "Each tier's threshold is above the one before it.",
                )
    return tiers


def _rewards(values: Mapping[str, str], unit: str, errors: dict[str, Text]) -> list[dict[str, Any]]:
    rewards: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in _rows(values, "reward", REWARD_FIELDS, MAX_REWARDS):
        prefix = f"reward-{i}"
        reward: dict[str, Any] = {"id": _ident(values, f"{prefix}-id", seen, errors)}
        reward |= _names(values, prefix, errors)
        reward["cost"] = _whole(values, f"{prefix}-cost", 1, errors)
        kind = values.get(f"{prefix}-kind", "")
        if kind not in REWARD_KINDS:
            errors[f"{prefix}-kind"] = Text(
                "نوع جایزه را انتخاب کنید.", "Choose the reward's kind."
            )
        reward["kind"] = kind
        if kind == "fixed_discount":
            reward["value"] = _money(values, f"{prefix}-value", unit, 1, errors)
        elif kind == "percent_discount":
            value = _whole(values, f"{prefix}-value", 1, errors)
            if value is not None and value > 100:
                errors[f"{prefix}-value"] = Text(
                    "درصد تخفیف از ۱ تا ۱۰۰ است.", "A percentage is from 1 to 100."
                )
            reward["value"] = value
        else:
            reward["value"] = 0
        start = _day(values, f"{prefix}-active_from", errors)
        until = _day(values, f"{prefix}-active_until", errors)
        if start and until and until < start:
            errors[f"{prefix}-active_until"] = Text(
                "پایان پیش از آغاز است.", "The end comes before the start."
            )
        reward["active_from"], reward["active_until"] = start, until
        rewards.append(reward)
    return rewards
