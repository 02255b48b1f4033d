"""The program form's fields, read one at a time: each says what is wrong with it, in
Persian and English, beside the field (hub/program/draft.py and draft_sections.py).

Numbers may be typed with Persian digits and separators; money in the chain's display unit
(Toman or Rial), kept in Rial; a date Jalali (1405/01/15) or Gregorian, kept as an ISO
Gregorian date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

import jdatetime

from hub.program.preview import RIAL_PER_UNIT
from hub.program.wording import Text, ascii_digits, persian_digits

LARGEST = 2**53 - 1
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
# A typed year below this is a Jalali one (1405 is 2026): the two calendars' years in use
# are six centuries apart.
JALALI_BEFORE = 1700


# -- one field -------------------------------------------------------------------------


def whole(values: Mapping[str, str], key: str, least: int, errors: dict[str, Text]) -> int | None:
    text = ascii_digits(values.get(key, ""))
    if not text:
        errors[key] = Text("این را پر کنید.", "Fill this in.")
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > LARGEST:
        errors[key] = Text("یک عدد درست بنویسید، مانند ۱۰۰.", "Type a whole number, like 100.")
        return None
    if int(text) < least:
        errors[key] = Text(
            f"کمتر از {persian_digits(least)} نمی‌شود.", f"It must be at least {least}."
        )
        return None
    return int(text)


def money(
    values: Mapping[str, str], key: str, unit: str, least: int, errors: dict[str, Text]
) -> int | None:
    """An amount typed in `unit`, in Rial; a Toman amount may have one decimal (a Rial)."""
    text = ascii_digits(values.get(key, "")).replace("٫", ".")
    if not text:
        errors[key] = Text("این را پر کنید.", "Fill this in.")
        return None
    whole, _, tenth = text.partition(".")
    scale = RIAL_PER_UNIT[unit]
    ok = whole.isascii() and whole.isdigit() and len(whole) <= 16
    ok = ok and (not tenth or (scale == 10 and len(tenth) == 1 and tenth.isdigit()))
    if not ok:
        errors[key] = Text(
            "مبلغ را به عدد بنویسید، مانند ۱۰۰٬۰۰۰.", "Type the amount as a number, like 100,000."
        )
        return None
    rial = int(whole) * scale + (int(tenth) if tenth else 0)
    if not least <= rial <= LARGEST:
        errors[key] = Text("این مبلغ پذیرفته نیست.", "This amount is out of range.")
        return None
    return rial


def money_text(rial: int, unit: str) -> str:
    """Rial in `unit`, thousands grouped as people read amounts (read back without them)."""
    scale = RIAL_PER_UNIT[unit]
    whole = f"{rial // scale:,}"
    return whole if rial % scale == 0 else f"{whole}.{rial % scale}"


def day(values: Mapping[str, str], key: str, errors: dict[str, Text]) -> str:
    """A date typed Jalali (1405/01/15: a year below 1700) or Gregorian (2026-04-04), as
    the ISO Gregorian date the program carries."""
    text = ascii_digits(values.get(key, ""))
    if not text:
        return ""
    parts = _DATE.fullmatch(text)
    day: date | None = None
    if parts is not None:
        year, month, dom = (int(p) for p in parts.groups())
        try:
            if year < JALALI_BEFORE:
                day = jdatetime.date(year, month, dom).togregorian()
            else:
                day = date(year, month, dom)
        except ValueError:
            day = None
    if day is None:
        errors[key] = Text(
            "تاریخ را مانند ۱۴۰۵/۰۱/۱۵ بنویسید.", "Type a date like 2026-04-04 (or 1405/01/15)."
        )
        return ""
    return day.isoformat()


# -- the lists ---------------------------------------------------------------------------


def rows(values: Mapping[str, str], prefix: str, names: tuple[str, ...], most: int) -> list[int]:
    """The indexes of the rows filled in and not marked to remove, in the form's order."""
    found = []
    for i in range(most):
        if values.get(f"{prefix}-{i}-remove"):
            continue
        if any(values.get(f"{prefix}-{i}-{n}", "").strip() for n in names if n != "kind"):
            found.append(i)
    return found


def ident(values: Mapping[str, str], key: str, seen: set[str], errors: dict[str, Text]) -> str:
    text = values.get(key, "").strip()
    if not _ID.fullmatch(text):
        errors[key] = Text(
            "شناسه: حروف و رقم‌های انگلیسی، بدون فاصله (مانند gold).",
            "Id: English letters and digits, no spaces (like gold).",
        )
    elif text in seen:
        errors[key] = Text("این شناسه دو بار آمده است.", "This id is used twice.")
    seen.add(text)
    return text


def names(values: Mapping[str, str], prefix: str, errors: dict[str, Text]) -> dict[str, str]:
    names = {}
    for language in ("fa", "en"):
        key = f"{prefix}-name_{language}"
        text = values.get(key, "").strip()
        if not text or len(text) > 80 or "\x00" in text:
            errors[key] = Text(
                "نام را به هر دو زبان بنویسید (تا ۸۰ نویسه).",
                "Give the name in both languages (up to 80 characters).",
            )
        names[f"name_{language}"] = text
    return names
