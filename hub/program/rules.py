"""What a program is (docs/sync-protocol.md, "Pull", the `program` row), and its default.

The data the owner publishes: the kiosk's `[program]` numbers that the hub checks entries
against, and the tiers and rewards. The default is the kiosk's shipped configuration
(kiosk/config/defaults.toml; tests/hub/test_program.py checks that the two agree), so a
new chain's kiosks and its hub start from the same numbers.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from hub.club.setting import phone_page_problem
from hub.program.badges import badge_bonuses, badges_problem
from hub.program.offers import Offer, offers_problem, raise_at
from hub.program.referral import most_referral_bonus, referral_problem

DEFAULT_MAX_ADJUST_POINTS = 10_000
# An opening balance a kiosk imports (`kiosk member import`, an adjust with reason
# "import"): larger than a correction, so a limit of its own; above the adjust limit it is
# stored but flagged for the owner.
DEFAULT_MAX_OPENING_BALANCE = 1_000_000
# Every number a program must have, with the least value it may take.
NUMBERS = {
    "points": 1,
    "per_amount": 1,
    "max_points_per_purchase": 0,  # 0: no cap (as the kiosk reads it)
    "max_amount": 1,
    "enrollment_bonus": 0,
    "birthday_bonus": 0,
    "offline_redemption_allowance": 0,
}
OPTIONAL_NUMBERS = {"max_adjust_points": 0, "max_opening_balance": 0, "anniversary_bonus": 0}
MODES = ("points", "stamps")
REWARD_KINDS = ("fixed_discount", "percent_discount", "free_item")
# Whether the chain asks for a code sent to the phone (docs/sync-protocol.md, "Verification
# codes"): to link a card to a member's phone (on unless the owner turns it off), to
# enroll a phone. The hub refuses what a push makes without one (hub/verification/links.py)
# and the kiosks ask for it: both read this signed setting, never a kiosk's own config.
VERIFICATION = ("link_card", "enroll")
DEFAULT_VERIFICATION = {"link_card": True, "enroll": False}
# Whether kiosks ask the shopper to rate a visit after a purchase, and at most once per
# member every how many days (kiosk/core/feedback.py; docs/program.md, "Feedback"). A
# program that says nothing asks as this default does (`feedback_of`), as kiosks do.
DEFAULT_FEEDBACK = {"enabled": True, "every_days": 7}
_KEYS = {
    "version",
    "mode",
    "tiers",
    "rewards",
    "verification",
    "feedback",
    # Limited-time offers (docs/program.md), optional: hub/program/offers.py checks them.
    "offers",
    # The member's page on their phone and its QR at the kiosks (docs/club.md).
    "phone_page",
    # Referrals (docs/program.md), optional: hub/program/referral.py checks them.
    "referral",
    # Streaks and badges (docs/program.md), optional: hub/program/badges.py checks them.
    "badges",
    # The club's size on the attract screen (docs/program.md, "Social proof"): true or false.
    "show_member_count",
    *NUMBERS,
    *OPTIONAL_NUMBERS,
}
_TIER_KEYS = {"id", "name_fa", "name_en", "threshold", "multiplier"}
_REWARD_KEYS = {"id", "name_fa", "name_en", "cost", "kind", "value", "active_from", "active_until"}
_MULTIPLIER = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LARGEST = 2**53 - 1  # what a signed change may carry (sync/owner_key.py)

DEFAULT_PROGRAM: dict[str, Any] = {
    "mode": "points",
    "points": 1,
    "per_amount": 100_000,
    "max_points_per_purchase": 5_000,
    "max_amount": 100_000_000_000,
    "enrollment_bonus": 50,
    "birthday_bonus": 100,
    "offline_redemption_allowance": 500,
    "max_adjust_points": DEFAULT_MAX_ADJUST_POINTS,
    "max_opening_balance": DEFAULT_MAX_OPENING_BALANCE,
    "verification": dict(DEFAULT_VERIFICATION),
    "tiers": [
        {
            "id": "bronze",
            "name_fa": "برنزی",
            "name_en": "Bronze",
            "threshold": 0,
            "multiplier": "1",
        },
        {
            "id": "silver",
            "name_fa": "نقره‌ای",
            "name_en": "Silver",
            "threshold": 1_000,
            "multiplier": "1.25",
        },
        {
            "id": "gold",
            "name_fa": "طلایی",
            "name_en": "Gold",
            "threshold": 5_000,
            "multiplier": "1.5",
        },
    ],
    "rewards": [
        {
            "id": "coffee",
            "name_fa": "یک قهوهٔ رایگان",
            "name_en": "A free coffee",
            "cost": 200,
            "kind": "free_item",
            "value": 0,
            "active_from": "",
            "active_until": "",
        },
        {
            "id": "discount-100k",
            "name_fa": "۱۰۰ هزار تومان تخفیف",
            "name_en": "100,000 Toman off",
            "cost": 500,
            "kind": "fixed_discount",
            "value": 1_000_000,
            "active_from": "",
            "active_until": "",
        },
        {
            "id": "percent-10",
            "name_fa": "۱۰٪ تخفیف",
            "name_en": "10% off",
            "cost": 1_000,
            "kind": "percent_discount",
            "value": 10,
            "active_from": "",
            "active_until": "",
        },
    ],
}


def default_program() -> dict[str, Any]:
    """A copy of the default program's data (without a version)."""
    return copy.deepcopy(DEFAULT_PROGRAM)


