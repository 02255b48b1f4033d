"""Limited-time offers as rule tables: when they run, whom they apply to, how two combine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kiosk.config import ConfigError
from kiosk.config.schema import OfferConfig
from kiosk.core.offers import combine, ends_at, running_now, runs_at
from kiosk.core.program import points_for_purchase, tier_by_id
from kiosk.core.program_data import INVALID, earning_rules
from kiosk.core.store.staff import CLI, Actor
from tests.conftest import make_config

TEHRAN = ZoneInfo("Asia/Tehran")
PROGRAM = make_config().program
BRONZE, SILVER, GOLD = (tier_by_id(PROGRAM, t) for t in ("bronze", "silver", "gold"))
SHOP = "Demo shop"

NOON = OfferConfig(
    id="noon",
    name_fa="امتیاز دوبرابر ظهر",
    name_en="Double points at noon",
    multiplier=Decimal(2),
    weekdays=("sat", "sun", "mon", "tue", "wed"),
    from_time="12:00",
    until_time="14:00",
)
LATE = OfferConfig(id="late", multiplier=Decimal(3), weekdays=("fri",), from_time="22:00")
EARLY = OfferConfig(id="early", multiplier=Decimal(3), weekdays=("sat",), until_time="02:00")
# A Jalali week, Saturday 14 Azar to Friday 20 Azar 1405.
WEEK = OfferConfig(id="azar-week", bonus=10, starts=date(2026, 12, 5), ends=date(2026, 12, 11))
NOWRUZ = OfferConfig(id="nowruz", multiplier=Decimal("1.5"), starts=date(2027, 3, 21))
BIG = OfferConfig(id="big-basket", name_en="Big basket", bonus=20, min_amount=5_000_000)


def at(text: str) -> datetime:
    """A Tehran wall-clock moment, "2026-12-05 12:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=TEHRAN)


@pytest.mark.parametrize(
    ("offer", "moment", "runs"),
    [
        (NOON, "2026-12-05 11:59", False),  # Saturday, a minute early
        (NOON, "2026-12-05 12:00", True),  # from_time is inclusive
        (NOON, "2026-12-05 13:59", True),
        (NOON, "2026-12-05 14:00", False),  # until_time is exclusive
        (NOON, "2026-12-10 12:30", False),  # Thursday: not one of its days
        (NOON, "2026-12-11 12:30", False),  # Friday
        # Midnight: a late offer on Friday ends at 24:00, an early one begins Saturday.
        (LATE, "2026-12-11 21:59", False),
        (LATE, "2026-12-11 23:59", True),
        (LATE, "2026-12-12 00:00", False),
        (EARLY, "2026-12-11 23:59", False),
        (EARLY, "2026-12-12 00:00", True),
        (EARLY, "2026-12-12 01:59", True),
        (EARLY, "2026-12-12 02:00", False),
        # The Jalali week Saturday to Friday, its dates inclusive.
        (WEEK, "2026-12-04 23:59", False),  # Friday before
        (WEEK, "2026-12-05 00:00", True),  # Saturday 14 Azar
        (WEEK, "2026-12-11 23:59", True),  # Friday 20 Azar
        (WEEK, "2026-12-12 00:00", False),  # next Saturday
        # The Jalali year: 29 Esfand 1405 23:59, then 1 Farvardin 1406.
        (NOWRUZ, "2027-03-20 23:59", False),
        (NOWRUZ, "2027-03-21 00:00", True),
    ],
)
def test_an_offer_runs_on_its_days_between_its_times(offer, moment, runs):
    assert runs_at(offer, at(moment), SHOP) is runs


def test_days_and_hours_are_the_shops_not_utc():
    # 08:30 UTC is 12:00 in Tehran (UTC+3:30): the noon offer has begun.
    moment = datetime(2026, 12, 5, 8, 30, tzinfo=UTC).astimezone(TEHRAN)

    assert runs_at(NOON, moment, SHOP)
    assert not runs_at(NOON, datetime(2026, 12, 5, 8, 29, tzinfo=UTC).astimezone(TEHRAN), SHOP)


@pytest.mark.parametrize(
    ("branches", "branch", "runs"),
    [
        ((), "Anywhere", True),
        (("Demo shop",), "Demo shop", True),
        (("Tajrish",), "Demo shop", False),
    ],
)
def test_an_offer_runs_only_at_its_branches(branches, branch, runs):
    offer = replace(NOON, branches=branches)

    assert runs_at(offer, at("2026-12-05 12:30"), branch) is runs


