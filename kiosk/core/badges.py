"""Streaks and badges (docs/program.md, "Streaks and badges"): reasons to come back.

A *visit* is a shop-local day on which the member made a purchase or a redemption that was
not voided: several purchases on one day are one visit, so a cashier cannot raise a
member's visits faster than one a day (and the per-day earn limits bound the purchases).

A *streak* of N weeks: a visit in each of N consecutive weeks, this visit's week the last.
The program's `week` says where a week starts: "jalali" (Saturday to Friday, as Persian
calendars print them) or "iso" (Monday to Sunday). Weeks are counted on the plain calendar,
so a streak goes on across Nowruz or 1 January as across any other week.

Each badge reached is given once, as a `bonus` ledger entry with reason `badge:<id>` in
the same transaction as the visit's entry; the ledger is the memory: a badge already among
the member's entries is not given again. A void of the visit that reached a badge leaves
the badge (and its bonus) where it is: the visit was made, the badge was shown to the
shopper, and a badge never comes twice. A badge with no bonus (0) is not given: a badge is
its ledger entry.

The rules are the program's (signed by the owner, the same at every branch); the history
is this kiosk's ledger together with the hub's summary of the member's visits at every
branch (`hub_visits`: visit days, a redemption, the badges held), pulled with their
balance (kiosk/core/pulled.py) or their lookup: weeks 1-3 at one branch and week 4 at
another make the 4-week streak there. A kiosk that has not heard from the hub since counts
what it has: offline, its own ledger and the summary last pulled. The hub checks each
badge against the visits it holds (hub/ledger/badge_check.py).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from kiosk.config.badge_rules import badge_problems
from kiosk.config.schema import BadgesConfig, MilestoneConfig
from kiosk.core.clock import from_iso, to_iso
from kiosk.core.results import Bonus

if TYPE_CHECKING:
    from kiosk.core.service_base import ServiceBase
    from kiosk.core.store.members import Member
    from kiosk.core.store.staff import Actor

log = logging.getLogger(__name__)

REASON_PREFIX = "badge:"
MOST_HUB_DAYS = 1000  # the visit days a hub summary lists (hub/ledger/badge_check.py)
FIRST_REDEMPTION = "first-redemption"
_INVALID = (KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class Award:
    """A badge newly reached at this visit, and the points it brings."""

    badge: str
    points: int

    @property
    def reason(self) -> str:
        """The reason of its ledger entry."""
        return REASON_PREFIX + self.badge


def week_of(day: date, week: str) -> int:
    """The number of the week `day` falls in: consecutive weeks have consecutive numbers.

    Day 1 of the proleptic calendar (0001-01-01) was a Monday; "jalali" weeks start on
    Saturday (day 6), "iso" weeks on Monday (day 1).
    """
    if week == "jalali":
        return (day.toordinal() + 1) // 7
    return (day.toordinal() - 1) // 7


def streak_weeks(days: Iterable[date], today: date, week: str) -> int:
    """How many consecutive weeks, ending with `today`'s, each had a visit (today counts)."""
    weeks = {week_of(d, week) for d in days}
    last = week_of(today, week)
    weeks.add(last)
    length = 0
    while last - length in weeks:
        length += 1
    return length


def milestone_badge(milestone: MilestoneConfig) -> str:
    return f"visits-{milestone.visits}"


def streak_badge(weeks: int) -> str:
    return f"streak-{weeks}w"


def tier_badge(tier_id: str) -> str:
    return f"tier-{tier_id}"


def new_badges(
    rules: BadgesConfig,
    earlier: Iterable[date],
    today: date,
    had: Collection[str],
    *,
    redemption: bool = False,
    redeemed_before: bool = False,
    tier_reached: str | None = None,
) -> list[Award]:
    """The badges newly reached at a visit on `today`.

    `earlier`: the shop-local days of the member's earlier visits (not voided); `had`: the
    badges already given; `redemption`: this visit is a redemption (`redeemed_before`: an
    earlier one exists); `tier_reached`: the tier this visit promoted the member to (not
    the first tier), if any.
    """
    days = set(earlier)
    visits = len(days | {today})
    found: list[Award] = []
    for milestone in sorted(rules.milestones, key=lambda m: m.visits):
        if visits >= milestone.visits:
            found.append(Award(milestone_badge(milestone), milestone.bonus))
    if rules.streak_weeks:
        length = streak_weeks(days, today, rules.week)
        for weeks in sorted(rules.streak_weeks):
            if length >= weeks:
                found.append(Award(streak_badge(weeks), rules.streak_bonus))
    if redemption and not redeemed_before:
        found.append(Award(FIRST_REDEMPTION, rules.first_redemption_bonus))
    if tier_reached is not None:
        found.append(Award(tier_badge(tier_reached), rules.tier_bonus))
    return [a for a in found if a.points > 0 and a.badge not in had]


