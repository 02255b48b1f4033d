"""Phone numbers: every way a person types a mobile number finds the same member."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from kiosk.errors import InvalidPhone
from kiosk.text.digits import to_persian_digits
from kiosk.text.phone import format_phone, mask_phone, normalize_phone

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# Mobile ranges of the Iranian operators (MCI, Irancell, Rightel) that libphonenumber
# knows in full; 0998 and 0999 (Shatel, ...) are only partly allocated there.
IRANIAN_MOBILE_PREFIXES = [
    "0901", "0902", "0903", "0904", "0905",
    "0910", "0911", "0912", "0913", "0914", "0915", "0916", "0917", "0918", "0919",
    "0920", "0921", "0922", "0930", "0933", "0935", "0936", "0937", "0938", "0939",
    "0990", "0991", "0992", "0993", "0994",
]  # fmt: skip
FOREIGN_REGIONS = ["GB", "DE", "FR", "TR", "AE", "IQ", "AF", "US", "CA", "AU", "IN", "RU"]


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("09121234567", "+989121234567"),
        ("۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"),
        ("٠٩١٢١٢٣٤٥٦٧", "+989121234567"),
        ("0912 123 4567", "+989121234567"),
        ("0912-123-4567", "+989121234567"),
        ("0912.123.4567", "+989121234567"),
        ("(0912) 123 4567", "+989121234567"),
        ("0912\u00a0123\u00a04567", "+989121234567"),
        ("0912\u200c123\u200c4567", "+989121234567"),
        ("\u200f0912 123 4567\u200e", "+989121234567"),
        ("  09121234567  ", "+989121234567"),
        ("+989121234567", "+989121234567"),
        ("+98 912 123 4567", "+989121234567"),
        ("+98 (0) 912 123 4567", "+989121234567"),
        ("(+98) 912-123-4567", "+989121234567"),
        ("00989121234567", "+989121234567"),
        ("0098 912 123 4567", "+989121234567"),
        ("9121234567", "+989121234567"),
        ("989121234567", "+989121234567"),
        ("۰۹۱2۱23۴۵67", "+989121234567"),
        ("+۹۸۹۱۲۱۲۳۴۵۶۷", "+989121234567"),
        ("09011234567", "+989011234567"),
        ("09301234567", "+989301234567"),
        ("09351234567", "+989351234567"),
        ("09901234567", "+989901234567"),
        ("09191234567", "+989191234567"),
        ("09211234567", "+989211234567"),
        ("09981234567", "+989981234567"),
        ("9981234567", "+989981234567"),
        ("+447911123456", "+447911123456"),
        ("0044 7911 123456", "+447911123456"),
    ],
)
def test_every_written_form_of_a_mobile_gives_one_e164(typed, e164):
    assert normalize_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u200c", "empty"),
        ("abc", "not_a_number"),
        ("0912123456a", "not_a_number"),
        ("0912 123 4567 ext 2", "not_a_number"),
        ("0912+1234567", "not_a_number"),
        ("+", "not_a_number"),
        ("0912", "too_short"),
        ("091212345", "too_short"),
        ("98912123456", "too_short"),
        ("+98 912", "too_short"),
        ("0912123456789", "too_long"),
        ("0" * 40, "too_long"),
        ("02188776655", "not_mobile"),
        ("021 8877 6655", "not_mobile"),
        ("+982188776655", "not_mobile"),
        ("982188776655", "not_mobile"),
        ("09411234567", "invalid"),
        ("+0912", "invalid"),
    ],
)
def test_what_is_not_a_mobile_number_is_refused_with_a_reason(typed, reason):
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone(typed)

    assert refused.value.reason == reason
    assert refused.value.key == f"error.phone.{reason}"
    assert str(refused.value).endswith(".")


def test_a_refusal_never_repeats_the_number_typed():
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone("02188776655")

    assert "8877" not in str(refused.value)


def test_a_foreign_mobile_needs_its_country_code():
    assert normalize_phone("+447911123456") == "+447911123456"
    with pytest.raises(InvalidPhone):
        normalize_phone("07911123456")


def test_the_region_decides_how_a_national_number_is_read():
    assert normalize_phone("07911 123456", region="GB") == "+447911123456"
    assert normalize_phone("07911 123456", region="gb") == "+447911123456"


def test_a_masked_number_keeps_country_operator_and_last_two_digits():
    assert mask_phone("+989121234567") == "+98 912 *** **67"


def test_a_stored_number_that_cannot_be_read_is_still_masked():
    assert mask_phone("garbage 1234567") == "***67"
    assert mask_phone("") == "***"


@pytest.mark.parametrize(
    ("e164", "region", "shown"),
    [
        ("+989121234567", "IR", "0912 123 4567"),
        ("+447911123456", "IR", "+44 7911 123456"),
        ("+447911123456", "GB", "07911 123456"),
        ("not a number", "IR", "not a number"),
    ],
)
def test_a_number_is_shown_nationally_at_home_and_internationally_abroad(e164, region, shown):
    assert format_phone(e164, region) == shown


# --- properties --------------------------------------------------------------------------


iranian_mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(IRANIAN_MOBILE_PREFIXES),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)


@st.composite
def foreign_mobiles(draw: st.DrawFn) -> phonenumbers.PhoneNumber:
    region = draw(st.sampled_from(FOREIGN_REGIONS))
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert example is not None
    national = str(example.national_number)
    tail = draw(st.text(alphabet="0123456789", min_size=2, max_size=2))
    number = phonenumbers.parse(f"+{example.country_code}{national[:-2]}{tail}", None)
    assert phonenumbers.is_valid_number(number)
    return number


def scatter(text: str, draw: st.DrawFn) -> str:
    """Return `text` with random separators and digit scripts, as people type it."""
    scripts: dict[str, Callable[[str], str]] = {
        "ascii": str,
        "persian": to_persian_digits,
        "arabic": lambda char: char.translate(ARABIC_INDIC),
    }
    out = []
    for char in text:
        written = scripts[draw(st.sampled_from(sorted(scripts)))](char)
        out.append(written + draw(st.sampled_from(["", "", "", " ", "-", "\u00a0", "\u200c"])))
    return "".join(out)


@given(st.text())
def test_arbitrary_text_is_either_a_number_or_an_invalid_phone(text):
    try:
        e164 = normalize_phone(text)
    except InvalidPhone:
        return

    assert e164 == normalize_phone(e164)


@given(st.text(alphabet="0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩+-() .\u00a0\u200c", max_size=30))
def test_digit_soup_is_either_a_number_or_an_invalid_phone(text):
    try:
        e164 = normalize_phone(text)
    except InvalidPhone:
        return

    assert e164.startswith("+")
    assert e164[1:].isascii()
    assert e164[1:].isdigit()


@given(iranian_mobiles, st.data())
def test_every_form_of_an_iranian_mobile_gives_the_same_e164(national, data):
    e164 = "+98" + national[1:]
    forms = [
        national,
        national[1:],
        "98" + national[1:],
        "0098" + national[1:],
        e164,
        format_phone(e164),
        phonenumbers.format_number(phonenumbers.parse(e164), PhoneNumberFormat.INTERNATIONAL),
        to_persian_digits(national),
        national.translate(ARABIC_INDIC),
        scatter(national, data.draw),
        "+" + scatter(e164[1:], data.draw),
    ]

    assert {normalize_phone(form) for form in forms} == {e164}


@given(foreign_mobiles(), st.data())
def test_every_form_of_a_foreign_mobile_gives_the_same_e164(number, data):
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(number)
    assert region is not None
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)

    assert normalize_phone(e164) == e164
    assert normalize_phone(international) == e164
    assert normalize_phone(to_persian_digits(international)) == e164
    assert normalize_phone("+" + scatter(e164[1:], data.draw)) == e164
    assert normalize_phone(national, region) == e164
    assert normalize_phone(to_persian_digits(national), region) == e164


@given(st.one_of(iranian_mobiles.map(normalize_phone), foreign_mobiles()))
def test_a_masked_number_shows_no_more_than_the_last_two_subscriber_digits(number):
    if isinstance(number, str):
        number = phonenumbers.parse(number)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    country = f"+{number.country_code}"
    significant = phonenumbers.national_significant_number(number)
    operator = phonenumbers.length_of_national_destination_code(number)

    masked = mask_phone(e164)

    assert masked.startswith(country + " ")
    visible = "".join(char for char in masked[len(country) :] if char.isdigit())
    head, tail = visible[:-2], visible[-2:]
    assert tail == significant[-2:]
    assert len(head) <= operator
    assert significant.startswith(head)
    assert masked.count("*") == len(significant) - len(visible)