def program_problem(data: object) -> str | None:
    """Why `data` is not a program the hub can publish (one line), or None."""
    if not isinstance(data, dict):
        return "a program is a JSON object"
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        return f"unknown field {unknown[0]!r} (a program has: {', '.join(sorted(_KEYS))})"
    if data.get("mode") not in MODES:
        return 'mode must be "points" or "stamps"'
    for name, least in NUMBERS.items():
        if name not in data:
            return f"{name} is missing"
        problem = _number(name, data[name], least)
        if problem:
            return problem
    for name, least in OPTIONAL_NUMBERS.items():
        if name in data:
            problem = _number(name, data[name], least)
            if problem:
                return problem
    for key, check in _SECTIONS.items():
        if key in data:
            problem = check(data[key])
            if problem:
                return problem
    problem = _tiers_problem(data.get("tiers")) or _rewards_problem(data.get("rewards"))
    if problem is None and "offers" in data:
        problem = offers_problem(data["offers"], {str(t["id"]) for t in data["tiers"]})
    return problem


def feedback_of(data: dict[str, Any] | None) -> dict[str, Any]:
    """The feedback rule of a published program: {"enabled", "every_days"}."""
    given = (data or {}).get("feedback")
    found: dict[str, Any] = dict(DEFAULT_FEEDBACK)
    if isinstance(given, dict) and _feedback_problem(given) is None:
        found |= given
    return found


def _feedback_problem(given: object) -> str | None:
    if not isinstance(given, dict):
        return 'feedback must be an object ({"enabled": true, "every_days": 7})'
    unknown = sorted(set(given) - set(DEFAULT_FEEDBACK))
    if unknown:
        return f"feedback has an unknown field {unknown[0]!r} (it has: enabled, every_days)"
    if "enabled" in given and not isinstance(given["enabled"], bool):
        return f"feedback's enabled must be true or false, not {given['enabled']!r}"
    days = given.get("every_days", 1)
    if type(days) is not int or not 1 <= days <= 3650:
        return f"feedback's every_days must be a whole number from 1 to 3650, not {days!r}"
    return None


def _verification_problem(given: object) -> str | None:
    if not isinstance(given, dict):
        return 'verification must be an object ({"link_card": true, "enroll": false})'
    unknown = sorted(set(given) - set(VERIFICATION))
    if unknown:
        return f"verification has an unknown field {unknown[0]!r} (it has: link_card, enroll)"
    for name, value in given.items():
        if not isinstance(value, bool):
            return f"verification's {name} must be true or false, not {value!r}"
    return None


def verification_of(data: dict[str, Any] | None) -> dict[str, bool]:
    """Whether a published program asks for codes: {"link_card", "enroll"}.

    A program that says nothing (one published before the setting) asks as the default
    does: a code to link a card, none to enroll.
    """
    given = (data or {}).get("verification")
    found = dict(DEFAULT_VERIFICATION)
    if isinstance(given, dict):
        found |= {k: v for k, v in given.items() if k in found and isinstance(v, bool)}
    return found


def _number(name: str, value: object, least: int) -> str | None:
    if type(value) is not int or not least <= value <= _LARGEST:
        return f"{name} must be a whole number from {least} to {_LARGEST}, not {value!r}"
    return None


def _tiers_problem(tiers: object) -> str | None:
    if not isinstance(tiers, list) or not tiers:
        return "tiers must be a list of at least one tier"
    seen: set[str] = set()
    for index, tier in enumerate(tiers):
        where = f"tier {index + 1}"
        if not isinstance(tier, dict):
            return f"{where} is not an object"
        problem = _item_problem(where, tier, _TIER_KEYS, seen)
        if problem:
            return problem
        threshold = tier.get("threshold")
        if _number(f"{where}'s threshold", threshold, 0):
            return _number(f"{where}'s threshold", threshold, 0)
        multiplier = tier.get("multiplier")
        if not (isinstance(multiplier, str) and _MULTIPLIER.fullmatch(multiplier)):
            return f'{where}\'s multiplier must be a decimal number as a string, e.g. "1.25"'
        if Decimal(multiplier) <= 0:
            return f"{where}'s multiplier must be above 0"
    if tiers[0]["threshold"] != 0:
        return "the first tier's threshold must be 0 (every member is in a tier)"
    return None


