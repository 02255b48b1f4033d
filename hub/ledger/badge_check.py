"""Whether a pushed badge was reached: the member's visits as the hub holds them, at every
branch (docs/program.md, "Streaks and badges"; docs/security.md).

hub/ledger/rules.py stores a `badge:<id>` bonus only when a program in force gives that
badge, up to its points, once per member; here, only when the hub's view of the member's
entries up to the badge's time (every kiosk's, earlier entries of the same batch
included, a merged member's aliases' too) reaches it under some program in force: the
visit days for `visits-N`, the weeks in a row for `streak-Nw` (the program's week, the
chain's time zone), a redemption for `first-redemption`, the points earned for
`tier-<id>` (all time: the tier window is a kiosk setting the hub does not know, and a
window's points are never more). A kiosk counts a subset of these (its own ledger, and the
summary this hub sent it), so what a kiosk gives honestly is never refused.

One query for all the members whose badges a batch carries (the `hub_entry_by_member`
index), made only when the batch has a badge: a batch without one costs nothing more.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from hub.devices.models import Device
from hub.formats import parse_timestamp
from hub.ledger.models import Entry
from hub.members import records
from hub.program.badges import History, badge_bonuses, shortfall
from hub.program.models import Program
from hub.program.publish import GRACE

_ENTRIES = Entry._meta.db_table
PREFIX = "badge:"
VISITS = ("earn", "redeem")


@dataclass(frozen=True)
class _Row:
    """A purchase, redemption or reversal of the member, as the check needs it."""

    key: tuple[int, str]  # (device pk, entry id): what a reversal names
    kind: str
    points: int
    at: datetime
    reverses: tuple[int, str] | None


class BadgeCheck:
    """The badges of one push, checked against the members' histories at the hub."""

    def __init__(
        self, device: Device, entries: list[Any], survivor: dict[str, str], zone: tzinfo
    ) -> None:
        self.device = device
        self.zone = zone
        self.survivor = survivor
        self.members: list[str] = sorted(
            {
                survivor[e["member_id"]]
                for e in entries
                if isinstance(e, dict)
                and isinstance(e.get("reason"), str)
                and e["reason"].startswith(PREFIX)
                and e.get("member_id") in survivor
            }
        )
        self.rows: dict[str, list[_Row]] | None = None  # by survivor, read at the first badge
        self.batch: dict[str, list[_Row]] = {m: [] for m in self.members}  # stored in it
        self.programs: list[dict[str, Any]] = []

    def stored(self, entry: dict[str, Any]) -> None:
        """Count an entry stored earlier in the batch (not in the table until its end)."""
        member = self.survivor.get(entry["member_id"], entry["member_id"])
        if member not in self.batch or entry["kind"] not in (*VISITS, "reversal"):
            return
        at = parse_timestamp(entry["created_at"])
        assert at is not None  # a stored entry's time was checked
        reverses = (self.device.pk, entry["reverses"]) if entry["reverses"] else None
        key = (self.device.pk, entry["entry_id"])
        self.batch[member].append(_Row(key, entry["kind"], entry["points"], at, reverses))

    def missing(self, entry: dict[str, Any], member: str) -> dict[str, Any] | None:
        """None when the member's history reaches the entry's badge under some program in
        force; else the figures of why not (the current program's)."""
        if self.rows is None:
            self.rows = _histories(self.members)
            self.programs = _programs_in_force()
        at = parse_timestamp(entry["created_at"])
        if at is None or not self.programs:
            return {"needs": "a program in force"}
        rows = self.rows.get(member, []) + self.batch.get(member, [])
        history = _history(rows, at, self.zone)
        today = at.astimezone(self.zone).date()
        badge = entry["reason"][len(PREFIX) :]
        # The programs that give this badge at these points (rules.py checked some does).
        giving = [d for d in self.programs if badge_bonuses(d).get(badge, 0) >= entry["points"]]
        figures = [shortfall(badge, data, history, today) for data in giving]
        if not figures or any(not f for f in figures):
            return None if figures else {"needs": "a program giving it"}
        return figures[0]


