"""The visit rating: asked once per visit, at most once per member every N days, no free text."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jdatetime
import pytest

from kiosk.config.schema import FeedbackConfig
from kiosk.core.clock import ManualClock
from kiosk.core.feedback import (
    REASONS,
    FeedbackRule,
    VisitFeedback,
    ask_due,
    feedback_rules,
    rule_for,
)
from kiosk.core.pulled import PROGRAM_KEY
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import SyncState
from kiosk.core.store.staff import Actor
from tests.conftest import Counter

TEHRAN = ZoneInfo("Asia/Tehran")
PHONE = "09121234567"


def tehran(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TEHRAN)


@pytest.mark.parametrize(
    ("last", "now", "every_days", "due"),
    [
        (None, "2026-03-01 09:00", 7, True),  # never asked
        ("2026-03-01 09:00", "2026-03-01 21:00", 1, False),  # same day
        ("2026-03-01 23:59", "2026-03-02 00:00", 1, True),  # Tehran's midnight: a new day
        ("2026-03-01 23:59", "2026-03-01 23:59:59", 1, False),  # a second before it
        ("2026-03-02 00:00", "2026-03-08 23:59", 7, False),  # six days and a bit
        ("2026-03-02 00:00", "2026-03-09 00:00", 7, True),  # the seventh day at midnight
        # 1404-12-29 -> 1405-01-01: the Jalali year changes at the same local midnight.
        ("2026-03-20 23:30", "2026-03-21 00:10", 1, True),
        ("2026-03-20 00:10", "2026-03-20 23:50", 1, False),
        # 20:30 UTC is 00:00 in Tehran: one UTC day, two Tehran days.
        ("2026-03-05 23:00", "2026-03-06 01:00", 1, True),
    ],
)
def test_ask_due_counts_days_in_the_shops_calendar(
    last: str | None, now: str, every_days: int, due: bool
) -> None:
    asked = tehran(last).astimezone(UTC) if last else None

    assert ask_due(asked, tehran(now).astimezone(UTC), every_days, TEHRAN) is due


def test_the_jalali_new_year_is_the_edge_in_the_table() -> None:
    before = jdatetime.date.fromgregorian(date=tehran("2026-03-20 23:30").date())
    after = jdatetime.date.fromgregorian(date=tehran("2026-03-21 00:10").date())

    assert (before.year, before.month) == (1404, 12)
    assert (after.year, after.month, after.day) == (1405, 1, 1)


@pytest.mark.parametrize(
    ("program", "rule"),
    [
        (None, FeedbackRule(True, 7)),  # no program pulled: the config
        ({"feedback": {"every_days": 30}}, FeedbackRule(True, 30)),
        ({"feedback": {"enabled": False}}, FeedbackRule(False, 7)),
        ({"feedback": {"every_days": 0}}, FeedbackRule(True, 7)),  # malformed: ignored
        ({"feedback": "yes"}, FeedbackRule(True, 7)),
        ({}, FeedbackRule(True, 7)),  # a program from before the setting
    ],
)
def test_the_pulled_program_wins_over_the_config(
    service: LoyaltyService, program: dict[str, object] | None, rule: FeedbackRule
) -> None:
    if program is not None:
        SyncState(service.conn).set(**{PROGRAM_KEY: program})

    assert rule_for(service.conn, FeedbackConfig(enabled=True, every_days=7)) == rule


def test_feedback_rules_refuse_what_is_not_a_setting() -> None:
    with pytest.raises(ValueError):
        feedback_rules({"feedback": {"every_days": True}})
    with pytest.raises(TypeError):
        feedback_rules({"feedback": {"enabled": 1}})


def desk(service: LoyaltyService, every_days: int = 7, enabled: bool = True) -> VisitFeedback:
    return VisitFeedback(
        service.conn,
        service.clock,
        service.tz,
        service.device_id,
        FeedbackConfig(enabled=enabled, every_days=every_days),
    )


@pytest.fixture
def member(service: LoyaltyService, txn: Counter) -> str:
    return service.enroll(PHONE, client_txn_id=txn()).member_id


def buy(service: LoyaltyService, member: str, cashier: Actor, txn: Counter) -> str:
    return service.earn(member, 2_500_000, cashier=cashier, client_txn_id=txn()).entry_id


def test_a_visit_is_rated_once_and_its_reasons_come_from_the_list(
    service: LoyaltyService, member: str, cashier: Actor, txn: Counter
) -> None:
    visit = buy(service, member, cashier, txn)
    feedback = desk(service)

    asked = feedback.ask(member)
    first = feedback.rate(visit, 4)
    again = feedback.rate(visit, 1)
    feedback.toggle_reason(visit, "waiting")
    chosen = feedback.toggle_reason(visit, "staff")

    assert asked == visit
    assert (first, again) == (True, False)
    assert chosen == ("staff", "waiting")
    assert feedback.shown(visit) == (4, ("staff", "waiting"))
    with pytest.raises(ValueError):
        feedback.toggle_reason(visit, "the cashier was rude, call me on 0912...")
    with pytest.raises(ValueError):
        feedback.rate(visit, 6)
    assert set(REASONS) >= set(feedback.shown(visit)[1])


def test_a_member_is_asked_again_only_after_every_days(
    service: LoyaltyService, member: str, cashier: Actor, txn: Counter, clock: ManualClock
) -> None:
    feedback = desk(service, every_days=3)
    buy(service, member, cashier, txn)
    first = feedback.ask(member)

    clock.advance(hours=1)
    buy(service, member, cashier, txn)
    within = feedback.ask(member)
    clock.advance(days=3)
    buy(service, member, cashier, txn)
    after = feedback.ask(member)

    assert first is not None
    assert within is None
    assert after is not None and after != first


def test_no_ask_when_switched_off_or_without_a_purchase_here(
    service: LoyaltyService, member: str, cashier: Actor, txn: Counter, clock: ManualClock
) -> None:
    nothing_bought = desk(service).ask(member)
    buy(service, member, cashier, txn)
    off = desk(service, enabled=False).ask(member)
    clock.advance(minutes=30)
    too_late = desk(service).ask(member)

    assert (nothing_bought, off, too_late) == (None, None, None)


def test_a_rating_is_pushed_once_its_entry_is_at_the_hub(
    service: LoyaltyService, member: str, cashier: Actor, txn: Counter
) -> None:
    visit = buy(service, member, cashier, txn)
    feedback = desk(service)
    feedback.ask(member)
    feedback.rate(visit, 5)

    queued = feedback.to_push()
    service.conn.execute("DELETE FROM outbox")  # the hub acknowledged the entries
    ready = feedback.to_push()
    feedback.pushed(ready, {})
    after = feedback.to_push()
    feedback.toggle_reason(visit, "price")
    changed = feedback.to_push()

    assert queued == []
    assert [(row["entry_id"], row["rating"]) for row in ready] == [(visit, 5)]
    assert after == []
    assert changed[0]["reasons"] == ["price"] and changed[0]["version"] == 2


def test_an_upgraded_kiosk_keeps_its_ledger_and_gains_the_table(
    service: LoyaltyService,
    open_service: Callable[..., LoyaltyService],
    cashier: Actor,
    txn: Counter,
) -> None:
    member = service.enroll(PHONE, client_txn_id=txn()).member_id
    service.earn(member, 2_500_000, cashier=cashier, client_txn_id=txn())
    before = service.members.get(member)
    assert before is not None
    path = Path(service.conn.execute("PRAGMA database_list").fetchone()[2])
    service.close()
    # The file as the previous release left it: no feedback table, m013 not applied.
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("DROP TABLE feedback")
    old.execute("DELETE FROM _sqlite_migrations WHERE name = 'm013_visit_feedback'")
    old.close()

    upgraded = open_service()

    after = upgraded.members.get(member)
    assert after is not None and after.balance == before.balance > 0
    assert (
        upgraded.conn.execute("SELECT count(*) FROM entries WHERE kind = 'earn'").fetchone()[0] == 1
    )
    assert desk(upgraded).ask(member) is not None