def program_with(*offers: OfferConfig, cap: int = 5_000):
    return replace(
        PROGRAM, offers=offers, limits=replace(PROGRAM.limits, max_points_per_purchase=cap)
    )


@pytest.mark.parametrize(
    ("offers", "amount", "tier", "moment", "points", "codes"),
    [
        # No offer running: as before.
        ((NOON,), 2_500_000, BRONZE, "2026-12-05 11:00", 25, ["base"]),
        # Double points: 25 x 2.
        ((NOON,), 2_500_000, BRONZE, "2026-12-05 12:00", 50, ["base", "offer"]),
        # On top of the tier, rounded down once: 25 x 1.25 x 2 = 62.5 -> 62.
        ((NOON,), 2_500_000, SILVER, "2026-12-05 12:00", 62, ["base", "tier_multiplier", "offer"]),
        # Two multipliers: the highest applies, one only (x3, not x6).
        (
            (NOON, replace(NOON, id="triple", multiplier=Decimal(3))),
            1_000_000,
            BRONZE,
            "2026-12-05 12:00",
            30,
            ["base", "offer"],
        ),
        # A multiplier and a bonus: both (10 x 2 + 10).
        ((NOON, WEEK), 1_000_000, BRONZE, "2026-12-05 12:00", 30, ["base", "offer", "offer"]),
        # Two bonuses add: 50 + 10 + 20.
        ((WEEK, BIG), 5_000_000, BRONZE, "2026-12-05 09:00", 80, ["base", "offer", "offer"]),
        # Basket size: one rial short of the big basket.
        ((BIG,), 4_999_999, BRONZE, "2026-12-05 09:00", 49, ["base"]),
        ((BIG,), 5_000_000, BRONZE, "2026-12-05 09:00", 70, ["base", "offer"]),
        # Tier filter: gold only.
        (
            (replace(NOON, tiers=("gold",)),),
            1_000_000,
            SILVER,
            "2026-12-05 12:00",
            12,
            ["base", "tier_multiplier"],
        ),
        (
            (replace(NOON, tiers=("gold",)),),
            1_000_000,
            GOLD,
            "2026-12-05 12:00",
            30,
            ["base", "tier_multiplier", "offer"],
        ),
    ],
)
def test_offers_raise_a_purchase_by_the_one_rule(offers, amount, tier, moment, points, codes):
    rule = points_for_purchase(program_with(*offers), amount, tier, at=at(moment), branch=SHOP)

    assert rule.points == points
    assert [line.code for line in rule.lines] == codes
    assert sum(line.points for line in rule.lines) == points


def test_the_cap_applies_last_after_the_offers():
    program = program_with(NOON, WEEK, BIG, cap=100)

    rule = points_for_purchase(program, 5_000_000, SILVER, at=at("2026-12-05 12:30"), branch=SHOP)

    # 50 x 1.25 x 2 = 125, + 10 + 20 = 155, capped at 100.
    assert rule.points == 100
    assert [line.code for line in rule.lines][-1] == "capped"


def test_the_quote_names_the_offer_in_the_shoppers_language():
    program = program_with(NOON)

    fa = points_for_purchase(program, 1_000_000, BRONZE, at=at("2026-12-05 12:30"), language="fa")
    en = points_for_purchase(program, 1_000_000, BRONZE, at=at("2026-12-05 12:30"), language="en")

    assert fa.lines[-1].params["name"] == "امتیاز دوبرابر ظهر"
    assert en.lines[-1].params["name"] == "Double points at noon"
    assert (en.lines[-1].points, en.lines[-1].params["offer"]) == (10, "noon")


def test_offers_do_not_apply_without_a_moment_or_in_stamps_mode():
    program = program_with(NOON)

    assert points_for_purchase(program, 1_000_000, BRONZE).points == 10
    stamps = replace(program, mode="stamps")
    assert points_for_purchase(stamps, 1_000_000, BRONZE, at=at("2026-12-05 12:30")).points == 1


def test_combine_keeps_the_first_listed_of_equal_multipliers():
    twin = replace(NOON, id="twin")

    assert combine([NOON, twin]).multiplied_by is NOON
    assert combine([]).multiplier == 1


