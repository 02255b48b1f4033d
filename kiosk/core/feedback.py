"""The shopper's rating of a visit: five faces after a purchase, then reasons from a fixed list.

Asked at most once per member every `every_days` days, counted in the shop's calendar
(a day ends at local midnight, which is also where the Jalali day changes), and at most
once per visit (the earn entry it follows). The rule is the chain's signed program's
`feedback` ({"enabled", "every_days"}, pulled from the hub); the kiosk's `[feedback]`
config only while the program says nothing, as `verification` travels
(kiosk/core/verification.py). No free text is ever taken: a rating 1..5 and reasons
named in `REASONS`, nothing a person could type about themselves.

Stored in the `feedback` table (kiosk/core/store/schema.py m013), one row per asked
visit, and pushed to the hub once the visit's entry is acknowledged there
(docs/sync-protocol.md, "Feedback").
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.config.schema import FeedbackConfig
from kiosk.core.clock import Clock, from_iso, to_iso
from kiosk.core.pulled import PROGRAM_KEY
from kiosk.core.store.db import write_transaction
from kiosk.core.store.outbox import SyncState

# What a shopper may say the visit was about, in the order the buttons are shown.
REASONS: tuple[str, ...] = ("staff", "price", "quality", "waiting", "cleanliness", "choice")
RATINGS = range(1, 6)
# The visit asked about is the member's purchase just made at this counter.
_VISIT_WINDOW = timedelta(minutes=10)
_LARGEST_EVERY_DAYS = 3650
INVALID = (TypeError, ValueError)


@dataclass(frozen=True)
class FeedbackRule:
    """Whether the kiosk asks, and how many days apart at least for one member."""

    enabled: bool
    every_days: int


def feedback_rules(data: dict[str, Any]) -> dict[str, Any]:
    """The program's `feedback` fields (either may be missing); raises when malformed."""
    given = data.get("feedback")
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise TypeError("feedback is an object")
    found: dict[str, Any] = {}
    if "enabled" in given:
        if not isinstance(given["enabled"], bool):
            raise TypeError("feedback.enabled is true or false")
        found["enabled"] = given["enabled"]
    if "every_days" in given:
        days = given["every_days"]
        if type(days) is not int or not 1 <= days <= _LARGEST_EVERY_DAYS:
            raise ValueError(f"feedback.every_days is a whole number 1..{_LARGEST_EVERY_DAYS}")
        found["every_days"] = days
    return found


def rule_for(conn: sqlite3.Connection, config: FeedbackConfig) -> FeedbackRule:
    """The rule in force: the pulled program's where it says, else the kiosk's config."""
    rule = FeedbackRule(enabled=config.enabled, every_days=config.every_days)
    data = SyncState(conn).get(PROGRAM_KEY)
    if not data:
        return rule
    try:
        given = feedback_rules(data)
    except INVALID:
        return rule  # a program the kiosk would not apply (kiosk/core/pulled.py)
    return FeedbackRule(
        enabled=given.get("enabled", rule.enabled),
        every_days=given.get("every_days", rule.every_days),
    )


def ask_due(last_asked: datetime | None, now: datetime, every_days: int, tz: ZoneInfo) -> bool:
    """Whether a member last asked at `last_asked` may be asked again `now`: `every_days`
    calendar days later in the shop's time zone (asked at 23:50, the next day at 00:00
    counts as one day later)."""
    if last_asked is None:
        return True
    days = (now.astimezone(tz).date() - last_asked.astimezone(tz).date()).days
    return days >= every_days


def reasons_text(reasons: set[str] | tuple[str, ...] | list[str]) -> str:
    """The stored form of a set of reasons: known ones only, in `REASONS` order."""
    return ",".join(reason for reason in REASONS if reason in reasons)


