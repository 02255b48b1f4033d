"""The daily planner: birthday and win-back messages, queued once, in the chain's days.

`plan()` is one run, idempotent: each message's key names what it is for
(`birthday:<member>:<year in their calendar>`, `winback:<member>:<day of the last visit>`),
so a second run the same day, or a run on two workers at once, queues nothing more. The
worker (`hub messages work`) runs it when the chain's day changes and every hour;
`hub messages plan` runs it once.

Both are marketing: only to active members who consented and whose phone has not opted out
since, within the frequency cap (under each member's lock, as enqueue takes it), held
through quiet hours; the daily budget is applied when a worker claims them.

Set-based, for a chain of a million members: PostgreSQL picks the candidates from an
index (the birthday's Gregorian month and day; the last visit's time), and only those few
thousand rows come here to be decided exactly in the member's own calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from hub.insights.people import calendar_of, next_birthday
from hub.messaging import limits, links, parts, texts
from hub.messaging.models import Message, Policy
from hub.messaging.outbox import DEFAULT_LIFETIME, LANGUAGES
from hub.program.publish import current
from hub.program.wording import grouped, persian_digits

# The kiosk's `program.birthday_window_days` as shipped (kiosk/config/defaults.toml), for a
# program that does not carry it: the days the birthday bonus can be had from the birthday.
BIRTHDAY_WINDOW_DAYS = 7
# A member whose last visit passed the win-back mark up to this long ago still gets it (the
# planner stopped for a few days); one lapsed long before (the feature just turned on)
# does not: a win-back goes out when a member *becomes* inactive.
WINBACK_LOOKBACK = timedelta(days=7)
_CHUNK = 2000
# A member marketing may reach (m is hub_member).
_REACHABLE = """
    m.status = 'active' AND m.merged_into IS NULL AND m.phone IS NOT NULL
    AND m.consent_marketing
    AND NOT EXISTS (
        SELECT 1 FROM hub_message_opt_out o
        WHERE o.phone = m.phone AND (m.consent_at IS NULL OR o.at >= m.consent_at))
"""
# The birthday's Gregorian month and day, as the index hub_member_birthday_md has it.
_MONTH_DAY = "(extract(month FROM m.birthday)::int * 100 + extract(day FROM m.birthday)::int)"


@dataclass(frozen=True)
class Planned:
    """What one run queued."""

    birthdays: int
    winbacks: int


@dataclass(frozen=True)
class _Row:
    member_id: str
    phone: str
    language: str
    consent_version: str | None
    key: str
    body: str


def plan(now: datetime | None = None) -> Planned:
    """Queue today's birthday and win-back messages (today in the chain's time zone)."""
    moment = now or timezone.now()
    rules = limits.policy()
    today = moment.astimezone(ZoneInfo(rules.time_zone)).date()
    return Planned(
        birthdays=_queue(birthdays(today, rules), "birthday", moment, rules),
        winbacks=_queue(winbacks(today, moment, rules), "winback", moment, rules),
    )


def chain_day(moment: datetime) -> date:
    """The chain's day at `moment` (its time zone)."""
    return moment.astimezone(ZoneInfo(limits.policy().time_zone)).date()


def birthdays(today: date, rules: Policy) -> list[_Row]:
    """The members whose birthday is `today` in their calendar, with their message.

    None when the program gives no birthday bonus: the message offers the bonus, and
    there is nothing to offer.
    """
    program = current()
    data: dict[str, Any] = dict(program.data) if program else {}
    bonus = int(data.get("birthday_bonus", 0) or 0)
    if bonus <= 0:
        return []
    window = max(int(data.get("birthday_window_days", BIRTHDAY_WINDOW_DAYS)), 1)
    until = today + timedelta(days=window - 1)
    # A Jalali day falls on one of two or three Gregorian days depending on the year;
    # 29 February comes round on 28 February in a common year: a margin, decided exactly
    # below. The candidates come from the index on the month and day.
    near = [today + timedelta(days=i) for i in range(-3, 4)]
    days = {d.month * 100 + d.day for d in near}
    if days & {228, 301}:
        days.add(229)
    found = _rows(
        f"""
        SELECT m.member_id, m.phone, m.name, m.language, m.consent_version, m.birthday
        FROM hub_member m
        WHERE m.birthday IS NOT NULL AND {_MONTH_DAY} = ANY(%s) AND {_REACHABLE}
        """,
        [sorted(days)],
    )
    base = settings.MESSAGING_PUBLIC_URL or "https://hub.invalid"
    jalali_year = jdatetime.date.fromgregorian(date=today).year
    comes: dict[tuple[date, str], bool] = {}  # each (birthday, calendar) worked out once
    wordings: dict[str, str] = {}
    rows = []
    for member_id, phone, name, language, consent_version, birthday in found:
        calendar = calendar_of(language)
        if (birthday, calendar) not in comes:
            comes[(birthday, calendar)] = next_birthday(birthday, today, calendar) == today
        if not comes[(birthday, calendar)]:
            continue
        lang = language if language in LANGUAGES else "fa"
        year = jalali_year if calendar == "jalali" else today.year
        values = {
            "shop": rules.shop_name,
            "name": name or "",
            "reward": f"{grouped(bonus, lang)} امتیاز" if lang == "fa" else f"{bonus:,} points",
            "until": day_text(until, calendar, lang),
            "stop": links.url(base, member_id),
        }
        body = _render("birthday", lang, values, wordings)
        key = f"birthday:{member_id}:{year}"
        rows.append(_Row(member_id, phone, lang, consent_version, key, body))
    return rows


