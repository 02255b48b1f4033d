"""Amounts: what a cashier types, in Rial or Toman, is stored as exact whole Rial."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import InvalidAmount
from kiosk.text.digits import to_persian_digits
from kiosk.text.money import parse_amount, rial_from_unit, to_unit

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
LARGEST = 10**18 - 1  # 18 digits of Rial


@pytest.mark.parametrize(
    ("typed", "unit", "rial"),
    [
        ("0", "rial", 0),
        ("0", "toman", 0),
        ("1250000", "rial", 1_250_000),
        ("1,250,000", "rial", 1_250_000),
        ("1,250,000", "toman", 12_500_000),
        ("۱٬۲۵۰٬۰۰۰", "rial", 1_250_000),
        ("۱٬۲۵۰٬۰۰۰", "toman", 12_500_000),
        ("١٬٢٥٠٬٠٠٠", "toman", 12_500_000),
        ("۱،۲۵۰،۰۰۰", "rial", 1_250_000),
        ("1'250'000", "rial", 1_250_000),
        ("1 250 000", "rial", 1_250_000),
        ("1\u00a0250\u00a0000", "rial", 1_250_000),
        ("  1,250,000 \n", "rial", 1_250_000),
        ("\u200f۱۲۵۰۰۰\u200e", "rial", 125_000),
        ("12.5", "toman", 125),
        ("۱۲٫۵", "toman", 125),
        ("12.0", "toman", 120),
        ("0.5", "toman", 5),
        ("1,250.5", "toman", 12_505),
        ("007", "rial", 7),
        ("12,345,678,901", "rial", 12_345_678_901),
        ("12,345,678,901", "toman", 123_456_789_010),
        ("1,234,567,890.1", "toman", 12_345_678_901),
        ("999,999,999,999,999,999", "rial", LARGEST),
        ("99,999,999,999,999,999.9", "toman", LARGEST),
    ],
)
def test_an_amount_is_read_in_the_shops_unit_and_stored_in_rial(typed, unit, rial):
    assert parse_amount(typed, unit) == rial


@pytest.mark.parametrize(
    ("typed", "unit", "reason"),
    [
        ("", "rial", "empty"),
        ("   ", "toman", "empty"),
        ("\u200c", "rial", "empty"),
        ("abc", "rial", "not_a_number"),
        ("12a", "toman", "not_a_number"),
        ("1e6", "rial", "not_a_number"),
        ("+5", "rial", "not_a_number"),
        ("12.", "toman", "not_a_number"),
        (".5", "toman", "not_a_number"),
        ("1.250.000", "toman", "not_a_number"),  # dots as thousands separators
        ("12,5", "toman", "not_a_number"),  # a decimal comma, not a thousands separator
        ("1,25,000", "rial", "not_a_number"),
        ("1250,000", "rial", "not_a_number"),
        ("1,,250", "rial", "not_a_number"),
        ("-5", "rial", "negative"),
        ("−5", "toman", "negative"),
        ("۵-", "rial", "negative"),  # the minus a right-to-left keyboard leaves at the end
        ("-0", "rial", "negative"),
        ("12.5", "rial", "too_precise"),
        ("12.0", "rial", "too_precise"),
        ("12.55", "toman", "too_precise"),
        ("1.250", "toman", "too_precise"),
        ("1,000,000,000,000,000,000", "rial", "too_large"),
        ("100,000,000,000,000,000", "toman", "too_large"),
        ("9" * 5000, "rial", "too_large"),
    ],
)
def test_what_is_not_an_amount_is_refused_with_a_reason(typed, unit, reason):
    with pytest.raises(InvalidAmount) as refused:
        parse_amount(typed, unit)

    assert refused.value.reason == reason
    assert refused.value.key == f"error.amount.{reason}"


def test_leading_zeros_do_not_count_towards_the_digit_limit():
    assert parse_amount("0" * 40 + "1", "rial") == 1


def test_an_unknown_unit_is_a_programming_error_not_an_input_error():
    with pytest.raises(ValueError, match="dollar"):
        parse_amount("5", "dollar")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rial", "unit", "value"),
    [
        (12345, "rial", Decimal(12345)),
        (12345, "toman", Decimal("1234.5")),
        (120, "toman", Decimal(12)),
        (0, "toman", Decimal(0)),
        (-15, "toman", Decimal("-1.5")),
        (10**40 + 1, "toman", Decimal("1" + "0" * 39 + ".1")),  # beyond Decimal's precision
    ],
)
def test_rial_are_shown_exactly_in_either_unit(rial, unit, value):
    shown = to_unit(rial, unit)

    assert shown == value
    assert isinstance(shown, Decimal)


@pytest.mark.parametrize(
    ("value", "unit", "rial"),
    [
        (5, "rial", 5),
        (5, "toman", 50),
        (Decimal("12.5"), "toman", 125),
        (Decimal("12.0"), "rial", 12),
        (Decimal("1E+3"), "toman", 10_000),
        (Decimal("-1.5"), "toman", -15),
        (Decimal("0E+99999"), "rial", 0),
    ],
)
def test_a_value_in_a_unit_converts_to_whole_rial(value, unit, rial):
    assert rial_from_unit(value, unit) == rial


@pytest.mark.parametrize(
    ("value", "unit", "reason"),
    [
        (Decimal("12.5"), "rial", "too_precise"),
        (Decimal("12.55"), "toman", "too_precise"),
        (Decimal("1E-99999"), "toman", "too_precise"),
        (Decimal("NaN"), "rial", "not_a_number"),
        (Decimal("Infinity"), "toman", "not_a_number"),
        (Decimal("1E+99999"), "rial", "too_large"),
        (10**18, "rial", "too_large"),
    ],
)
def test_a_value_with_parts_of_a_rial_is_refused(value, unit, reason):
    with pytest.raises(InvalidAmount) as refused:
        rial_from_unit(value, unit)

    assert refused.value.reason == reason


# --- properties --------------------------------------------------------------------------

rials = st.integers(min_value=0, max_value=LARGEST)
units = st.sampled_from(["rial", "toman"])


def grouped(number: int, separator: str) -> str:
    """Return `number` with `separator` between groups of three digits."""
    return f"{number:,}".replace(",", separator)


@given(st.text(), units)
def test_arbitrary_text_is_either_an_amount_or_an_invalid_amount(text, unit):
    try:
        rial = parse_amount(text, unit)
    except InvalidAmount:
        return

    assert 0 <= rial <= LARGEST


@given(
    st.integers(min_value=0, max_value=LARGEST // 10),
    st.sampled_from([",", "٬", "،", "'", " ", "\u00a0", ""]),
    st.sampled_from(["ascii", "persian", "arabic"]),
)
def test_a_toman_entry_is_never_stored_as_rial_by_mistake(number, separator, script):
    typed = grouped(number, separator)
    if script == "persian":
        typed = to_persian_digits(typed)
    elif script == "arabic":
        typed = typed.translate(ARABIC_INDIC)

    assert parse_amount(typed, "toman") == 10 * parse_amount(typed, "rial")
    assert parse_amount(typed, "rial") == number


@given(rials, units)
def test_a_stored_amount_shown_in_a_unit_reads_back_the_same(rial, unit):
    shown = format(to_unit(rial, unit), "f")

    assert parse_amount(shown, unit) == rial
    assert parse_amount(to_persian_digits(shown), unit) == rial


@given(st.integers(min_value=-LARGEST, max_value=LARGEST), units)
def test_converting_to_a_unit_and_back_is_exact(rial, unit):
    assert rial_from_unit(to_unit(rial, unit), unit) == rial
