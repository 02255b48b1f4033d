"""The program's versions for the panel: the preview, the edit form, the differences.

Pure parts, run in this process (no database): the preview quotes with the hub's rule
(`hub.program.rules.tier_points`), checked here against a real kiosk service's quote for a
table of amounts and tiers, after the kiosk took the same program as a pull does.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.program.diff import diff
from hub.program.draft import read_draft, values_of
from hub.program.preview import AmountProblem, parse_amount, preview
from hub.program.rules import default_program
from kiosk.core.program import points_for_purchase, tier_by_id
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import SyncState

AMOUNTS = [10_000, 99_999, 100_000, 1_250_000, 12_345_678, 400_000_000, 99_999_999_999]


def a_program(**changes: Any) -> dict[str, Any]:
    return default_program() | changes


PROGRAMS = {
    "default": a_program(),
    "odd rate, low cap": a_program(points=3, per_amount=70_000, max_points_per_purchase=40),
    "no cap, fine multipliers": a_program(
        max_points_per_purchase=0,
        tiers=[
            {"id": "a", "name_fa": "الف", "name_en": "A", "threshold": 0, "multiplier": "1"},
            {"id": "b", "name_fa": "ب", "name_en": "B", "threshold": 10, "multiplier": "1.333333"},
            {"id": "c", "name_fa": "پ", "name_en": "C", "threshold": 20, "multiplier": "2.75"},
        ],
    ),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_the_preview_says_what_a_kiosk_quotes_for_every_tier_and_amount(
    service: LoyaltyService, name: str
):
    program = PROGRAMS[name]
    SyncState(service.conn).set(program={**program, "version": 2})  # as a pull stores it
    service.reload_program()

    for amount in AMOUNTS:
        shown = preview(program, amount)
        kiosk = {
            t.id: points_for_purchase(service.program, amount, tier_by_id(service.program, t.id))
            for t in service.program.tiers
        }
        assert {t.tier_id: t.points for t in shown.tiers} == {
            k: v.points for k, v in kiosk.items()
        }, amount


def test_the_preview_says_when_the_cap_bites_and_when_kiosks_refuse_the_amount():
    shown = preview(a_program(max_points_per_purchase=5_000), 5_000_000_000)

    assert [(t.tier_id, t.points, t.capped) for t in shown.tiers] == [
        ("bronze", 5_000, True),
        ("silver", 5_000, True),
        ("gold", 5_000, True),
    ]
    assert preview(a_program(), 1_250_000).tiers[2].uncapped == 18  # 12 x 1.5
    assert preview(a_program(max_amount=1_000), 1_001).above_max_amount


def test_a_stamp_card_has_no_points_by_amount_to_preview():
    shown = preview(a_program(mode="stamps"), 1_250_000)

    assert shown.stamps and shown.tiers == ()


@pytest.mark.parametrize(
    ("typed", "unit", "rial"),
    [
        ("1,250,000", "toman", 12_500_000),
        ("۱٬۲۵۰٬۰۰۰", "toman", 12_500_000),
        ("١٢٥٠٠٠٠", "rial", 1_250_000),
        (" 1 250 000 ", "rial", 1_250_000),
    ],
)
def test_an_amount_is_read_in_the_chains_unit_with_persian_digits(typed: str, unit: str, rial: int):
    assert parse_amount(typed, unit) == rial


@pytest.mark.parametrize("typed", ["", "12.5", "-4", "abc", "1" * 16])
def test_a_bad_amount_is_said_in_both_languages(typed: str):
    with pytest.raises(AmountProblem) as problem:
        parse_amount(typed, "toman")

    assert (
        problem.value.said.fa and problem.value.said.en and problem.value.said.fa.isascii() is False
    )


def test_the_form_of_the_program_in_force_gives_back_the_same_program():
    program = default_program()

    draft = read_draft(values_of(program, "toman"), "toman")

    assert draft.errors == {} and draft.data == program
    assert values_of(program, "toman")["per_amount"] == "10,000"  # 100,000 Rial in Toman
    assert values_of(program, "toman")["reward-1-value"] == "100,000"
    assert values_of(program, "rial")["max_amount"] == "100,000,000,000"


def test_the_form_reads_persian_digits_and_toman_and_adds_and_removes_rows():
    values = values_of(default_program(), "toman") | {
        "per_amount": "۲۰٬۰۰۰",
        "tier-0-remove": "",
        "reward-0-remove": "on",
        "reward-3-id": "tea",
        "reward-3-name_fa": "چای",
        "reward-3-name_en": "Tea",
        "reward-3-cost": "۳۰",
        "reward-3-kind": "fixed_discount",
        "reward-3-value": "50,000",
        "reward-3-active_from": "2027-01-01",
        "reward-3-active_until": "2027-02-01",
    }

    draft = read_draft(values, "toman")

    assert draft.errors == {}
    assert draft.data is not None and draft.data["per_amount"] == 200_000
    assert [r["id"] for r in draft.data["rewards"]] == ["discount-100k", "percent-10", "tea"]
    assert draft.data["rewards"][2] == {
        "id": "tea",
        "name_fa": "چای",
        "name_en": "Tea",
        "cost": 30,
        "kind": "fixed_discount",
        "value": 500_000,
        "active_from": "2027-01-01",
        "active_until": "2027-02-01",
    }


@pytest.mark.parametrize(
    ("change", "field", "english"),
    [
        ({"points": "0"}, "points", "at least 1"),
        ({"per_amount": "ده"}, "per_amount", "Type the amount as a number"),
        ({"mode": "cashback"}, "mode", "Choose the kind of club"),
        ({"tier-0-threshold": "10"}, "tier-0-threshold", "The first tier's threshold is 0"),
        ({"tier-2-threshold": "900"}, "tier-2-threshold", "above the one before it"),
        ({"tier-1-multiplier": "0"}, "tier-1-multiplier", "above 0"),
        ({"tier-2-id": "silver"}, "tier-2-id", "used twice"),
        ({"tier-1-id": "نقره"}, "tier-1-id", "English letters"),
        ({"reward-0-name_en": ""}, "reward-0-name_en", "both languages"),
        ({"reward-2-value": "150"}, "reward-2-value", "from 1 to 100"),
        ({"reward-0-active_from": "1405-01-01x"}, "reward-0-active_from", "Type a date like"),
        ({"reward-0-active_from": "1405/12/31"}, "reward-0-active_from", "Type a date like"),
        ({"reward-0-active_from": "2027-02-30"}, "reward-0-active_from", "Type a date like"),
        (
            {"reward-0-active_from": "2027-03-01", "reward-0-active_until": "2027-02-01"},
            "reward-0-active_until",
            "before the start",
        ),
        ({"offline_redemption_allowance": ""}, "offline_redemption_allowance", "Fill this in"),
    ],
)
def test_a_wrong_field_is_said_in_both_languages_beside_it(
    change: dict[str, str], field: str, english: str
):
    draft = read_draft(values_of(default_program(), "toman") | change, "toman")

    assert not draft.valid and draft.data is None
    assert english in draft.errors[field].en
    assert draft.errors[field].fa and not draft.errors[field].fa.isascii()
    assert draft.values[field] == (change | {field: draft.values[field]})[field]  # kept as typed


def test_no_tier_at_all_is_refused():
    values = {
        k: v for k, v in values_of(default_program(), "rial").items() if not k.startswith("tier-")
    }

    draft = read_draft(values, "rial")

    assert "at least one tier" in draft.errors["tiers"].en


def test_the_differences_of_two_versions_read_by_section_and_item():
    before = default_program()
    after = default_program() | {"per_amount": 50_000, "offline_redemption_allowance": 0}
    after["tiers"] = [*before["tiers"][:2], before["tiers"][2] | {"multiplier": "2"}]
    after["rewards"] = [before["rewards"][0] | {"name_en": "Coffee"}, *before["rewards"][2:]]
    after["rewards"].append(
        {"id": "tea", "name_fa": "چای", "name_en": "Tea", "cost": 30, "kind": "free_item"}
    )

    found = [(d.section, d.item, d.field, d.kind, d.before, d.after) for d in diff(before, after)]

    assert found == [
        ("rules", "", "per_amount", "changed", 100_000, 50_000),
        ("tiers", "gold", "multiplier", "changed", "1.5", "2"),
        ("rewards", "discount-100k", "", "removed", before["rewards"][1], None),
        ("rewards", "coffee", "name_en", "changed", "A free coffee", "Coffee"),
        ("rewards", "tea", "", "added", None, after["rewards"][-1]),
        ("offline", "", "offline_redemption_allowance", "changed", 500, 0),
    ]
    assert diff(before, default_program()) == []
    assert diff(before, after)[0].field_name.en == "Per amount (Rial)"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("۱۴۰۵/۰۱/۰۱", "2026-03-21"),  # Nowruz 1405
        ("1405/1/15", "2026-04-04"),
        ("1403/12/30", "2025-03-20"),  # a leap Esfand's 30th
        ("2027-01-01", "2027-01-01"),
        ("2027/1/1", "2027-01-01"),
    ],
)
def test_a_rewards_dates_are_typed_jalali_or_gregorian_and_kept_gregorian(typed: str, kept: str):
    values = values_of(default_program(), "toman") | {"reward-0-active_from": typed}

    draft = read_draft(values, "toman")

    assert draft.errors == {}
    assert draft.data is not None and draft.data["rewards"][0]["active_from"] == kept


def test_a_persian_form_shows_a_rewards_dates_in_jalali_and_reads_them_back():
    program = default_program()
    program["rewards"][0] |= {"active_from": "2026-03-21", "active_until": "2026-04-04"}

    values = values_of(program, "toman", calendar="jalali")

    assert values["reward-0-active_from"] == "1405/01/01"
    assert values["reward-0-active_until"] == "1405/01/15"
    assert read_draft(values, "toman").data == program