class VisitFeedback:
    """Asks, ratings and reasons of one kiosk database."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        clock: Clock,
        tz: ZoneInfo,
        device_id: str,
        config: FeedbackConfig,
    ) -> None:
        self.conn = conn
        self.clock = clock
        self.tz = tz
        self.device_id = device_id
        self.config = config

    def rule(self) -> FeedbackRule:
        """The rule in force now (a pulled program may change it at any time)."""
        return rule_for(self.conn, self.config)

    def ask(self, member_id: str) -> str | None:
        """Record an ask about the member's purchase just made here, if one is due: the
        visit's entry id, or None (off, asked within `every_days`, or no such purchase)."""
        rule = self.rule()
        if not rule.enabled:
            return None
        now = self.clock()
        with write_transaction(self.conn):
            visit = self.conn.execute(
                "SELECT e.entry_id FROM entries e WHERE e.member_id = ? AND e.kind = 'earn' "
                "AND e.device_id = ? AND e.created_at >= ? "
                "AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.reverses = e.entry_id) "
                "AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.entry_id = e.entry_id) "
                "ORDER BY e.seq DESC LIMIT 1",
                (member_id, self.device_id, to_iso(now - _VISIT_WINDOW)),
            ).fetchone()
            if visit is None:
                return None
            (last,) = self.conn.execute(
                "SELECT max(asked_at) FROM feedback WHERE member_id = ?", (member_id,)
            ).fetchone()
            if not ask_due(from_iso(last) if last else None, now, rule.every_days, self.tz):
                return None
            entry_id = str(visit[0])
            self.conn.execute(
                "INSERT INTO feedback (entry_id, member_id, asked_at) VALUES (?, ?, ?)",
                (entry_id, member_id, to_iso(now)),
            )
        return entry_id

    def rate(self, entry_id: str, rating: int) -> bool:
        """The shopper's face for the visit asked about; False when it was rated already
        (once per visit) or never asked."""
        if rating not in RATINGS:
            raise ValueError(f"a rating is 1..5, not {rating!r}")
        with write_transaction(self.conn):
            changed = self.conn.execute(
                "UPDATE feedback SET rating = ?, rated_at = ?, version = version + 1 "
                "WHERE entry_id = ? AND rating IS NULL",
                (rating, to_iso(self.clock()), entry_id),
            ).rowcount
        return changed == 1

    def toggle_reason(self, entry_id: str, reason: str) -> tuple[str, ...]:
        """Add or take back one reason of a rated visit; the reasons now chosen."""
        if reason not in REASONS:
            raise ValueError(f"unknown feedback reason {reason!r}")
        with write_transaction(self.conn):
            row = self.conn.execute(
                "SELECT reasons FROM feedback WHERE entry_id = ? AND rating IS NOT NULL",
                (entry_id,),
            ).fetchone()
            if row is None:
                return ()
            chosen = set(filter(None, str(row[0]).split(",")))
            chosen ^= {reason}
            self.conn.execute(
                "UPDATE feedback SET reasons = ?, version = version + 1 WHERE entry_id = ?",
                (reasons_text(chosen), entry_id),
            )
        return tuple(reason for reason in REASONS if reason in chosen)

    def shown(self, entry_id: str) -> tuple[int | None, tuple[str, ...]]:
        """The rating and reasons stored for a visit (None: not rated)."""
        row = self.conn.execute(
            "SELECT rating, reasons FROM feedback WHERE entry_id = ?", (entry_id,)
        ).fetchone()
        if row is None:
            return None, ()
        return row[0], tuple(filter(None, str(row[1]).split(",")))

    def to_push(self, limit: int = 200) -> list[dict[str, Any]]:
        """Rated visits changed since their last push whose entry the hub holds (out of
        the outbox), as the wire has them."""
        rows = self.conn.execute(
            "SELECT f.entry_id, f.rating, f.reasons, f.rated_at, f.version FROM feedback f "
            "WHERE f.version > f.pushed_version AND f.rating IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entry_id = f.entry_id) "
            "ORDER BY f.rated_at LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            {
                "entry_id": str(entry_id),
                "rating": int(rating),
                "reasons": [r for r in str(reasons).split(",") if r],
                "rated_at": str(rated_at),
                "version": int(version),
            }
            for entry_id, rating, reasons, rated_at, version in rows
        ]

    def pushed(self, sent: list[dict[str, Any]], refused: dict[str, str]) -> None:
        """The hub took (or refused for good, with its code) these rows as sent."""
        with write_transaction(self.conn):
            for row in sent:
                self.conn.execute(
                    "UPDATE feedback SET pushed_version = max(pushed_version, ?), refused = ? "
                    "WHERE entry_id = ?",
                    (row["version"], refused.get(row["entry_id"]), row["entry_id"]),
                )

    def waiting(self) -> int:
        """How many rated visits are not yet at the hub."""
        (count,) = self.conn.execute(
            "SELECT count(*) FROM feedback WHERE version > pushed_version AND rating IS NOT NULL"
        ).fetchone()
        return int(count)
