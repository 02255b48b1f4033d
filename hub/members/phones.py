"""Phone numbers as people type them into the panel's search box, read as E.164.

The kiosk's reader (kiosk/text/phone.py) cannot be imported here: the hub's wheel carries
none of the kiosk's code but the protocol's signing (tests/hub/test_packaging.py), and the
hub may import nothing else of it (tests/test_architecture.py). So the one source both
read from is the same library at the same pinned version, libphonenumber's metadata (the
`phonenumbers` package), which already reads Persian and Arabic-Indic digits, spaces,
dashes, `+98`, `0098` and a leading 0; tests/hub/test_member_ops_search.py checks that the
hub reads every form the kiosk reads as the kiosk does. A search needs less than the
kiosk's enrollment: no reasons for a refusal, only every number the text may mean.
"""

from __future__ import annotations

import phonenumbers

REGION = "IR"  # the chain's own country: a number typed with a leading 0 is dialled here
_MOST_DIGITS = 20


def phone_candidates(text: str, region: str = REGION) -> list[str]:
    """Every valid E.164 number `text` may be (none when it is not a phone number).

    "98912..." is read both as dialled at home and as +98 without its plus: a search may
    look for both, where enrollment must pick one.
    """
    digits = [c for c in text if c.isdigit()]
    if not 6 <= len(digits) <= _MOST_DIGITS:
        return []
    found: list[str] = []
    readings = [text] if text.lstrip().startswith("+") else [text, "+" + text.strip()]
    for reading in readings:
        try:
            number = phonenumbers.parse(reading, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
            if e164 not in found:
                found.append(e164)
    return found


def mask_phone(e164: str | None) -> str:
    """The number with its subscriber digits hidden but the last two: +98912*****67."""
    if not e164:
        return ""
    try:
        country = len(str(phonenumbers.parse(e164, None).country_code))
    except phonenumbers.NumberParseException:
        country = 2
    shown = 1 + country + 3  # "+", the country code and the operator's three digits
    hidden = max(0, len(e164) - shown - 2)
    return e164[:shown] + "*" * hidden + e164[shown + hidden :]