def most_bonus(rules: BadgesConfig) -> int:
    """The largest bonus any badge of `rules` gives (what the hub bounds a badge entry by)."""
    bonuses = [m.bonus for m in rules.milestones]
    if rules.streak_weeks:
        bonuses.append(rules.streak_bonus)
    return max([*bonuses, rules.first_redemption_bonus, rules.tier_bonus])


def badges_from(given: Any) -> BadgesConfig:
    """The badges setting of a pulled program (`badges`); raises when it is not one."""
    if not isinstance(given, dict):
        raise TypeError("badges is an object")
    unknown = set(given) - set(BadgesConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"badges has an unknown field {sorted(unknown)[0]!r}")

    def whole(value: Any) -> int:
        if type(value) is not int:
            raise TypeError("a whole number")
        return value

    milestones = given.get("milestones", [])
    streaks = given.get("streak_weeks", [])
    if not isinstance(milestones, list) or not isinstance(streaks, list):
        raise TypeError("milestones and streak_weeks are lists")
    rules = BadgesConfig(
        week=str(given.get("week", "jalali")),
        streak_weeks=tuple(whole(w) for w in streaks),
        streak_bonus=whole(given.get("streak_bonus", 0)),
        milestones=tuple(
            MilestoneConfig(visits=whole(m["visits"]), bonus=whole(m.get("bonus", 0)))
            for m in milestones
        ),
        first_redemption_bonus=whole(given.get("first_redemption_bonus", 0)),
        tier_bonus=whole(given.get("tier_bonus", 0)),
    )
    for key, problem in badge_problems(rules):
        raise ValueError(f"badges.{key} {problem}")
    return rules


# -- the member's history, from this kiosk's ledger -------------------------------------


def visit_days(conn: sqlite3.Connection, member_id: str, tz: tzinfo, since: str = "") -> set[date]:
    """The shop-local days of the member's purchases and redemptions, not voided (those
    at or after `since`, an ISO time, when given)."""
    rows = conn.execute(
        "SELECT e.created_at FROM entries e WHERE e.member_id = ? AND e.created_at >= ? "
        "AND e.kind IN ('earn', 'redeem') "
        "AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.reverses = e.entry_id)",
        (member_id, since),
    ).fetchall()
    return {from_iso(row[0]).astimezone(tz).date() for row in rows}


@dataclass(frozen=True)
class HubVisits:
    """The hub's summary of a member's visits at every branch, as last pulled."""

    days: frozenset[date] = frozenset()
    redeemed: bool = False
    badges: frozenset[str] = frozenset()


def keep_hub_visits(conn: sqlite3.Connection, member_id: str, given: object) -> None:
    """Store a pulled balance's `visits` (inside the caller's transaction); one not in the
    protocol's form is left out (the summary before stays)."""
    try:
        if not isinstance(given, dict):
            raise TypeError("visits is an object")
        days = [date.fromisoformat(d).isoformat() for d in given["days"][:MOST_HUB_DAYS]]
        redeemed = given["redeemed"]
        held = [str(b) for b in given["badges"]]
        if type(redeemed) is not bool or any("," in b or not b for b in held):
            raise ValueError("redeemed is true or false, badges are ids")
    except (*_INVALID, AttributeError) as exc:
        log.warning("the hub's visits of a member are not usable (%s)", exc)
        return
    conn.execute(  # never for an erased member (their summary went with the erasure)
        "INSERT INTO hub_visits (member_id, days, redeemed, badges) SELECT ?1, ?2, ?3, ?4 "
        "WHERE EXISTS (SELECT 1 FROM members WHERE member_id = ?1 AND status <> 'erased') "
        "ON CONFLICT(member_id) DO UPDATE SET days = excluded.days, "
        "redeemed = excluded.redeemed, badges = excluded.badges",
        (member_id, ",".join(days), int(redeemed), ",".join(held)),
    )


def hub_visits(conn: sqlite3.Connection, member_id: str) -> HubVisits:
    """The hub's summary of the member's visits last pulled (empty without one)."""
    row = conn.execute(
        "SELECT days, redeemed, badges FROM hub_visits WHERE member_id = ?", (member_id,)
    ).fetchone()
    if row is None:
        return HubVisits()
    return HubVisits(
        days=frozenset(date.fromisoformat(d) for d in str(row[0]).split(",") if d),
        redeemed=bool(row[1]),
        badges=frozenset(b for b in str(row[2]).split(",") if b),
    )