def winbacks(today: date, now: datetime, rules: Policy) -> list[_Row]:
    """Members whose last visit is `winback_days` old (up to WINBACK_LOOKBACK more), each
    once for that last visit."""
    if rules.winback_days <= 0:
        return []
    zone = ZoneInfo(rules.time_zone)
    cut = now - timedelta(days=rules.winback_days)
    found = _rows(
        f"""
        SELECT m.member_id, m.phone, m.name, m.language, m.consent_version, v.at
        FROM hub_message_last_visit v JOIN hub_member m ON m.member_id = v.member_id
        WHERE v.at >= %s AND v.at < %s AND {_REACHABLE}
          AND NOT EXISTS (  -- a later visit under an id merged into this member
              SELECT 1 FROM hub_member x JOIN hub_message_last_visit a
                ON a.member_id = x.member_id
              WHERE x.merged_into = m.member_id AND a.at >= %s)
        """,
        [cut - WINBACK_LOOKBACK, cut, cut],
    )
    base = settings.MESSAGING_PUBLIC_URL or "https://hub.invalid"
    wordings: dict[str, str] = {}
    rows = []
    for member_id, phone, name, language, consent_version, at in found:
        lang = language if language in LANGUAGES else "fa"
        visited = at.astimezone(zone).date()
        values = {
            "shop": rules.shop_name,
            "name": name or "",
            "days": grouped((today - visited).days, lang),
            "stop": links.url(base, member_id),
        }
        body = _render("winback", lang, values, wordings)
        key = f"winback:{member_id}:{visited.isoformat()}"
        rows.append(_Row(member_id, phone, lang, consent_version, key, body))
    return rows


def day_text(day: date, calendar: str, language: str) -> str:
    """A day as the member reads it: «۷ فروردین» (Jalali), 7 March (Gregorian)."""
    if calendar == "jalali":
        local = jdatetime.date.fromgregorian(date=day)
        month = jdatetime.date.j_months_fa[local.month - 1]
        if language == "fa":
            return f"{persian_digits(local.day)} {month}"
        return f"{local.day} {jdatetime.date.j_months_en[local.month - 1]}"
    if language == "fa":
        return persian_digits(day.strftime("%Y/%m/%d"))
    return f"{day.day} {day.strftime('%B')}"


def _render(kind: str, language: str, values: dict[str, object], cache: dict[str, str]) -> str:
    if language not in cache:  # read once a run, not once a member
        cache[language] = texts.wording(kind, language)
    return texts.render(cache[language], values)


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _queue(rows: list[_Row], kind: str, moment: datetime, rules: Policy) -> int:
    """Queue the rows not queued before, within each member's frequency cap; how many."""
    due = limits.after_quiet_hours(moment, rules)
    since = moment - timedelta(days=rules.cap_days)
    queued = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = sorted(rows[start : start + _CHUNK], key=lambda r: r.member_id)
        ids = [r.member_id for r in chunk]
        with transaction.atomic(), connection.cursor() as cursor:
            # The frequency cap's lock, as enqueue and campaigns take it (in one order).
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('hub_message:' || id))"
                " FROM unnest(%s::text[]) AS id ORDER BY id",
                [ids],
            )
            cursor.execute(
                "SELECT key FROM hub_message WHERE key = ANY(%s)", [[r.key for r in chunk]]
            )
            known = {str(k) for (k,) in cursor.fetchall()}
            cursor.execute(
                "SELECT member_id, count(*) FROM hub_message WHERE member_id = ANY(%s)"
                " AND marketing AND created_at >= %s AND state <> 'cancelled'"
                " GROUP BY member_id",
                [ids, since],
            )
            recent = {str(m): int(n) for m, n in cursor.fetchall()}
            fresh = []
            for row in chunk:
                if row.key in known or recent.get(row.member_id, 0) >= rules.cap_count:
                    continue
                size = parts.measure(row.body)
                fresh.append(
                    Message(
                        key=row.key,
                        kind=kind,
                        phone=row.phone,
                        member_id=row.member_id,
                        language=row.language,
                        body=row.body,
                        marketing=True,
                        consent_version=row.consent_version,
                        not_before=due,
                        expires_at=due + DEFAULT_LIFETIME,
                        parts=size.parts,
                        cost=parts.cost(
                            size, price_ucs2=rules.price_ucs2, price_gsm=rules.price_gsm
                        ),
                        created_at=moment,
                    )
                )
                recent[row.member_id] = recent.get(row.member_id, 0) + 1
            Message.objects.bulk_create(fresh, ignore_conflicts=True)
            queued += len(fresh)
    return queued
