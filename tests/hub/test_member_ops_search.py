"""The hub's search reads a phone number as the kiosk reads it (one source: libphonenumber).

The hub cannot import the kiosk's reader (hub/members/phones.py says why); both read with
the same pinned `phonenumbers`. Every form the kiosk takes must give the hub the number the
kiosk stored, or the owner could not find the member the counter enrolled.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.members.phones import mask_phone, phone_candidates
from hub.members.typed import read_query
from kiosk.errors import InvalidPhone
from kiosk.text.digits import to_persian_digits
from kiosk.text.phone import normalize_phone

FORMS = [
    "09121234567",
    "۰۹۱۲ ۱۲۳ ۴۵۶۷",
    "٠٩١٢-١٢٣-٤٥٦٧",
    "+98 912 123 4567",
    "98912-123-4567",
    "0098 912 123 4567",
    "9121234567",
    "(0912) 123.4567",
    "\u200e+98 912 123 4567\u200f",
    "+44 7911 123456",
    "09981234567",
]


@pytest.mark.parametrize("typed", FORMS)
def test_every_form_the_kiosk_reads_the_hub_reads_the_same(typed: str):
    assert normalize_phone(typed) in phone_candidates(typed)


@given(st.integers(min_value=10_000_000, max_value=99_999_999), st.sampled_from(["912", "935"]))
def test_persian_digit_mobiles_are_read_as_the_kiosk_reads_them(subscriber: int, operator: str):
    typed = to_persian_digits(f"0{operator}{subscriber // 10} ")

    try:
        stored = normalize_phone(typed)
    except InvalidPhone:
        return
    assert phone_candidates(typed) == [stored]


@pytest.mark.parametrize("typed", ["", "12", "hello", "Sara Ahmadi", "A1B2C3D4"])
def test_what_is_not_a_phone_number_is_not_searched_as_one(typed: str):
    assert phone_candidates(typed) == []


def test_a_query_is_read_as_phone_card_name_or_id():
    assert read_query("۰۹۱۲۱۲۳۴۵۶۷").kinds == ["phone", "card", "id"]
    assert read_query("a1:b2:c3:d4").kinds == ["card", "name", "id"]
    assert read_query("سارا").kinds == ["name", "id"]
    assert read_query("  ").kinds == []


def test_a_masked_phone_keeps_the_operator_and_the_last_two_digits():
    assert mask_phone("+989121234567") == "+98912*****67"
    assert mask_phone(None) == ""