def _rewards_problem(rewards: object) -> str | None:
    if not isinstance(rewards, list):
        return "rewards must be a list"
    seen: set[str] = set()
    for index, reward in enumerate(rewards):
        where = f"reward {index + 1}"
        if not isinstance(reward, dict):
            return f"{where} is not an object"
        problem = _item_problem(where, reward, _REWARD_KEYS, seen)
        if problem:
            return problem
        for name in ("cost", "value"):
            problem = _number(f"{where}'s {name}", reward.get(name), 0)
            if problem:
                return problem
        if reward.get("kind") not in REWARD_KINDS:
            return f"{where}'s kind must be one of {', '.join(REWARD_KINDS)}"
        for name in ("active_from", "active_until"):
            value = reward.get(name)
            if value in (None, ""):
                continue
            if not isinstance(value, str) or not _is_date(value):
                return f"{where}'s {name} must be an ISO date (YYYY-MM-DD) or empty"
    return None


def _item_problem(where: str, item: dict[str, Any], keys: set[str], seen: set[str]) -> str | None:
    unknown = sorted(set(item) - keys)
    if unknown:
        return f"{where} has an unknown field {unknown[0]!r}"
    ident = item.get("id")
    if not isinstance(ident, str) or not _ID.fullmatch(ident):
        return f"{where}'s id must be 1 to 64 letters, digits, '.', '_' or '-'"
    if ident in seen:
        return f"{where}'s id {ident!r} is used twice"
    seen.add(ident)
    for name in ("name_fa", "name_en"):
        value = item.get(name)
        if value is not None and not (isinstance(value, str) and "\x00" not in value):
            return f"{where}'s {name} must be text"
    return None


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


@dataclass(frozen=True)
class Limits:
    """What one program allows an entry, as the hub checks it (hub/ledger/rules.py)."""

    version: int
    mode: str
    points: int
    per_amount: int
    max_points_per_purchase: int
    max_amount: int
    max_bonus: int
    offline_redemption_allowance: int
    max_adjust_points: int
    max_opening_balance: int
    top_multiplier: Decimal
    reward_costs: dict[str, int]
    offers: tuple[Offer, ...] = ()
    max_referral_bonus: int = 0  # a `bonus` of reason referral (hub/program/referral.py)
    # The bonus of each badge the program gives, by id (hub/program/badges.py).
    badges: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Limits:
        """The limits of a published program's data."""
        return cls(
            version=int(data["version"]),
            mode=str(data["mode"]),
            points=int(data["points"]),
            per_amount=int(data["per_amount"]),
            max_points_per_purchase=int(data["max_points_per_purchase"]),
            max_amount=int(data["max_amount"]),
            max_bonus=max(
                int(data["enrollment_bonus"]),
                int(data["birthday_bonus"]),
                int(data.get("anniversary_bonus", 0)),
            ),
            offline_redemption_allowance=int(data["offline_redemption_allowance"]),
            max_adjust_points=int(data.get("max_adjust_points", DEFAULT_MAX_ADJUST_POINTS)),
            max_opening_balance=int(data.get("max_opening_balance", DEFAULT_MAX_OPENING_BALANCE)),
            top_multiplier=max(Decimal(t["multiplier"]) for t in data["tiers"]),
            reward_costs={str(r["id"]): int(r["cost"]) for r in data["rewards"]},
            offers=tuple(Offer.of(o) for o in data.get("offers") or ()),
            max_referral_bonus=most_referral_bonus(data),
            badges=badge_bonuses(data),
        )

    def most_earned(
        self, amount: int, at: datetime | None = None, branch: str | None = None
    ) -> int:
        """The most points a purchase of `amount` earns, at the highest tier, +1 for rounding.

        With `at` (the purchase's shop-local time) and the device's `branch`, the offers
        running then raise it: their highest multiplier, and their bonuses added.
        In stamps mode a purchase earns its stamps whatever the amount: only the cap holds.
        """
        if self.mode == "stamps":
            return self.max_points_per_purchase or _LARGEST
        multiplier, bonus = Decimal(1), 0
        if at is not None and self.offers:
            multiplier, bonus = raise_at(self.offers, at, branch, amount)
        top = self.top_multiplier * multiplier
        return tier_points(amount, self.points, self.per_amount, top) + bonus + 1


def tier_points(amount: int, points: int, per_amount: int, multiplier: Decimal) -> int:
    """The points a purchase of `amount` rial earns at a tier's multiplier, before the cap.

    The kiosk's rule (kiosk/core/program.py `points_for_purchase`): `points` for each whole
    `per_amount`, times the multiplier, rounded down. The hub judges entries with it and the
    panel previews a draft program with it; tests/hub/test_program_versions.py checks that
    it quotes as the kiosk does.
    """
    base = (amount // per_amount) * points
    return int((Decimal(base) * multiplier).to_integral_value(ROUND_FLOOR))


# The program's optional sections, each with its own check (an absent one: the default).
_SECTIONS: dict[str, Callable[[object], str | None]] = {
    "verification": _verification_problem,
    "feedback": _feedback_problem,
    "phone_page": phone_page_problem,
    "referral": referral_problem,
    "badges": badges_problem,
    "show_member_count": lambda given: (
        None if isinstance(given, bool) else "show_member_count must be true or false"
    ),
}
