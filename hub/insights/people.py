"""Reports that name people: inactive members and upcoming birthdays.

They return the personal fields as the hub holds them; masking is the caller's (the view
knows who reads: a support user never sees a phone number), and so is the audit of who
opened them. An erased member has no personal data and no birthday: they appear among the
inactive as an id alone.
"""

from __future__ import annotations

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


def upcoming_birthdays(
    scope: Scope, days: int, *, now: datetime | None = None
) -> tuple[Birthday, ...]:
    """Active members of the scope whose birthday comes round in the next `days` days
    (today included), soonest first.

    PostgreSQL picks the candidates by the Gregorian month and day (the window's days,
    with two days' margin either side: a Jalali day falls on one of two Gregorian days
    depending on the year, and a 29 February on 28 February); each is then decided exactly
    here in the member's own calendar.
    """
    today = scope.today(now)
    last = today + timedelta(days=days - 1)
    wanted = sorted(
        {(d.month, d.day) for d in (today + timedelta(days=i) for i in range(-2, days + 2))}
    )
    found = sql.rows(
        f"""
        SELECT m.member_id, m.phone, m.name, m.language, m.birthday
        FROM hub_member m
        WHERE m.merged_into IS NULL AND m.status = 'active' AND m.birthday IS NOT NULL
          AND (extract(month FROM m.birthday)::int * 100 + extract(day FROM m.birthday)::int)
              = ANY(%(days)s)
          AND {sql.MEMBER_IN_SCOPE}
        """,
        {"branches": scope.branch_list(), "days": [m * 100 + d for m, d in wanted]},
    )
    coming = []
    # Many members share a birthday: each (day, calendar) is worked out once (jdatetime's
    # conversions are most of this function's time on a large chain).
    occurrences: dict[tuple[date, str], date] = {}
    for member_id, phone, name, language, birthday in found:
        calendar = calendar_of(language)
        on = occurrences.get((birthday, calendar))
        if on is None:
            on = occurrences[(birthday, calendar)] = next_birthday(birthday, today, calendar)
        if on <= last:
            coming.append(
                Birthday(
                    member_id=str(member_id),
                    phone=phone,
                    name=name,
                    language=language,
                    birthday=birthday,
                    calendar=calendar,
                    on=on,
                    in_days=(on - today).days,
                )
            )
    return tuple(sorted(coming, key=lambda b: (b.on, b.member_id)))


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
