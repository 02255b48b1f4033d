"""Purchase amounts: the ledger stores whole Rial; cashiers type Rial or Toman.

1 Toman = 10 Rial. Shops price in Toman, banks and receipts print Rial, and a cashier
types whatever the shop's `money.entry_unit` says, so an amount is converted exactly once,
here, from the text typed to an integer of Rial. Floats are never used: an amount is
read digit by digit and converted with integers and `decimal.Decimal`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal, get_args

from kiosk.errors import InvalidAmount
from kiosk.text.digits import to_ascii_digits

Unit = Literal["rial", "toman"]
UNITS: tuple[Unit, ...] = get_args(Unit)
RIAL_PER_TOMAN = 10
# Decimal places each unit may be typed with: a Toman has ten Rial, a Rial has no parts.
DECIMALS: dict[Unit, int] = {"rial": 0, "toman": 1}
_RIAL_PER: dict[Unit, int] = {"rial": 1, "toman": RIAL_PER_TOMAN}
# 10**18 Rial is far beyond any purchase and still fits SQLite's 64-bit integers.
MAX_DIGITS = 18

# Thousands separators, one between groups: "," and the Arabic thousands separator and
# comma (٬ ،), the apostrophe (ASCII or typographic) and any Unicode space (NBSP, thin).
_GROUP = r"[,\u066c\u060c'\u2019\s]"
_AMOUNT = re.compile(rf"(?P<whole>[0-9]+(?:{_GROUP}[0-9]+)*)(?:[.\u066b](?P<fraction>[0-9]+))?")
_GROUP_SPLIT = re.compile(_GROUP)
_MINUS = "-\u2212\u2010\u2011\u2012\u2013\ufe63\uff0d"
# Invisible marks that Persian keyboards and copy-paste leave around a number.
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u061c\ufeff\u2066\u2067\u2068\u2069"
_INVISIBLE += "\u202a\u202b\u202c\u202d\u202e"
# Every Unicode space (they all lie below U+3001) plus the invisible marks.
_BLANK = "".join(char for char in map(chr, range(0x3001)) if char.isspace()) + _INVISIBLE


def parse_amount(text: str, unit: Unit) -> int:
    """Return the amount typed in `text`, in `unit`, as whole Rial; or raise InvalidAmount."""
    decimals = _decimals(unit)
    cleaned = _strip(to_ascii_digits(text))
    if not cleaned:
        raise InvalidAmount("empty", "Please enter an amount.")
    # A right-to-left keyboard may leave the minus sign after the digits.
    negative = cleaned[0] in _MINUS or cleaned[-1] in _MINUS
    if negative:
        cleaned = _strip(cleaned[1:] if cleaned[0] in _MINUS else cleaned[:-1])
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise InvalidAmount("not_a_number", "The amount must be written in digits, like 1,250,000.")
    groups = _GROUP_SPLIT.split(match["whole"])
    # "12,5" is 12.5 where a comma is the decimal point; refuse it rather than read 125.
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(group) != 3 for group in groups[1:])):
        raise InvalidAmount(
            "not_a_number",
            "Thousands separators must split the amount into groups of three digits,"
            " like 1,250,000.",
        )
    if negative:
        raise InvalidAmount("negative", "The amount cannot be negative.")
    fraction = match["fraction"] or ""
    if len(fraction) > decimals:
        raise _too_precise(unit)
    whole = "".join(groups).lstrip("0")
    if len(whole) > MAX_DIGITS:
        raise _too_large()
    rial = int(whole or "0") * _rial_per(unit) + int(fraction.ljust(decimals, "0") or "0")
    if rial >= 10**MAX_DIGITS:
        raise _too_large()
    return rial


def to_unit(rial: int, unit: Unit) -> Decimal:
    """Return `rial` expressed in `unit`, exactly (12345 rial is Decimal("1234.5") toman)."""
    sign, digits, exponent = Decimal(rial).as_tuple()
    # Built from its digits, not divided: Decimal division rounds to the context precision.
    return Decimal((sign, digits, int(exponent) - _decimals(unit)))


def rial_from_unit(value: int | Decimal, unit: Unit) -> int:
    """Return `value` in `unit` as whole Rial; raise InvalidAmount if it has parts of a Rial."""
    decimals = _decimals(unit)
    if isinstance(value, int):
        rial = value * _rial_per(unit)
    elif not value.is_finite():
        raise InvalidAmount("not_a_number", "The amount is not a number.")
    elif not value:
        return 0
    else:
        # Shifted digit by digit: Decimal arithmetic would round to the context precision.
        sign, digits, exponent = value.as_tuple()
        shift = int(exponent) + decimals
        if len(digits) + shift > MAX_DIGITS:
            raise _too_large()
        whole: tuple[int, ...] = digits + (0,) * shift if shift >= 0 else digits[:shift]
        fraction: tuple[int, ...] = () if shift >= 0 else digits[shift:]
        if any(fraction):
            raise _too_precise(unit)
        magnitude = int("".join(map(str, whole)) or "0")
        rial = -magnitude if sign else magnitude
    if abs(rial) >= 10**MAX_DIGITS:
        raise _too_large()
    return rial


def _decimals(unit: Unit) -> int:
    """Return how many decimal places `unit` allows; raise ValueError for an unknown unit."""
    try:
        return DECIMALS[unit]
    except KeyError:
        raise ValueError(f"unknown money unit {unit!r}; expected one of {UNITS}") from None


def _rial_per(unit: Unit) -> int:
    """Return how many Rial one `unit` is."""
    _decimals(unit)
    return _RIAL_PER[unit]


def _strip(text: str) -> str:
    """Return `text` without surrounding spaces and invisible marks."""
    return text.strip(_BLANK)


def _too_precise(unit: Unit) -> InvalidAmount:
    """Return the error for an amount with more decimals than `unit` has."""
    if unit == "rial":
        message = "Amounts in Rial are whole numbers; remove the decimal part."
    else:
        message = "Amounts in Toman have at most one digit after the decimal point."
    return InvalidAmount("too_precise", message)


def _too_large() -> InvalidAmount:
    """Return the error for an amount beyond any purchase."""
    return InvalidAmount(
        "too_large",
        f"The amount is too large; the kiosk records at most {MAX_DIGITS} digits of Rial.",
    )
