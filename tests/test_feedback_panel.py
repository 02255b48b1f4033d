"""The panel's feedback page through Django's test client, on a real hub database: figures
by branch and over time, a manager's branch only, support's figures without a member, the
CSV download. (The browser's own test is tests/panel/test_feedback_pages.py: a module's
Playwright keeps an asyncio loop that Django's in-process database calls refuse.)
"""

from __future__ import annotations

import csv
import io
import secrets
from typing import Any

import pytest

from tests.hub.conftest import Hub, hub, hub_template, postgres
from tests.hub.test_messaging_support import messaging
from tests.panel.test_messages_client import client

__all__ = ["hub", "hub_template", "messaging", "postgres"]  # fixtures, used by name


def rated_visit(
    sql: Any, branch: str, rating: int, reasons: str = "", at: str = "2026-11-20T08:00:00Z"
) -> str:
    """A member's purchase at `branch`, pushed by one of its devices, and its rating: the
    member's id (which no page may show)."""
    member = f"fb-{secrets.token_hex(6)}"
    entry = f"e-{secrets.token_hex(8)}"
    sql(
        "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at,"
        " consent_marketing) VALUES (%s, 'active', now(), now(), now(), false)",
        member,
    )
    ((device,),) = sql(
        "INSERT INTO hub_device (device_id, created_at, branch_id)"
        " SELECT %s, now(), id FROM hub_branch WHERE name = %s RETURNING id",
        f"kiosk-{secrets.token_hex(4)}",
        branch,
    )
    ((entry_pk,),) = sql(
        "INSERT INTO hub_entry (device_id, entry_id, seq, status, member_id, kind, points,"
        " amount, created_at, as_pushed, received_at) VALUES (%s, %s, 1, 'stored', %s, 'earn',"
        " 10, 1000000, %s, '{}', now()) RETURNING id",
        device,
        entry,
        member,
        at,
    )
    sql(
        "INSERT INTO hub_visit_rating (entry_id, device_id, branch_id, rating, reasons,"
        " rated_at, version, received_at)"
        " SELECT %s, %s, branch_id, %s, %s, %s, 1, now() FROM hub_device WHERE id = %s",
        entry_pk,
        device,
        rating,
        reasons,
        at,
        device,
    )
    return member


@pytest.fixture
def chain(messaging: Hub) -> tuple[Hub, list[str]]:
    """Ratings at two branches: North 5 and 2 on two days, South 1."""
    for name in ("North", "South"):
        messaging.sql("INSERT INTO hub_branch (name, created_at) VALUES (%s, now())", name)
    members = [
        rated_visit(messaging.sql, "North", 5, "staff,quality", "2026-11-20T08:00:00Z"),
        rated_visit(messaging.sql, "North", 2, "waiting", "2026-11-21T20:45:00Z"),
        rated_visit(messaging.sql, "South", 1, "price,waiting", "2026-11-21T09:00:00Z"),
    ]
    return messaging, members


PERIOD = "?since=2026-11-01&until=2026-11-30"


def test_the_owner_sees_every_branch_and_the_average(chain: tuple[Hub, list[str]]) -> None:
    page = client("owner").get("/panel/feedback/" + PERIOD)

    html = page.content.decode()
    assert page.status_code == 200
    assert "3 visits rated, 2.7 out of 5 on average." in html
    assert "<td>North</td><td>2</td><td>3.5</td><td>1</td>" in html
    assert "<td>South</td><td>1</td><td>1.0</td><td>1</td>" in html
    assert "<svg" in html


def test_a_manager_sees_their_branch_only(chain: tuple[Hub, list[str]]) -> None:
    html = client("manager", "South").get("/panel/feedback/" + PERIOD).content.decode()

    assert "1 visits rated, 1.0 out of 5 on average." in html
    assert "North" not in html


def test_support_sees_figures_and_no_member(chain: tuple[Hub, list[str]]) -> None:
    _hub, members = chain
    support = client("support")

    html = support.get("/panel/feedback/" + PERIOD).content.decode()
    download = b"".join(support.get("/panel/feedback/" + PERIOD + "&format=csv").streaming_content)

    assert "3 visits rated" in html
    for member in members:
        assert member not in html and member.encode() not in download


def test_the_csv_has_a_row_per_day_and_branch_in_the_chains_days(
    chain: tuple[Hub, list[str]],
) -> None:
    response = client("owner").get("/panel/feedback/" + PERIOD + "&format=csv")

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["day", "branch", "ratings", "average", "rated_1_or_2"]
    # 20:45 UTC on the 21st is 00:15 on the 22nd in Tehran: that rating is the 22nd's.
    assert [r[:3] for r in rows[1:]] == [
        ["2026-11-20", "North", "1"],
        ["2026-11-21", "South", "1"],
        ["2026-11-22", "North", "1"],
    ]


def test_the_page_is_in_persian_for_a_persian_reader(chain: tuple[Hub, list[str]]) -> None:
    html = client("owner", language="fa").get("/panel/feedback/" + PERIOD).content.decode()

    assert "امتیاز خریدها" in html
    assert "نظر مشتریان" in html  # the navigation's line
    assert "۳ خرید امتیاز گرفت" in html