def badges_had(conn: sqlite3.Connection, member_id: str) -> list[str]:
    """The badges the member was given (from their `badge:*` bonus entries), oldest first."""
    rows = conn.execute(
        "SELECT reason FROM entries WHERE member_id = ? AND kind = 'bonus' "
        "AND reason LIKE 'badge:%' ORDER BY created_at, seq",
        (member_id,),
    ).fetchall()
    return [str(row[0])[len(REASON_PREFIX) :] for row in rows]


def redeemed_before(conn: sqlite3.Connection, member_id: str) -> bool:
    """Whether the member has any redemption on this kiosk's ledger."""
    row = conn.execute(
        "SELECT 1 FROM entries WHERE member_id = ? AND kind = 'redeem' LIMIT 1", (member_id,)
    ).fetchone()
    return row is not None


def give(
    service: ServiceBase,
    member: Member,
    now: datetime,
    cashier: Actor,
    *,
    tier_reached: str | None = None,
    redemption: bool = False,
) -> list[Bonus]:
    """Write the bonus entries of the badges this visit reached (the caller holds the
    transaction of the visit's own entry, already appended)."""
    # Here: the service base imports the pulled program, which imports this module.
    from kiosk.core.service_base import staff_id

    rules = service.program.badges
    if most_bonus(rules) <= 0:
        return []
    conn, member_id = service.conn, member.member_id
    today = service.local_today(now)
    hub = hub_visits(conn, member_id)  # their visits at the other branches, if pulled
    before = hub.redeemed
    if redemption:  # the redemption just appended is not an earlier one
        row = conn.execute(
            "SELECT COUNT(*) FROM entries WHERE member_id = ? AND kind = 'redeem'", (member_id,)
        ).fetchone()
        before = before or int(row[0]) > 1
    had = set(badges_had(conn, member_id)) | hub.badges
    # The history read is what a badge still to come needs: all of it for a milestone, the
    # longest streak's weeks for a streak, none once the member has them all (a member
    # with a long history pays for it only until then).
    if any(m.bonus > 0 and milestone_badge(m) not in had for m in rules.milestones):
        days = visit_days(conn, member_id, service.tz) | hub.days
    elif rules.streak_bonus > 0 and any(streak_badge(w) not in had for w in rules.streak_weeks):
        weeks = max(rules.streak_weeks) + 1
        since = to_iso(now - timedelta(weeks=weeks))
        days = visit_days(conn, member_id, service.tz, since) | hub.days
    else:
        days = set()
    awards = new_badges(
        rules,
        days,
        today,
        had,
        redemption=redemption,
        redeemed_before=before,
        tier_reached=tier_reached,
    )
    given = []
    for award in awards:
        entry = service.ledger.append(
            kind="bonus",
            member_id=member_id,
            points=award.points,
            created_at=to_iso(now),
            client_txn_id=f"badge:{award.badge}:{member_id}"[:100],
            reason=award.reason,
            cashier_id=staff_id(cashier),
            expires_at=service.expiry_for(now),
        )
        given.append(Bonus(entry.entry_id, award.points, award.reason))
    return given


def badges_at_last_visit(conn: sqlite3.Connection, member_id: str) -> list[Award]:
    """The badges given at the member's latest purchase or redemption (what the result
    screen celebrates): their `badge:*` entries written at that entry's time."""
    rows = conn.execute(
        "SELECT reason, points FROM entries WHERE member_id = :member AND kind = 'bonus' "
        "AND reason LIKE 'badge:%' AND created_at = (SELECT MAX(created_at) FROM entries "
        "WHERE member_id = :member AND kind IN ('earn', 'redeem')) ORDER BY seq",
        {"member": member_id},
    ).fetchall()
    return [Award(str(r[0])[len(REASON_PREFIX) :], int(r[1])) for r in rows]


def badge_kind(badge: str) -> tuple[str, str]:
    """A badge id's kind and figure, for its name on screen: ("visits", "10"),
    ("streak", "4"), ("tier", "silver"), ("first_redemption", "")."""
    if badge == FIRST_REDEMPTION:
        return "first_redemption", ""
    kind, _, figure = badge.partition("-")
    if kind == "streak":
        return "streak", figure.removesuffix("w")
    return kind, figure
