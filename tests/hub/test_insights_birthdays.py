"""Upcoming birthdays found in SQL by birth date equal each member's birthday worked out in
their own calendar, one by one (hub/insights/people.py `next_birthday`), across the
Persian new year, 30 Esfand in common years and 29 February; and a page at a time."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.hub.test_insights import Chain, at, chain

__all__ = ["chain"]  # a fixture, used by name


def born_around(center: date, rng: random.Random) -> list[date]:
    """Birth dates on and near the edges, in many years (leap and common)."""
    days = []
    for years_ago in (1, 2, 3, 4, 20, 33, 37, 45, 61, 99):
        for shift in range(-6, 9):
            try:
                day = center.replace(year=center.year - years_ago) + timedelta(days=shift)
            except ValueError:
                day = date(center.year - years_ago, 2, 28) + timedelta(days=shift)
            days.append(day)
    rng.shuffle(days)
    return days[:90]


@pytest.mark.parametrize(
    "now, center",
    [
        # Nowruz: 1 Farvardin (20 or 21 March), 29/30 Esfand before it.
        (datetime(2026, 3, 17, 9, 0, tzinfo=UTC), date(2026, 3, 20)),
        # 28 February in a common Gregorian year: those born on 29 February too.
        (datetime(2027, 2, 25, 9, 0, tzinfo=UTC), date(2027, 2, 28)),
        # A leap Jalali year's 30 Esfand (1403, on 20 March 2025).
        (datetime(2025, 3, 17, 9, 0, tzinfo=UTC), date(2025, 3, 20)),
    ],
)
def test_birthdays_found_by_date_are_those_of_each_members_calendar(
    chain: Chain, now: datetime, center: date
):
    from hub.insights.people import Birthday, birthdays_page, calendar_of, next_birthday
    from hub.insights.scope import Scope

    rng = random.Random(center.toordinal())
    branch = chain.branch("North")
    births = [*born_around(center, rng), date(2000, 2, 29), date(1996, 2, 29)]
    expected = set()
    scope = Scope()
    today = scope.today(now)
    for number, born in enumerate(births):
        language = "fa" if number % 2 else "en"
        member = chain.member(
            f"m{number:03}", at("2020-01-01 10:00"), (branch,), birthday=born, language=language
        )
        on = next_birthday(born, today, calendar_of(language))
        if on <= today + timedelta(days=9):
            expected.add((member, on))
    found = birthdays_page(scope, 10, limit=None, now=now).people
    assert {(b.member_id, b.on) for b in found} == expected
    assert [(b.on, b.member_id) for b in found] == sorted((b.on, b.member_id) for b in found)

    pages: list[Birthday] = []
    after: tuple[date, str] | None = None
    while True:
        page = birthdays_page(scope, 10, after=after, limit=7, now=now)
        pages += page.people
        if page.after is None:
            break
        after = page.after
    assert pages == list(found)
