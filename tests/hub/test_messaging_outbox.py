"""The outbox's enqueue(): idempotent by key, in the caller's transaction, parts and cost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.hub.conftest import Hub
from tests.hub.test_messaging_support import add_member, messaging

__all__ = ["messaging"]

NOON_TEHRAN = datetime(2026, 6, 10, 8, 30, tzinfo=UTC)  # 12:00 in Tehran


def test_the_same_key_twice_is_one_message(messaging: Hub) -> None:
    from hub.messaging.outbox import enqueue

    first = enqueue(phone="+989121234567", body="سلام", kind="receipt", key="receipt:1")
    second = enqueue(phone="+989121234567", body="other", kind="receipt", key="receipt:1")

    assert first.pk == second.pk
    assert second.body == "سلام"
    assert messaging.sql("SELECT count(*) FROM hub_message") == [(1,)]


def test_a_message_rolls_back_with_the_callers_transaction(messaging: Hub) -> None:
    from django.db import transaction

    from hub.messaging.outbox import enqueue

    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(phone="+989121234567", body="hi", kind="receipt", key="receipt:2")
        raise RuntimeError("the purchase failed")

    assert messaging.sql("SELECT count(*) FROM hub_message") == [(0,)]


@pytest.mark.parametrize(
    ("body", "parts", "cost"),
    [
        ("a" * 160, 1, 2_400),
        ("a" * 161, 2, 4_800),
        ("a" * 306, 2, 4_800),
        ("a" * 307, 3, 7_200),
        ("{" * 80, 1, 2_400),  # the extension table's characters take two septets
        ("{" * 81, 2, 4_800),
        ("س" * 70, 1, 1_100),
        ("س" * 71, 2, 2_200),
        ("س" * 134, 2, 2_200),
        ("س" * 135, 3, 3_300),
        ("a" * 69 + "س", 1, 1_100),  # one Persian letter makes the whole text UCS-2
    ],
)
def test_parts_and_cost_by_alphabet(messaging: Hub, body: str, parts: int, cost: int) -> None:
    from hub.messaging.outbox import enqueue

    message = enqueue(phone="+989121234567", body=body, kind="campaign", key=f"k:{body}")

    assert (message.parts, message.cost) == (parts, cost)


def test_marketing_keeps_the_consent_version_and_refuses_without_consent(
    messaging: Hub,
) -> None:
    from hub.messaging.outbox import enqueue

    add_member(messaging, "m-yes", "+989120000001", version="v7")
    add_member(messaging, "m-no", "+989120000002", consent=False)

    sent = enqueue(
        phone="+989120000001",
        body="offer",
        kind="campaign",
        key="c:1",
        member_id="m-yes",
        marketing=True,
        now=NOON_TEHRAN,
    )
    refused = enqueue(
        phone="+989120000002",
        body="offer",
        kind="campaign",
        key="c:2",
        member_id="m-no",
        marketing=True,
        now=NOON_TEHRAN,
    )

    assert (sent.state, sent.consent_version) == ("queued", "v7")
    assert (refused.state, refused.error) == ("cancelled", "no consent to marketing")
