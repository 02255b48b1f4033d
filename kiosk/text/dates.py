"""Reading dates that people type: Gregorian or Jalali, Persian or Latin digits."""

from __future__ import annotations

import re
from datetime import date

import jdatetime

from kiosk.errors import InvalidDate
from kiosk.text.digits import to_ascii_digits

# Jalali years in use are 13xx-14xx, Gregorian ones 19xx-20xx: the year tells the calendar.
_JALALI_BEFORE = 1700


def parse_date_input(text: str) -> date:
    """A date typed as year-month-day (`-`, `/` or `.`), Jalali when the year is below 1700."""
    cleaned = to_ascii_digits(text.strip())
    match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", cleaned)
    if not match:
        raise InvalidDate(reason="write it as year-month-day, e.g. 1370-05-12 or 1991-08-03")
    year, month, day = (int(part) for part in match.groups())
    try:
        if year < _JALALI_BEFORE:
            return jdatetime.date(year, month, day).togregorian()  # type: ignore[no-any-return]
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidDate(reason=f"there is no such day ({exc})") from exc
