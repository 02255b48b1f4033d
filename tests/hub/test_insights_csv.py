"""The reports' CSV: what a spreadsheet opens (numbers plain, dates ISO, phones masked)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from tests.hub.test_insights import chain

if TYPE_CHECKING:
    from hub.insights.people import InactiveMember

# The insights import Django's models: Django is set up (on a test database) first.
pytestmark = pytest.mark.usefixtures("chain")
__all__ = ["chain"]


def _read(lines: list[str]) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def test_numbers_are_plain_and_dates_iso():
    from hub.insights.downloads import by_day_rows, stream
    from hub.insights.reports import DayRow
    from hub.insights.scope import Scope

    header, rows = by_day_rows(
        [DayRow(date(2026, 6, 9), 3, "ولیعصر", 12, 10, 12_500_000, 125, -40)]
    )

    table = _read(list(stream(header, rows, Scope())))

    assert table == [
        [
            "day",
            "branch_id",
            "branch",
            "visits",
            "purchases",
            "purchase_total_rial",
            "points_issued",
            "points_redeemed",
        ],
        ["2026-06-09", "3", "ولیعصر", "12", "10", "12500000", "125", "-40"],
    ]


def _member(name: str) -> InactiveMember:
    from hub.insights.people import InactiveMember

    return InactiveMember(
        member_id="m1",
        status="active",
        phone="+989121234567",
        name=name,
        joined_at=datetime(2025, 1, 1, 21, 0, tzinfo=UTC),
        last_visit_at=None,
    )


def test_phones_are_masked_and_names_left_out_unless_the_reader_may_see_them():
    from hub.insights.downloads import inactive_rows, stream
    from hub.insights.scope import Scope

    header, masked = inactive_rows([_member("Sara")], personal=False)
    _, shown = inactive_rows([_member("Sara")], personal=True)

    hidden_table = _read(list(stream(header, masked, Scope())))
    shown_table = _read(list(stream(header, shown, Scope())))

    # Joined 21:00 UTC on 1 January: 00:30 on 2 January in Tehran, with its offset.
    assert hidden_table[1] == ["m1", "active", "+98912*****67", "", "2025-01-02T00:30:00+03:30", ""]
    assert shown_table[1][2:4] == ["+989121234567", "Sara"]
    assert "1234" not in "".join(",".join(row) for row in hidden_table)


def test_a_name_that_a_spreadsheet_would_run_is_kept_as_text():
    from hub.insights.downloads import inactive_rows, stream
    from hub.insights.scope import Scope

    header, rows = inactive_rows([_member('=HYPERLINK("http://x","y")')], personal=True)

    table = _read(list(stream(header, rows, Scope())))

    assert table[1][3] == '\'=HYPERLINK("http://x","y")'


def test_birthdays_csv():
    from hub.insights.downloads import birthday_rows, stream
    from hub.insights.people import Birthday
    from hub.insights.scope import Scope

    birthday = Birthday(
        "m1", "+989121234567", "Sara", "fa", date(1996, 3, 20), "jalali", date(2026, 3, 21), 4
    )

    header, rows = birthday_rows([birthday], personal=False)

    assert _read(list(stream(header, rows, Scope())))[1] == [
        "m1",
        "+98912*****67",
        "",
        "jalali",
        "2026-03-21",
        "4",
    ]


def test_mask_phone_keeps_country_operator_and_last_two():
    from hub.insights.downloads import mask_phone

    assert mask_phone("+989121234567") == "+98912*****67"
    assert mask_phone(None) == ""
    assert mask_phone("+9812") == "*****"
