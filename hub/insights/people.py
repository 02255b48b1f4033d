"""Reports that name people: inactive members and upcoming birthdays.

They return the personal fields as the hub holds them; masking is the caller's (the view
knows who reads: a support user never sees a phone number), and so is the audit of who
opened them. An erased member has no personal data and no birthday: they appear among the
inactive as an id alone.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import jdatetime
from django.utils import timezone

from hub.insights import sql
from hub.insights.scope import Scope

PAGE = 50
# Named, so that jdatetime does not ask the C library for the process's locale at every
# date it makes (two thirds of its time); the names of months are not used here.
_LOCALE = jdatetime.FA_LOCALE


@dataclass(frozen=True)
class InactiveMember:
    """A member with no visit (purchase or redemption) at the scope's branches lately."""

    member_id: str
    status: str
    phone: str | None
    name: str | None
    joined_at: datetime
    last_visit_at: datetime | None  # None: never, at the scope's branches


@dataclass(frozen=True)
class InactivePage:
    """One page of inactive members, oldest members first; `after` to ask for the next."""

    members: tuple[InactiveMember, ...]
    after: tuple[datetime, str] | None  # None: this was the last page


def inactive_members(
    scope: Scope,
    days: int,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int = PAGE,
    now: datetime | None = None,
) -> InactivePage:
    """Members (joined before the cut) with no visit in the last `days` days, a page.

    Pages by (joined, member id), the keyset `after` from the page before: each page is
    found by walking the members in that order (an index) and looking up each one's last
    visit (an index of the member's entries), until the page is full.
    """
    cut = (now or timezone.now()) - timedelta(days=days)
    joined, member = after if after is not None else (None, "")
    found = sql.rows(
        f"""
        SELECT m.member_id, m.status, m.phone, m.name, m.created_at, last.at
        FROM hub_member m
        CROSS JOIN LATERAL (
            SELECT max(e.created_at) AS at
            FROM hub_entry e
            {sql.JOIN_DEVICE}
            WHERE e.member_id IN (
                    SELECT m.member_id
                    UNION ALL
                    SELECT x.member_id FROM hub_member x WHERE x.merged_into = m.member_id)
              AND e.kind IN ('earn', 'redeem') AND {sql.ENTRY_SCOPE}
        ) last
        WHERE m.merged_into IS NULL AND m.created_at < %(cut)s
          AND {sql.MEMBER_IN_SCOPE}
          AND (%(joined)s::timestamptz IS NULL
               OR (m.created_at, m.member_id) > (%(joined)s, %(member)s))
          AND (last.at IS NULL OR last.at < %(cut)s)
        ORDER BY m.created_at, m.member_id
        LIMIT %(limit)s
        """,
        {
            "branches": scope.branch_list(),
            "cut": cut,
            "joined": joined,
            "member": member,
            "limit": limit + 1,
        },
    )
    members = tuple(
        InactiveMember(
            member_id=str(row[0]),
            status=str(row[1]),
            phone=row[2],
            name=row[3],
            joined_at=row[4],
            last_visit_at=row[5],
        )
        for row in found[:limit]
    )
    more = len(found) > limit
    return InactivePage(
        members=members,
        after=(members[-1].joined_at, members[-1].member_id) if more and members else None,
    )


@dataclass(frozen=True)
class Birthday:
    """A member's birthday coming up, in their own calendar."""

    member_id: str
    phone: str | None
    name: str | None
    language: str | None
    birthday: date  # as held (Gregorian)
    calendar: str  # jalali (Persian members) or gregorian
    on: date  # the day it comes round (Gregorian), in the chain's days
    in_days: int  # 0: today


def calendar_of(language: str | None) -> str:
    """The calendar a member counts birthdays in: Jalali for Persian, else Gregorian."""
    return "jalali" if (language or "").startswith("fa") else "gregorian"


def next_birthday(birthday: date, today: date, calendar: str) -> date:
    """The first day from `today` on which the birthday comes round, in `calendar`.

    In the Jalali calendar it comes round on the same Jalali day and month (30 Esfand in a
    common year falls back to 29 Esfand); in the Gregorian, 29 February to 28 February in a
    common year: as the kiosk's birthday bonus has it (kiosk/core/program.py).
    """
    if calendar == "jalali":
        born = jdatetime.date.fromgregorian(date=birthday, locale=_LOCALE)
        year = jdatetime.date.fromgregorian(date=today, locale=_LOCALE).year
        for y in (year, year + 1):
            on = _jalali_on(y, born.month, born.day)
            if on >= today:
                return on
        raise AssertionError("a birthday comes round within a year")
    for y in (today.year, today.year + 1):
        day = birthday.day
        while True:
            try:
                on = date(y, birthday.month, day)
                break
            except ValueError:
                day -= 1
        if on >= today:
            return on
    raise AssertionError("a birthday comes round within a year")


def _jalali_on(year: int, month: int, day: int) -> date:
    while True:
        try:
            found: date = jdatetime.date(year, month, day, locale=_LOCALE).togregorian()
            return found
        except ValueError:
            day -= 1


