"""A pulled program's data (docs/sync-protocol.md, the `program` row), read and checked.

Tiers and rewards, and the earning rules the hub checks entries against (points per
amount, the bonuses, the cap per purchase, the largest amount, the offline allowance, the
mode): a kiosk uses those it receives, so that kiosk and hub agree on the limits. Each
function raises (one of INVALID) when the data is not a valid program.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from kiosk.config import RewardConfig, TierConfig
from kiosk.config.offer_rules import offer_problems
from kiosk.config.schema import OfferConfig
from kiosk.core.badges import badges_from

# A program's earning rules that the CRM may send (docs/sync-protocol.md, the `program`
# row), with the least value each may take; `max_adjust_points` is the hub's alone.
_RULES = {
    "points": 1,
    "per_amount": 1,
    "max_points_per_purchase": 0,
    "max_amount": 1,
    "enrollment_bonus": 0,
    "birthday_bonus": 0,
    "anniversary_bonus": 0,
    "offline_redemption_allowance": 0,
}
_MODES = ("points", "stamps")
INVALID = (KeyError, TypeError, ValueError, ArithmeticError, AttributeError)


def earning_rules(data: dict[str, Any]) -> dict[str, Any]:
    """The earning rules `data` carries (any of them may be missing); raises when one is bad."""
    found: dict[str, Any] = {}
    for name, least in _RULES.items():
        if name in data:
            value = data[name]
            if type(value) is not int or value < least:
                raise ValueError(f"{name} must be a whole number of at least {least}")
            found[name] = value
    if "mode" in data:
        if data["mode"] not in _MODES:
            raise ValueError("mode must be points or stamps")
        found["mode"] = data["mode"]
    # The hub's program alone says which offers run (hub/ledger/rules.py bounds earns by
    # them): one that carries none turns off the offers of the kiosk's own config.
    found["offers"] = offers_from(data.get("offers") or [], data)
    # Likewise its badges (kiosk/core/badges.py): none in the program, none given.
    found["badges"] = badges_from(data.get("badges") or {})
    if "show_member_count" in data:  # docs/program.md, "Social proof"
        if not isinstance(data["show_member_count"], bool):
            raise TypeError("show_member_count is true or false")
        found["show_member_count"] = data["show_member_count"]
    return found


def offers_from(given: Any, data: dict[str, Any]) -> tuple[OfferConfig, ...]:
    """The limited-time offers a program carries, held to the config's rules; raises when
    one is bad (docs/program.md, "Limited-time offers")."""
    if not isinstance(given, list):
        raise TypeError("offers is a list")
    tier_ids = {str(t["id"]) for t in data.get("tiers") or []}
    offers = []
    for item in given:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise TypeError("an offer is an object with an id")
        offer = OfferConfig(
            id=item["id"],
            name_fa=str(item.get("name_fa", "")),
            name_en=str(item.get("name_en", "")),
            multiplier=Decimal(str(item.get("multiplier", "1"))),
            bonus=int(item.get("bonus", 0)),
            starts=date.fromisoformat(item["starts"]) if item.get("starts") else None,
            ends=date.fromisoformat(item["ends"]) if item.get("ends") else None,
            weekdays=tuple(str(d) for d in item.get("weekdays", ())),
            from_time=str(item.get("from_time", "00:00")),
            until_time=str(item.get("until_time", "24:00")),
            branches=tuple(str(b) for b in item.get("branches", ())),
            tiers=tuple(str(t) for t in item.get("tiers", ())),
            min_amount=int(item.get("min_amount", 0)),
        )
        for key, problem in offer_problems(offer, tier_ids):
            raise ValueError(f"offer {offer.id}: {key} {problem}")
        offers.append(offer)
    return tuple(offers)


def verification_rules(data: dict[str, Any]) -> dict[str, bool]:
    """Whether the program asks for a code to link a card or to enroll (`verification`,
    either may be missing); raises when the setting is not one."""
    given = data.get("verification")
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise TypeError("verification is an object")
    found: dict[str, bool] = {}
    for name in ("link_card", "enroll"):
        if name in given:
            if not isinstance(given[name], bool):
                raise TypeError(f"verification.{name} is true or false")
            found[name] = given[name]
    return found


def program_from(data: Any) -> tuple[tuple[TierConfig, ...], tuple[RewardConfig, ...]]:
    """The tiers and rewards `data` describes; raises when it is not a valid program."""
    if not isinstance(data, dict):
        raise TypeError("a program is an object")
    tiers = tuple(
        TierConfig(
            id=str(t["id"]),
            name_fa=name_of(t, "name_fa", "name_en"),
            name_en=name_of(t, "name_en", "name_fa"),
            threshold=int(t["threshold"]),
            multiplier=Decimal(str(t["multiplier"])),
        )
        for t in data.get("tiers") or []
    )
    rewards = tuple(
        RewardConfig(
            id=str(r["id"]),
            name_fa=name_of(r, "name_fa", "name_en"),
            name_en=name_of(r, "name_en", "name_fa"),
            cost=int(r["cost"]),
            kind=str(r["kind"]),
            value=int(r.get("value", 0)),
            active_from=date.fromisoformat(r["active_from"]) if r.get("active_from") else None,
            active_until=date.fromisoformat(r["active_until"]) if r.get("active_until") else None,
        )
        for r in data.get("rewards") or []
    )
    if any(t.threshold < 0 or not t.multiplier > 0 for t in tiers):
        raise ValueError("tiers need a threshold of 0 or more and a positive multiplier")
    if any(r.cost < 0 or r.kind not in _REWARD_KINDS for r in rewards):
        raise ValueError("a reward needs a cost of 0 or more and a known kind")
    return tiers, rewards


def name_of(item: dict[str, Any], key: str, other: str) -> str:
    """A tier's or reward's name in one language (optional in docs/sync-openapi.yaml).

    Missing or blank, it is the other language's name, else the id: a shopper sees some
    name rather than a reward refused for want of one.
    """
    for candidate in (item.get(key), item.get(other)):
        if candidate is not None and str(candidate).strip():
            return str(candidate)
    return str(item["id"])


_REWARD_KINDS = ("fixed_discount", "percent_discount", "free_item")
