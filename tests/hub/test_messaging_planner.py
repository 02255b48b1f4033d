"""The daily planner: birthdays in the member's calendar, win-back once a spell, at the
chain's time, idempotent; on the hub's real PostgreSQL with an injected clock."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sim.sms_gateway import SmsGateway
from tests.hub.conftest import Hub
from tests.hub.test_messaging_support import Clock, key_file, messaging, sim_gateway

__all__ = ["messaging", "sim_gateway"]

TEHRAN = timedelta(hours=3, minutes=30)


def tehran(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment on Tehran's clock, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - TEHRAN


def person(
    hub: Hub,
    member_id: str,
    *,
    birthday: date | None = None,
    language: str = "fa",
    consent: bool = True,
    status: str = "active",
) -> str:
    phone = f"+98912{abs(hash(member_id)) % 10_000_000:07d}"
    hub.sql(
        "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at, phone,"
        " name, birthday, language, consent_marketing, consent_version, consent_at)"
        " VALUES (%s, %s, now(), now(), now(), %s, 'سارا', %s, %s, %s, 'v1', %s)",
        member_id,
        status,
        phone if status == "active" else None,
        birthday,
        language,
        consent,
        datetime(2026, 1, 1, tzinfo=UTC) if consent else None,
    )
    return phone


def plan(now: datetime) -> tuple[int, int]:
    from hub.messaging.planner import plan as run

    done = run(now)
    return done.birthdays, done.winbacks


def queued(hub: Hub, kind: str) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in hub.sql(
            "SELECT key, state, not_before, body FROM hub_message WHERE kind = %s ORDER BY key",
            kind,
        )
    ]


# Jalali 1403 is a leap year (30 Esfand 1403 = 2025-03-20), 1404 a common one (its last day,
# 29 Esfand 1404 = 2026-03-20); 1 Farvardin 1405 = 2026-03-21.
@pytest.mark.parametrize(
    ("born", "today", "key_year", "sent"),
    [
        (date(1991, 3, 21), date(2026, 3, 21), 1405, True),  # 1 Farvardin 1370 -> 1405
        (date(1991, 3, 21), date(2026, 3, 20), 1405, False),  # the day before
        (date(2025, 3, 20), date(2026, 3, 20), 1404, True),  # 30 Esfand: 29th in a common year
        (date(2025, 3, 20), date(2026, 3, 19), 1404, False),
        (date(2025, 3, 19), date(2026, 3, 20), 1404, True),  # 29 Esfand 1403 -> 29 Esfand 1404
        (date(2021, 3, 20), date(2025, 3, 20), 1403, True),  # 30 Esfand 1399 -> 30 Esfand 1403
        (date(2021, 3, 20), date(2025, 3, 19), 1403, False),  # in a leap year: not the 29th
    ],
)
def test_a_persian_members_birthday_comes_on_their_jalali_day(
    messaging: Hub, born: date, today: date, key_year: int, sent: bool
) -> None:
    person(messaging, "m1", birthday=born)

    assert plan(tehran(today.year, today.month, today.day)) == (int(sent), 0)

    found = queued(messaging, "birthday")
    assert [r[0] for r in found] == ([f"birthday:m1:{key_year}"] if sent else [])


def test_the_birthday_message_offers_the_programs_bonus_until_its_windows_last_day(
    messaging: Hub,
) -> None:
    person(messaging, "fa1", birthday=date(1991, 3, 21))
    person(messaging, "en1", birthday=date(1991, 3, 21), language="en")

    plan(tehran(2026, 3, 21))

    bodies = {r[0]: r[3] for r in queued(messaging, "birthday")}
    # The default program: a 100-point bonus for 7 days from the birthday.
    assert "هدیهٔ Valiasr" not in bodies["birthday:fa1:1405"]  # no shop name set: none
    assert "۱۰۰ امتیاز تا ۷ فروردین" in bodies["birthday:fa1:1405"]
    assert "100 points until 27 March" in bodies["birthday:en1:2026"]
    assert "/sms/stop/" in bodies["birthday:fa1:1405"]  # the opt-out link


@pytest.mark.parametrize(
    ("today", "sent"),
    [
        (date(2026, 2, 28), True),  # a common year: on 28 February
        (date(2026, 3, 1), False),
        (date(2028, 2, 28), False),  # a leap year: on the 29th itself
        (date(2028, 2, 29), True),
    ],
)
def test_a_29_february_birthday_in_the_gregorian_calendar(
    messaging: Hub, today: date, sent: bool
) -> None:
    person(messaging, "en1", birthday=date(2000, 2, 29), language="en")

    assert plan(tehran(today.year, today.month, today.day)) == (int(sent), 0)
    if sent:
        assert [r[0] for r in queued(messaging, "birthday")] == [f"birthday:en1:{today.year}"]


def test_the_planner_twice_queues_once_and_a_birthday_is_once_a_year(
    messaging: Hub,
) -> None:
    person(messaging, "m1", birthday=date(1991, 3, 21))

    assert plan(tehran(2026, 3, 21, 9)) == (1, 0)
    assert plan(tehran(2026, 3, 21, 9)) == (0, 0)  # the same moment again
    assert plan(tehran(2026, 3, 21, 17)) == (0, 0)  # later the same day
    assert len(queued(messaging, "birthday")) == 1

    # The command, as cron or a person runs it: once more, nothing more.
    out = messaging.run("messages", "plan", "--now", "2026-03-21T12:00:00+03:30").stdout
    assert out.strip() == "queued 0 birthday and 0 win-back messages"
    assert plan(tehran(2027, 3, 21)) == (1, 0)  # next year (1 Farvardin 1406): again
    assert [r[0] for r in queued(messaging, "birthday")] == [
        "birthday:m1:1405",
        "birthday:m1:1406",
    ]


def test_a_birthday_planned_at_23_is_held_until_8_in_tehran(messaging: Hub) -> None:
    person(messaging, "m1", birthday=date(1991, 3, 21))

    plan(tehran(2026, 3, 21, 23))

    ((_, state, not_before, _),) = queued(messaging, "birthday")
    assert (state, not_before) == ("queued", tehran(2026, 3, 22, 8))


def test_no_birthday_without_consent_after_an_opt_out_or_for_the_erased(messaging: Hub) -> None:
    born = date(1991, 3, 21)
    person(messaging, "yes", birthday=born)
    person(messaging, "no_consent", birthday=born, consent=False)
    phone = person(messaging, "opted_out", birthday=born)
    messaging.sql(
        "INSERT INTO hub_message_opt_out (phone, at, via) VALUES (%s, '2026-02-01', 'reply')", phone
    )
    person(messaging, "erased", birthday=born, status="erased")

    assert plan(tehran(2026, 3, 21)) == (1, 0)
    assert [r[0] for r in queued(messaging, "birthday")] == ["birthday:yes:1405"]


def test_the_frequency_cap_holds_for_a_birthday(messaging: Hub) -> None:
    from hub.messaging.outbox import enqueue

    phone = person(messaging, "m1", birthday=date(1991, 3, 21))
    for i in range(2):  # the default cap: 2 marketing messages in 7 days
        enqueue(
            phone=phone,
            body=f"offer {i}",
            kind="campaign",
            key=f"c:{i}",
            member_id="m1",
            marketing=True,
            now=tehran(2026, 3, 19),
        )

    assert plan(tehran(2026, 3, 21)) == (0, 0)


def visit(hub: Hub, member_id: str, at: datetime) -> None:
    hub.sql(
        "INSERT INTO hub_message_last_visit (member_id, at) VALUES (%s, %s)"
        " ON CONFLICT (member_id) DO UPDATE SET at = excluded.at",
        member_id,
        at,
    )


def test_win_back_once_per_spell_of_inactivity(messaging: Hub) -> None:
    person(messaging, "m1")
    person(messaging, "recent")
    last = tehran(2026, 1, 10, 18)
    visit(messaging, "m1", last)
    visit(messaging, "recent", tehran(2026, 4, 20))

    assert plan(last + timedelta(days=59)) == (0, 0)  # not yet 60 days
    assert plan(last + timedelta(days=60, minutes=1)) == (0, 1)
    assert plan(last + timedelta(days=60, minutes=2)) == (0, 0)  # the planner again
    assert plan(last + timedelta(days=63)) == (0, 0)  # the same spell, days later
    ((key, _, _, body),) = queued(messaging, "winback")
    assert key == "winback:m1:2026-01-10"
    assert "۶۰ روز" in body

    # They come back, then stay away again: a new spell, a new message.
    again = tehran(2026, 4, 1, 12)
    visit(messaging, "m1", again)
    assert plan(again + timedelta(days=30)) == (0, 0)
    assert plan(again + timedelta(days=61)) == (0, 1)
    assert [r[0] for r in queued(messaging, "winback")] == [
        "winback:m1:2026-01-10",
        "winback:m1:2026-04-01",
    ]


def test_win_back_turned_off_or_long_lapsed_members_get_none(messaging: Hub) -> None:
    person(messaging, "long_ago")
    visit(messaging, "long_ago", tehran(2025, 1, 1))  # lapsed before the feature: no
    person(messaging, "m1")
    visit(messaging, "m1", tehran(2026, 1, 10))
    messaging.run("messages", "policy", "--winback-days", "0")

    assert plan(tehran(2026, 3, 12)) == (0, 0)
    messaging.run("messages", "policy", "--winback-days", "60")
    assert plan(tehran(2026, 3, 12)) == (0, 1)
    assert [r[0] for r in queued(messaging, "winback")] == ["winback:m1:2026-01-10"]


def test_a_push_keeps_the_last_visit_the_win_back_reads(messaging: Hub) -> None:
    """LastVisit is kept by the push's hook: the later of held and pushed, by survivor."""
    from django.db import transaction

    from hub.devices.models import Device
    from hub.messaging.receipts import after_push

    messaging.new_device()
    device = Device.objects.select_related("branch").first()
    assert device is not None
    person(messaging, "m1")
    entries = [
        {
            "entry_id": f"e{i}",
            "member_id": "m1",
            "kind": kind,
            "points": 5,
            "reward_id": None,
            "created_at": at,
        }
        for i, (kind, at) in enumerate(
            [
                ("earn", "2026-01-10T10:00:00.000000Z"),
                ("earn", "2026-01-05T10:00:00.000000Z"),  # pushed late: older
                ("adjust", "2026-02-01T10:00:00.000000Z"),  # not a visit
            ]
        )
    ]
    with transaction.atomic():
        after_push(device, entries, now=datetime(2026, 3, 1, tzinfo=UTC))

    assert messaging.sql("SELECT member_id, at FROM hub_message_last_visit") == [
        ("m1", datetime(2026, 1, 10, 10, tzinfo=UTC))
    ]


def test_the_worker_plans_when_the_chains_day_changes(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.gateways import open_gateway
    from hub.messaging.worker import Worker

    person(messaging, "m1", birthday=date(1991, 3, 22))  # 2 Farvardin 1370
    clock = Clock(tehran(2026, 3, 21, 23, 50))
    setting = sim_gateway.setting("kavenegar", key_file(tmp_path, sim_gateway))
    worker = Worker(open_gateway(setting), clock=clock, rng=random.Random(1), plan=True)

    worker.run_once()  # plans 1 Farvardin: not their day
    assert queued(messaging, "birthday") == []
    clock.advance(minutes=15)  # 00:05 on 2 Farvardin, in Tehran
    worker.run_once()
    ((key, state, not_before, _),) = queued(messaging, "birthday")
    assert (key, state, not_before) == ("birthday:m1:1405", "queued", tehran(2026, 3, 22, 8))
    clock.advance(minutes=10)
    assert worker.plan_if_due(clock()) is None  # the same day, within the hour: not again

    clock.now = tehran(2026, 3, 22, 8, 1)  # quiet hours over: sent
    worker.run_once()
    assert queued(messaging, "birthday")[0][1] == "sent"
    assert len(sim_gateway.sent) == 1
