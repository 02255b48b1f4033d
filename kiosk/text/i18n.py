"""Words, numbers, money and dates in the shopper's language: Persian or English.

Every text a shopper or cashier sees is a message key looked up in the gettext
catalogues under `kiosk/locale/` (kept with Babel: `make translations`). Numbers get the
locale's thousands separator (Babel) and, in Persian, Persian digits when the config says
so; money is shown in the shop's entry unit (Rial or Toman) and stored as Rial; dates
are Jalali in Persian and Gregorian in English. This module gives logical text; the UI
shapes it for display (`kiosk.text.rtl`).
"""

from __future__ import annotations

import functools
import gettext
import string
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import jdatetime
from babel.numbers import format_decimal

from kiosk.errors import KioskError
from kiosk.text.digits import to_persian_digits
from kiosk.text.money import DECIMALS, Unit, to_unit

Language = Literal["fa", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "kiosk"
# The Babel locale of each language; Persian uses Iran's conventions.
BABEL_LOCALE: dict[Language, str] = {"fa": "fa_IR", "en": "en_US"}
FALLBACK_ERROR_KEY = "error.generic"


class MissingMessage(KeyError):
    """A message key that the catalogue of a language does not translate."""


@functools.cache
def catalogue(language: Language) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (loaded once)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def translated_keys(language: Language) -> set[str]:
    """Every key that `language`'s catalogue translates (for tests and diagnostics)."""
    messages: dict[str, str] = getattr(catalogue(language), "_catalog", {})
    return {key for key, text in messages.items() if key and text}


def placeholders(template: str) -> set[str]:
    """The `{name}` placeholders of a message template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Texts:
    """Everything language-dependent about one language on this kiosk."""

    language: Language
    unit: Unit = "toman"
    persian_digits: bool = True
    timezone: str = "Asia/Tehran"

    @property
    def rtl(self) -> bool:
        """Whether the language is written right to left."""
        return self.language == "fa"

    @property
    def native_digits(self) -> bool:
        """Whether numbers are shown in Persian digits."""
        return self.language == "fa" and self.persian_digits

    def template(self, key: str) -> str:
        """The raw catalogue text for `key`; MissingMessage if it is not translated."""
        text = catalogue(self.language).gettext(key)
        if text == key:
            raise MissingMessage(f"{key!r} is not translated in {self.language}")
        return text

    def tr(self, key: str, **params: Any) -> str:
        """The message `key` in this language, with `params` filled in and localised.

        Integers become grouped numbers in this language's digits; dates become dates of
        this language's calendar. Other values are inserted as they are (names, codes).
        """
        text = self.template(key)
        if self.native_digits:
            text = to_persian_digits(text)
        if not params:
            return text
        values = {name: self._param(value) for name, value in params.items()}
        return text.format_map(_Missing(values))

    def error(self, error: KioskError) -> str:
        """What to tell a person about `error`, in this language; never a traceback."""
        try:
            return self.tr(error.key, **error.params)
        except MissingMessage:
            return self.tr(FALLBACK_ERROR_KEY)

    def digits(self, text: str) -> str:
        """`text` with its digits in this language's script (a code or a phone, say)."""
        return to_persian_digits(text) if self.native_digits else text

    def number(self, value: int | Decimal) -> str:
        """A number with this language's thousands separators and digits."""
        if self.native_digits:
            grouped = format_decimal(value, locale="fa_IR", numbering_system="default")
            return to_persian_digits(grouped)
        return str(format_decimal(value, locale="en_US"))

    def points(self, value: int) -> str:
        """A number of points, signed when negative."""
        return self.number(value)

    def money(self, rial: int) -> str:
        """An amount of Rial shown in the entry unit with its name: "1,250,000 Toman"."""
        return self.tr(f"unit.{self.unit}.amount", amount=self.money_figure(rial))

    def money_figure(self, rial: int) -> str:
        """An amount of Rial in the entry unit, without the unit's name."""
        value = to_unit(rial, self.unit)
        if value == value.to_integral_value():
            value = value.quantize(Decimal(1))
        return self.number(value)

    def unit_name(self) -> str:
        """The name of the entry unit: "Toman", "تومان"."""
        return self.tr(f"unit.{self.unit}")

    def unit_decimals(self) -> int:
        """How many decimals an amount may be typed with in the entry unit."""
        return DECIMALS[self.unit]

    def date(self, day: date) -> str:
        """A date: Jalali with Persian month names in Persian, Gregorian in English."""
        if self.language == "fa":
            jalali = jdatetime.date.fromgregorian(date=day)
            month = jdatetime.date.j_months_fa[jalali.month - 1]
            return self.digits(f"{jalali.day} {month} {jalali.year}")
        return f"{day.strftime('%B')} {day.day}, {day.year}"

    def moment(self, when: datetime) -> str:
        """A date and time of day in the shop's time zone (for lists of transactions)."""
        local = when.astimezone(ZoneInfo(self.timezone))
        return f"{self.date(local.date())} {self.digits(local.strftime('%H:%M'))}"

    def _param(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | Decimal):
            return self.number(value)
        if isinstance(value, datetime):
            return self.moment(value)
        if isinstance(value, date):
            return self.date(value)
        return value


class _Missing(dict[str, Any]):
    """Leaves an unknown placeholder visible instead of raising in front of a shopper."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def N_(key: str) -> str:  # noqa: N802 - the name gettext tools know
    """Mark a message key for extraction where it is built, not shown (Babel keyword)."""
    return key
