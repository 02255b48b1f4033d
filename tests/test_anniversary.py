"""The birthday window (days before and after) and the anniversary of joining, as tables and
on a real ledger: once a year each, `bonus` entries with their reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import jdatetime
import pytest

from kiosk.core.program import anniversary_occurrence, birthday_occurrence
from kiosk.core.store.staff import CLI, Actor
from kiosk.core.store.verify import verify_ledger


def j(year: int, month: int, day: int) -> date:
    """A Jalali day as the Gregorian date the code sees."""
    found: date = jdatetime.date(year, month, day).togregorian()
    return found


@pytest.mark.parametrize(
    ("birthday", "today", "calendar", "after", "before", "occurrence"),
    [
        # 3 days before, 7 days from: 2 Farvardin 1380 ...
        (j(1380, 1, 2), j(1404, 12, 27), "jalali", 7, 3, None),  # 4 days before 2 Farvardin
        (j(1380, 1, 2), j(1404, 12, 28), "jalali", 7, 3, j(1405, 1, 2)),  # across Nowruz
        (j(1380, 1, 2), j(1405, 1, 8), "jalali", 7, 3, j(1405, 1, 2)),  # the 7th day
        (j(1380, 1, 2), j(1405, 1, 9), "jalali", 7, 3, None),
        # 30 December: the window runs across 1 January into the next Gregorian year.
        (date(1990, 12, 30), date(2027, 1, 2), "gregorian", 7, 3, date(2026, 12, 30)),
        (date(1990, 12, 30), date(2026, 12, 27), "gregorian", 7, 3, date(2026, 12, 30)),
        (date(1990, 12, 30), date(2026, 12, 26), "gregorian", 7, 3, None),
        # 2 January, 3 days before: from 30 December of the year before.
        (date(1990, 1, 2), date(2026, 12, 30), "gregorian", 7, 3, date(2027, 1, 2)),
        # 30 Esfand (a leap year's) falls back to 29 Esfand in 1404, a common year.
        (j(1399, 12, 30), j(1404, 12, 29), "jalali", 1, 0, j(1404, 12, 29)),
        (j(1399, 12, 30), j(1404, 12, 28), "jalali", 1, 1, j(1404, 12, 29)),
        (j(1399, 12, 30), j(1405, 1, 1), "jalali", 1, 0, None),
        # 29 February in 2026 is 28 February.
        (date(2000, 2, 29), date(2026, 2, 28), "gregorian", 1, 0, date(2026, 2, 28)),
        (date(2000, 2, 29), date(2026, 3, 1), "gregorian", 1, 0, None),
        # No days before (the default): the window starts on the birthday, as it always did.
        (date(1990, 5, 10), date(2026, 5, 9), "gregorian", 7, 0, None),
        (date(1990, 5, 10), date(2026, 5, 10), "gregorian", 7, 0, date(2026, 5, 10)),
    ],
)
def test_the_birthday_window_opens_days_before_and_closes_days_after(
    birthday, today, calendar, after, before, occurrence
):
    assert birthday_occurrence(birthday, today, calendar, after, before) == occurrence


@pytest.mark.parametrize(
    ("joined", "today", "calendar", "occurrence"),
    [
        (j(1403, 5, 10), j(1403, 5, 10), "jalali", None),  # the joining day itself
        (j(1403, 5, 10), j(1404, 5, 9), "jalali", None),
        (j(1403, 5, 10), j(1404, 5, 10), "jalali", j(1404, 5, 10)),
        (j(1403, 5, 10), j(1404, 5, 16), "jalali", j(1404, 5, 10)),  # the 7th day
        (j(1403, 5, 10), j(1404, 5, 17), "jalali", None),
        # Joined on 30 Esfand 1403 (leap): 29 Esfand 1404, and the window crosses Nowruz.
        (j(1403, 12, 30), j(1404, 12, 29), "jalali", j(1404, 12, 29)),
        (j(1403, 12, 30), j(1405, 1, 6), "jalali", j(1404, 12, 29)),  # the 7th day
        (j(1403, 12, 30), j(1405, 1, 7), "jalali", None),
        # Joined on 29 February 2024: 28 February 2025, and 29 February again in 2028.
        (date(2024, 2, 29), date(2025, 2, 28), "gregorian", date(2025, 2, 28)),
        (date(2024, 2, 29), date(2028, 2, 29), "gregorian", date(2028, 2, 29)),
        # 31 December: the window crosses 1 January.
        (date(2024, 12, 31), date(2026, 1, 3), "gregorian", date(2025, 12, 31)),
    ],
)
def test_the_anniversary_comes_round_in_the_members_calendar(joined, today, calendar, occurrence):
    assert anniversary_occurrence(joined, today, calendar, 7) == occurrence


@pytest.fixture
def counter(open_service, txn):
    service = open_service(
        "program.anniversary_bonus=30",
        "program.birthday_window_before_days=3",
        "program.enrollment_bonus=0",
    )
    staff = service.staff.add(name="C", role="cashier", pin="3691", actor=CLI)
    return service, Actor(staff.staff_id, "cashier")


def bonuses(service, member_id):
    rows = service.conn.execute(
        "SELECT reason, points, client_txn_id FROM entries WHERE member_id = ? AND kind = 'bonus' "
        "ORDER BY seq",
        (member_id,),
    ).fetchall()
    return [tuple(r) for r in rows]


def test_the_anniversary_bonus_is_given_once_a_year_with_its_reason(counter, clock, txn):
    service, cashier = counter
    clock.now = datetime(2025, 3, 20, 8, 0, tzinfo=UTC)  # 30 Esfand 1403, a leap year
    member = service.enroll("09121234567", client_txn_id=txn()).member_id

    service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())  # the joining day
    clock.now = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)  # 29 Esfand 1404: its anniversary
    first = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())
    clock.advance(days=2)  # 2 Farvardin 1405: still in the window, across Nowruz
    second = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert [(b.reason, b.points) for b in first.bonuses] == [("anniversary", 30)]
    assert second.bonuses == []
    assert bonuses(service, member) == [
        ("anniversary", 30, f"anniversary:{member}:2026-03-20"),
    ]
    clock.now = datetime(2027, 3, 20, 8, 0, tzinfo=UTC)  # 29 Esfand 1405: the next year's
    third = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())
    assert [(b.reason, b.points) for b in third.bonuses] == [("anniversary", 30)]
    assert verify_ledger(service.conn).ok


def test_the_birthday_bonus_comes_days_before_and_only_once(counter, clock, txn):
    service, cashier = counter
    birthday = j(1370, 1, 2)  # 2 Farvardin
    member = service.enroll(
        "09121234567", client_txn_id=txn(), birthday=birthday
    ).member_id  # 10 Esfand 1404

    clock.now = datetime.combine(j(1404, 12, 27), datetime.min.time(), UTC) + timedelta(hours=8)
    early = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())
    clock.advance(days=1)  # 28 Esfand 1404 (a common year): 3 days before 2 Farvardin
    opened = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())
    clock.advance(days=4)  # 3 Farvardin, after the new year
    again = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert early.bonuses == []
    assert [(b.reason, b.points) for b in opened.bonuses] == [("birthday", 100)]
    assert again.bonuses == []
    assert bonuses(service, member) == [("birthday", 100, f"birthday:{member}:{j(1405, 1, 2)}")]
