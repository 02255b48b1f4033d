"""Mobile phone numbers: read what a person types, store E.164, show it masked or national.

Members are found by their mobile number, so every form a shopper or a cashier may type
(Persian digits, spaces, dashes, `+98`, `0098`, `0`, or no prefix at all) must end up as
the same E.164 string, and everything that is not a mobile number must be refused with a
reason the screen can explain. The validity and type of a number come from Google's
libphonenumber metadata (the `phonenumbers` package), which knows the operator ranges.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)

from kiosk.errors import InvalidPhone
from kiosk.text.digits import to_ascii_digits

# Characters people put between the digits: every Unicode space (NBSP included), the
# invisible joiners and direction marks that Persian keyboards and copy-paste leave
# behind, dashes, dots and brackets.
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u061c\ufeff\u202a\u202b\u202c\u202d\u202e"
_INVISIBLE += "\u2066\u2067\u2068\u2069"
_PUNCTUATION = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d.()[]"
_SEPARATORS = frozenset(_INVISIBLE + _PUNCTUATION)
_DIALLABLE = re.compile(r"\+?[0-9]+")
# No numbering plan has more than 17 digits after the country code (ITU-T E.164 allows 15
# in all); anything much longer is not worth handing to the library.
_MAX_DIGITS = 20
_ASCII_DIGITS = frozenset("0123456789")
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalize_phone(text: str, region: str = "IR") -> str:
    """Return the mobile number in `text` as E.164 ("+989121234567"); else InvalidPhone."""
    region = region.upper()
    dialled = _dialled_digits(text)
    number = _interpret(dialled, region)
    _require_mobile(number, region)
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def mask_phone(e164: str) -> str:
    """Return the number for screens and logs: country, operator and last 2 digits only."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return _mask_unreadable(e164)
    national = str(phonenumbers.national_significant_number(number))
    shown_head = phonenumbers.length_of_national_destination_code(number)
    # Never show more than half of the number, whatever the operator code's length.
    shown_head = min(shown_head, max(0, len(national) - 2 - len(national) // 2))
    prefix = f"+{number.country_code}"
    formatted = str(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))
    if not formatted.startswith(prefix) or _digits_in(formatted[len(prefix) :]) != national:
        return _mask_unreadable(e164)
    masked = []
    position = 0
    for char in formatted[len(prefix) :]:
        if char in _ASCII_DIGITS:
            keep = position < shown_head or position >= len(national) - 2
            masked.append(char if keep else "*")
            position += 1
        else:
            masked.append(char)
    return prefix + "".join(masked)


def format_phone(e164: str, region: str = "IR") -> str:
    """Return the number as people of `region` write it: national at home, international abroad."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    # By calling code, not region: +44 7911 is Guernsey's, and dialled as 07911 in the UK.
    if number.country_code == phonenumbers.country_code_for_region(region.upper()):
        return str(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    return str(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))


def _dialled_digits(text: str) -> str:
    """Return `text` as ASCII digits with an optional leading +, separators removed."""
    kept = [
        char for char in to_ascii_digits(text) if not char.isspace() and char not in _SEPARATORS
    ]
    dialled = "".join(kept)
    if not dialled:
        raise InvalidPhone("empty", "Please enter a mobile phone number.")
    if not _DIALLABLE.fullmatch(dialled):
        raise InvalidPhone(
            "not_a_number",
            "A phone number may contain only digits, spaces, dashes and a leading +.",
        )
    if len(dialled.lstrip("+")) > _MAX_DIGITS:
        raise InvalidPhone("too_long", "The phone number has too many digits.")
    return dialled


def _interpret(dialled: str, region: str) -> PhoneNumber:
    """Return the number `dialled` most plausibly means, dialled from `region`."""
    if dialled.startswith("+"):
        return _parse(dialled, None)
    country_code = phonenumbers.country_code_for_region(region)
    if not country_code or not dialled.startswith(str(country_code)):
        return _parse(dialled, region)
    # "98912..." is the country code without its +, but only if that makes a valid number
    # and the digits are not a valid national number already (as "9981234567" is, 0998).
    national = PhoneNumber(country_code=country_code, national_number=int(dialled))
    if phonenumbers.is_valid_number(national):
        return national
    try:
        international = phonenumbers.parse("+" + dialled, None)
    except NumberParseException:
        return national
    if phonenumbers.is_valid_number(international):
        return international
    too_long = ValidationResult.TOO_LONG
    if _mobile_length(national) == too_long and _mobile_length(international) != too_long:
        # "98 912 123 456" lacks a digit after +98; "too short" says more than "too long".
        return international
    return national


def _parse(dialled: str, region: str | None) -> PhoneNumber:
    """Return phonenumbers' reading of `dialled`, its parse errors turned into InvalidPhone."""
    try:
        return phonenumbers.parse(dialled, region)
    except NumberParseException as exc:
        if exc.error_type in (
            NumberParseException.TOO_SHORT_AFTER_IDD,
            NumberParseException.TOO_SHORT_NSN,
        ):
            raise _too_short(None, region) from None
        if exc.error_type == NumberParseException.TOO_LONG:
            raise _too_long(None, region) from None
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidPhone(
                "invalid", "The country code of this phone number does not exist."
            ) from None
        raise InvalidPhone(
            "not_a_number", "This does not look like a phone number; please type the digits."
        ) from None


def _require_mobile(number: PhoneNumber, region: str) -> None:
    """Raise InvalidPhone unless `number` is a valid mobile number."""
    if phonenumbers.is_valid_number(number):
        kind = phonenumbers.number_type(number)
        if kind in _MOBILE_TYPES:
            return
        if kind == PhoneNumberType.FIXED_LINE:
            raise InvalidPhone(
                "not_mobile", "This is a landline number; please enter a mobile number."
            )
        raise InvalidPhone(
            "not_mobile", "This is not a mobile phone number; please enter a mobile number."
        )
    length = _mobile_length(number)
    if length == ValidationResult.TOO_SHORT:
        raise _too_short(number, region)
    if length == ValidationResult.TOO_LONG:
        raise _too_long(number, region)
    raise InvalidPhone("invalid", "This is not a valid mobile number; please check the digits.")


def _mobile_length(number: PhoneNumber) -> int:
    """Return whether the length of `number` is possible for a mobile of its country."""
    return int(phonenumbers.is_possible_number_for_type_with_reason(number, PhoneNumberType.MOBILE))


def _too_short(number: PhoneNumber | None, region: str | None) -> InvalidPhone:
    """Return the error for a number with digits missing."""
    return InvalidPhone("too_short", f"The phone number is too short{_example(number, region)}.")


def _too_long(number: PhoneNumber | None, region: str | None) -> InvalidPhone:
    """Return the error for a number with digits to spare."""
    return InvalidPhone("too_long", f"The phone number is too long{_example(number, region)}.")


def _example(number: PhoneNumber | None, region: str | None) -> str:
    """Return "; a mobile number looks like 0912 345 6789" for the number's country, or ""."""
    if number is None or number.country_code is None:
        return ""
    home = phonenumbers.region_code_for_country_code(number.country_code)
    example = phonenumbers.example_number_for_type(home, PhoneNumberType.MOBILE)
    if example is None:
        return ""
    at_home = region is not None and number.country_code == phonenumbers.country_code_for_region(
        region.upper()
    )
    form = PhoneNumberFormat.NATIONAL if at_home else PhoneNumberFormat.INTERNATIONAL
    return f"; a mobile number looks like {phonenumbers.format_number(example, form)}"


def _digits_in(text: str) -> str:
    """Return the digits of `text`, in order."""
    return "".join(char for char in text if char in _ASCII_DIGITS)


def _mask_unreadable(text: str) -> str:
    """Return a mask for a stored number that cannot be parsed: only its last 2 digits."""
    digits = _digits_in(to_ascii_digits(text))
    return "***" + digits[-2:] if len(digits) >= 6 else "***"