def test_the_offer_announced_is_the_one_ending_first_and_its_end_is_today():
    offers = (WEEK, NOON)

    shown = running_now(offers, at("2026-12-05 12:30"), SHOP)

    assert shown is NOON
    assert ends_at(NOON, at("2026-12-05 12:30")) == at("2026-12-05 14:00")
    assert ends_at(WEEK, at("2026-12-05 12:30")) == at("2026-12-06 00:00")
    assert running_now(offers, at("2026-12-12 12:30"), SHOP) is NOON  # the week has ended
    assert running_now(offers, at("2026-12-12 14:00"), SHOP) is None


def test_a_service_purchase_during_an_offer_earns_it_and_says_which(open_service, txn):
    noon = (
        'program.offers=[{id="noon", name_fa="امتیاز دوبرابر ظهر", name_en="Double noon", '
        'multiplier="2", from_time="12:00", until_time="14:00"}]'
    )
    service = open_service(noon)  # the clock: 09:00 UTC, 12:30 in Tehran
    staff = service.staff.add(name="C", role="cashier", pin="3691", actor=CLI)
    cashier = Actor(staff.staff_id, "cashier")
    member = service.enroll("09121234567", client_txn_id=txn(), language="en").member_id

    quote = service.quote(member, 2_500_000)
    earned = service.earn(member, 2_500_000, cashier=cashier, client_txn_id=txn())

    assert quote.points == 50
    assert [(line.code, line.points, line.params.get("name")) for line in quote.lines] == [
        ("base", 25, None),
        ("offer", 25, "Double noon"),
    ]
    entry = service.ledger.get(earned.entry_id)
    assert (entry.kind, entry.points) == ("earn", 50)


def test_a_service_purchase_after_the_offer_earns_the_plain_points(open_service, txn, clock):
    service = open_service('program.offers=[{id="noon", multiplier="2", until_time="12:30"}]')
    member = service.enroll("09121234567", client_txn_id=txn()).member_id

    assert service.quote(member, 2_500_000).points == 25  # 12:30 in Tehran: it has ended
    clock.advance(seconds=-1)
    assert service.quote(member, 2_500_000).points == 50


@pytest.mark.parametrize(
    ("offer", "problem"),
    [
        ('{id="x", multiplier="1"}', "gives nothing"),
        ('{id="x", multiplier="11"}', 'from "1" to "10"'),
        ('{id="x", bonus=-1}', "at least 0"),
        ('{id="x", bonus=5, weekdays=["saturday"]}', "'saturday' is not one of"),
        ('{id="x", bonus=5, from_time="14:00", until_time="12:00"}', "across midnight"),
        ('{id="x", bonus=5, until_time="24:01"}', "after 24:00"),
        ('{id="x", bonus=5, from_time="9:00"}', "HH:MM"),
        ('{id="x", bonus=5, starts="2026-12-10", ends="2026-12-01"}', "ends before it starts"),
        ('{id="x", bonus=5, tiers=["platinum"]}', "not a tier"),
        ('{id="a b", bonus=5}', "letters, digits"),
    ],
)
def test_a_wrong_offer_in_the_config_is_reported(offer, problem):
    with pytest.raises(ConfigError) as raised:
        make_config(f"program.offers=[{offer}]")

    assert problem in str(raised.value)
    assert "program.offers[0]" in str(raised.value)


def test_two_offers_with_one_id_are_reported():
    with pytest.raises(ConfigError, match="used twice"):
        make_config('program.offers=[{id="x", bonus=1}, {id="x", bonus=2}]')


def test_the_hubs_offers_reach_the_program_and_a_bad_one_is_refused():
    data = {
        "tiers": [{"id": "bronze", "threshold": 0, "multiplier": "1"}],
        "offers": [{"id": "noon", "name_en": "Noon", "multiplier": "2", "from_time": "12:00"}],
    }

    (offer,) = earning_rules(data)["offers"]

    assert (offer.multiplier, offer.from_time, offer.until_time) == (Decimal(2), "12:00", "24:00")
    for bad in ({"id": "x", "multiplier": "1"}, {"id": "x", "bonus": 1, "tiers": ["gold"]}, "x"):
        with pytest.raises(INVALID):
            earning_rules(data | {"offers": [bad]})


def test_a_pulled_program_without_offers_turns_the_configs_off():
    # The hub bounds earns by its own program's offers: a kiosk must not give others.
    data = {"tiers": [{"id": "bronze", "threshold": 0, "multiplier": "1"}]}

    assert earning_rules(data)["offers"] == ()
