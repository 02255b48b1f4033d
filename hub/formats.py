"""The protocol's value formats (docs/sync-protocol.md, "Transport"), read and written.

Times are UTC with microseconds and a `Z`; money and points are integers that PostgreSQL's
bigint holds. Text that PostgreSQL cannot store (a NUL character, a lone surrogate from a
`\\ud800` escape) is refused here, before it reaches a query.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_int64(value: object, minimum: int = INT64_MIN) -> bool:
    """A JSON integer (not a boolean) that a bigint holds, at least `minimum`."""
    return type(value) is int and minimum <= value <= INT64_MAX


def storable(text: str) -> bool:
    """Whether PostgreSQL can store `text` (no NUL, valid UTF-8: no lone surrogate)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_text(value: object) -> bool:
    """A string PostgreSQL can store."""
    return isinstance(value, str) and storable(value)


def all_storable(value: object) -> bool:
    """Whether jsonb can hold a JSON value: storable strings (keys too), finite numbers.

    Python's json reads NaN and Infinity, which jsonb refuses: stored as they came, they
    would fail the push each time the kiosk repeats it.
    """
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(storable(k) and all_storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(all_storable(v) for v in value)
    return True


def parse_timestamp(value: object) -> datetime | None:
    """A protocol timestamp (`2026-11-23T09:30:00.000000Z`) as an aware datetime, or None."""
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return None
    # The shape is known: its fields by position (strptime costs ten times as much, and
    # a push reads two of these per entry).
    try:
        return datetime(
            int(value[0:4]),
            int(value[5:7]),
            int(value[8:10]),
            int(value[11:13]),
            int(value[14:16]),
            int(value[17:19]),
            int(value[20:26]),
            tzinfo=UTC,
        )
    except ValueError:  # 2026-02-30 has the shape of a date, not the meaning; nor year 0
        return None


def parse_date(value: object) -> date | None:
    """An ISO date (`1990-05-17`), or None."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def to_timestamp(moment: datetime) -> str:
    """The protocol's form of a time: UTC, microseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