def _history(rows: list[_Row], at: datetime, zone: tzinfo) -> History:
    """The member's history up to `at`: voided visits left out (a void known by then)."""
    upto = [r for r in rows if r.at <= at]
    voided = {r.reverses for r in upto if r.kind == "reversal"}
    visits = [r for r in upto if r.kind in VISITS and r.key not in voided]
    days: frozenset[date] = frozenset(r.at.astimezone(zone).date() for r in visits)
    return History(
        days=days,
        redeemed=any(r.kind == "redeem" for r in upto),
        earned=sum(r.points for r in visits if r.kind == "earn"),
    )


def _histories(members: list[str]) -> dict[str, list[_Row]]:
    """The stored purchases, redemptions and reversals of these members (and their
    aliases'), by member: one query over the by-member index."""
    if not members:
        return {}
    family = records.family(members)
    found: dict[str, list[_Row]] = {m: [] for m in members}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, device_id, entry_id, kind, points, created_at, reverses "
            f"FROM {_ENTRIES} WHERE member_id = ANY(%s) AND status = 'stored' "
            "AND kind IN ('earn', 'redeem', 'reversal')",
            [sorted(family)],
        )
        for member_id, device, entry_id, kind, points, at, reverses in cursor.fetchall():
            pk = int(device or 0)  # the hub's own entries: no device
            reversed_key = (pk, str(reverses)) if reverses else None
            row = _Row((pk, str(entry_id)), str(kind), int(points), at, reversed_key)
            found.setdefault(family.get(str(member_id), str(member_id)), []).append(row)
    return found


def _programs_in_force() -> list[dict[str, Any]]:
    """The data of every program an entry may follow now (hub/program/publish.py in_force)."""
    moment = timezone.now()
    rows = Program.objects.filter(superseded_at__isnull=True) | Program.objects.filter(
        superseded_at__gt=moment - GRACE
    )
    return [dict(p.data) for p in rows.order_by("-version")]


# -- the member's visits at every branch, for the kiosks (docs/sync-protocol.md) --------

MOST_DAYS = 1000  # the visit days a summary lists, the latest first


def with_visits(changes: list[tuple[str, dict[str, Any]]]) -> None:
    """Add each `balance` change's `visits` (the member's summary, `summaries`) when a
    program in force gives badges; nothing is read when none does."""
    members = sorted({str(data["member_id"]) for kind, data in changes if kind == "balance"})
    if not members or not any(badge_bonuses(d) for d in _programs_in_force()):
        return
    found = summaries(members)
    for kind, data in changes:
        if kind == "balance":
            data["visits"] = found[str(data["member_id"])]


def summaries(members: list[str]) -> dict[str, dict[str, Any]]:
    """What kiosks need of these members' history at every branch to give a badge as the
    hub checks it: the shop-local days of purchases and redemptions not voided (the latest
    MOST_DAYS, newest first), whether they ever redeemed, the badges they were given.
    One query over the by-member index for all of them (their aliases' entries count)."""
    zone = zoneinfo.ZoneInfo(settings.PANEL_TIME_ZONE)
    family = records.family(members)
    rows: dict[str, list[_Row]] = {m: [] for m in members}
    badges: dict[str, set[str]] = {m: set() for m in members}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, device_id, entry_id, kind, points, created_at, reverses, reason "
            f"FROM {_ENTRIES} WHERE member_id = ANY(%s) AND status = 'stored' "
            "AND (kind IN ('earn', 'redeem', 'reversal') "
            "OR (kind = 'bonus' AND reason LIKE 'badge:%%'))",
            [sorted(family)],
        )
        for member_id, device, entry_id, kind, points, at, reverses, reason in cursor:
            member = family.get(str(member_id), str(member_id))
            if kind == "bonus":
                badges.setdefault(member, set()).add(str(reason)[len(PREFIX) :])
                continue
            pk = int(device or 0)
            reversed_key = (pk, str(reverses)) if reverses else None
            row = _Row((pk, str(entry_id)), str(kind), int(points), at, reversed_key)
            rows.setdefault(member, []).append(row)
    found = {}
    for member in members:
        voided = {r.reverses for r in rows[member] if r.kind == "reversal"}
        visits = [r for r in rows[member] if r.kind in VISITS and r.key not in voided]
        days = sorted({r.at.astimezone(zone).date() for r in visits}, reverse=True)
        found[member] = {
            "days": [d.isoformat() for d in days[:MOST_DAYS]],
            "redeemed": any(r.kind == "redeem" for r in rows[member]),
            "badges": sorted(badges[member]),
        }
    return found
