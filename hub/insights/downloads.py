"""Each report as CSV, streamed a row at a time: numbers plain, dates ISO, phones masked.

Written with Python's csv module (quoting, separators and line ends as spreadsheets read
them), into Django's StreamingHttpResponse by the view: the rows go out as the query
yields them, so a chain's whole inactive list needs no memory. A text cell that a
spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe (OWASP's
advice on CSV injection; a phone number excepted): a member's name is typed at a counter.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from hub.insights.people import Birthday, InactiveMember
from hub.insights.reports import DayRow, RewardRow, TierRow
from hub.insights.rfm import RfmReport
from hub.insights.scope import Scope

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
# A phone number (E.164, or masked): digits and stars after its "+" run nothing, and an
# apostrophe before it would be read as part of the number.
_PHONE = re.compile(r"\+[0-9*]{4,20}")


class _Echo:
    """A file that hands back what is written: csv.writer's row as a string (Django's docs)."""

    def write(self, value: str) -> str:
        return value


def mask_phone(phone: str | None) -> str:
    """A phone number with its middle hidden: +98912*****67 (country, operator, last two)."""
    if not phone:
        return ""
    if len(phone) <= 8:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 8) + phone[-2:]


def cell(value: object, scope: Scope) -> str:
    """One value as a CSV cell: plain numbers, ISO dates (times in the chain's zone)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, datetime):
        return value.astimezone(scope.tz).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA) and not _PHONE.fullmatch(text):
        return "'" + text
    return text


def stream(header: Sequence[str], rows: Iterable[Sequence[object]], scope: Scope) -> Iterator[str]:
    """The CSV text, a line at a time: the header, then each row."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([cell(v, scope) for v in row])


def by_day_rows(rows: Iterable[DayRow]) -> tuple[list[str], Iterator[list[object]]]:
    """Header and rows of the visits-and-purchases report."""
    header = [
        "day",
        "branch_id",
        "branch",
        "visits",
        "purchases",
        "purchase_total_rial",
        "points_issued",
        "points_redeemed",
    ]
    return header, (
        [
            r.day,
            r.branch_id,
            r.branch,
            r.visits,
            r.purchases,
            r.purchase_total,
            r.points_issued,
            r.points_redeemed,
        ]
        for r in rows
    )


def tier_rows(rows: Iterable[TierRow]) -> tuple[list[str], Iterator[list[object]]]:
    """Header and rows of the tier distribution."""
    header = ["tier", "name_fa", "name_en", "threshold", "members"]
    return header, ([r.tier, r.name_fa, r.name_en, r.threshold, r.members] for r in rows)


def reward_rows(rows: Iterable[RewardRow]) -> tuple[list[str], Iterator[list[object]]]:
    """Header and rows of the rewards redeemed."""
    header = ["reward", "name_fa", "name_en", "redemptions", "points", "members"]
    return header, (
        [r.reward_id, r.name_fa, r.name_en, r.redemptions, r.points, r.members] for r in rows
    )


def rfm_rows(report: RfmReport) -> tuple[list[str], Iterator[list[object]]]:
    """Header and rows of the RFM segments (and the members without purchases)."""
    header = ["segment", "members", "purchases", "purchase_total_rial", "mean_days_since_last"]
    rows: list[list[object]] = [
        [s.segment, s.members, s.purchases, s.purchase_total, s.mean_days_since_last]
        for s in report.segments
    ]
    rows.append(["without_purchases", report.without_purchases, 0, 0, None])
    return header, iter(rows)


def inactive_rows(
    members: Iterable[InactiveMember], *, personal: bool
) -> tuple[list[str], Iterator[list[object]]]:
    """Header and rows of inactive members; phones masked and names left out unless
    `personal` (the reader may see personal data)."""
    header = ["member_id", "status", "phone", "name", "joined_at", "last_visit_at"]
    return header, (
        [
            m.member_id,
            m.status,
            m.phone if personal else mask_phone(m.phone),
            m.name if personal else "",
            m.joined_at,
            m.last_visit_at,
        ]
        for m in members
    )


def birthday_rows(
    birthdays: Iterable[Birthday], *, personal: bool
) -> tuple[list[str], Iterator[list[object]]]:
    """Header and rows of upcoming birthdays (masked as `inactive_rows`)."""
    header = ["member_id", "phone", "name", "calendar", "on", "in_days"]
    return header, (
        [
            b.member_id,
            b.phone if personal else mask_phone(b.phone),
            b.name if personal else "",
            b.calendar,
            b.on,
            b.in_days,
        ]
        for b in birthdays
    )