@dataclass(frozen=True)
class BirthdayPage:
    """One page of upcoming birthdays, soonest first; `after` to ask for the next."""

    people: tuple[Birthday, ...]
    after: tuple[date, str] | None  # None: this was the last page


# The oldest member whose birthday is looked for: born at most this many years ago.
OLDEST_YEARS = 130


@functools.lru_cache(maxsize=16)
def _occurrences(today: date, last: date) -> tuple[list[date], list[date], list[bool]]:
    """Every birth date whose birthday comes round from `today` to `last`, in each
    calendar: (born, the day it comes round, whether in the Jalali calendar) as three
    lists for one query. A birth date is a Gregorian date; a Persian member's birthday is
    its Jalali day and month, so that list is made from the window's Jalali days, year by
    year back (30 Esfand born in a common year's 29 Esfand, 29 February in 28 February).
    Once a day per window (a few thousand dates; cached)."""
    born: list[date] = []
    on: list[date] = []
    jalali: list[bool] = []
    day = today
    while day <= last:
        j = jdatetime.date.fromgregorian(date=day, locale=_LOCALE)
        wanted = [(j.month, j.day)]
        if (j.month, j.day) == (12, 29) and not j.isleap():
            wanted.append((12, 30))
        for year in range(j.year - OLDEST_YEARS, j.year + 1):
            for month, dom in wanted:
                try:
                    found: date = jdatetime.date(year, month, dom, locale=_LOCALE).togregorian()
                except ValueError:
                    continue
                if found <= today:
                    born.append(found)
                    on.append(day)
                    jalali.append(True)
        wanted = [(day.month, day.day)]
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            wanted.append((2, 29))
        for year in range(day.year - OLDEST_YEARS, day.year + 1):
            for month, dom in wanted:
                try:
                    found = date(year, month, dom)
                except ValueError:
                    continue
                if found <= today:
                    born.append(found)
                    on.append(day)
                    jalali.append(False)
        day += timedelta(days=1)
    return born, on, jalali


def birthdays_page(
    scope: Scope,
    days: int,
    *,
    after: tuple[date, str] | None = None,
    limit: int | None = PAGE,
    now: datetime | None = None,
) -> BirthdayPage:
    """Active members of the scope whose birthday comes round in the next `days` days
    (today included), soonest first, then by member id; a page of `limit` (None: all).

    PostgreSQL finds them exactly, by birth date: the dates whose birthday falls in the
    window in each calendar are worked out here (`_occurrences`) and joined with the
    members' birthdays (an index), each member's calendar by their language.
    """
    today = scope.today(now)
    last = today + timedelta(days=days - 1)
    born, on, jalali = _occurrences(today, last)
    after_on, after_id = after if after is not None else (None, "")
    found = sql.rows(
        f"""
        SELECT m.member_id, m.phone, m.name, m.language, m.birthday, t.on_day
        FROM unnest(%(born)s::date[], %(on)s::date[], %(jalali)s::bool[])
             AS t(born, on_day, jalali)
        -- Each date's members through the birthday index (a join would hash them all).
        CROSS JOIN LATERAL (
            SELECT m.* FROM hub_member m
            WHERE m.birthday = t.born AND m.merged_into IS NULL AND m.status = 'active'
              AND (COALESCE(m.language, '') LIKE 'fa%%') = t.jalali
              AND {sql.MEMBER_IN_SCOPE}
            OFFSET 0  -- kept a subquery of its own, run per date
        ) m
        WHERE %(after_on)s::date IS NULL
           OR (t.on_day, m.member_id) > (%(after_on)s::date, %(after_id)s)
        ORDER BY t.on_day, m.member_id
        LIMIT %(limit)s
        """,
        {
            "branches": scope.branch_list(),
            "born": born,
            "on": on,
            "jalali": jalali,
            "after_on": after_on,
            "after_id": after_id,
            "limit": None if limit is None else limit + 1,
        },
    )
    people = tuple(
        Birthday(
            member_id=str(member_id),
            phone=phone,
            name=name,
            language=language,
            birthday=birthday,
            calendar=calendar_of(language),
            on=on_day,
            in_days=(on_day - today).days,
        )
        for member_id, phone, name, language, birthday, on_day in found[:limit]
    )
    more = limit is not None and len(found) > limit
    return BirthdayPage(
        people=people,
        after=(people[-1].on, people[-1].member_id) if more and people else None,
    )


def upcoming_birthdays(
    scope: Scope, days: int, *, now: datetime | None = None
) -> tuple[Birthday, ...]:
    """Every upcoming birthday of `birthdays_page` (for the CSV download)."""
    return birthdays_page(scope, days, limit=None, now=now).people


def every_inactive_member(
    scope: Scope, days: int, *, now: datetime | None = None
) -> Iterator[InactiveMember]:
    """Every inactive member, page after page (for the CSV download, streamed)."""
    moment = now or timezone.now()
    after: tuple[datetime, str] | None = None
    while True:
        page = inactive_members(scope, days, after=after, limit=1000, now=moment)
        yield from page.members
        if page.after is None:
            return
        after = page.after
