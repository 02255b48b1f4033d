"""The hub's own entries reach the CRM too: an owner's adjustment sends `points.adjusted`.

`hub member adjust` (the panel's action, from the command line) on a real hub; the event is
delivered by the worker's code to a real receiver on loopback, as in
tests/hub/test_integration_webhooks.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kiosk.core.clock import ManualClock
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_integration_webhooks import add_endpoint, django_on, drain
from tests.hub.webhook_receiver import WebhookReceiver
from tests.hub.wire import Server, Wire, member, new_id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def receiver(clock: ManualClock) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(clock=lambda: clock().timestamp()) as running:
        yield running


@pytest.fixture
def wire(hub: Hub, hub_server: HubServer) -> Wire:
    return Wire(Server("hub", hub_server.url, hub=hub))


def test_an_owners_adjustment_reaches_a_subscribed_receiver_once(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url, "points.adjusted"))
    member_id = new_id()
    assert wire.push([wire.entry(1, member_id, 40)], [member(member_id)]).status_code == 200
    reason = "Sara Ahmadi complained about the queue"  # free text: may name someone

    made = hub.json(
        "member", "adjust", member_id, "25", "--reason", reason, "--txn", "a-1", "--json"
    )
    again = hub.json(
        "member", "adjust", member_id, "25", "--reason", reason, "--txn", "a-1", "--json"
    )
    django_on(hub)
    drain(clock, receiver)

    assert again["entry_id"] == made["entry_id"]  # adjusted once
    (event,) = receiver.state.processed.values()
    assert event["type"] == "points.adjusted"
    assert event["data"] == {
        "entry_id": made["entry_id"],
        "member_id": member_id,
        "kind": "adjust",
        "points": 25,
        "amount": None,
        "currency": None,
        "reward_id": None,
        "reverses": None,
        "created_at": event["data"]["created_at"],
        "branch": None,
        "device_id": "hub",
    }
    assert all(b"Sara" not in sent.body for sent in receiver.state.captured)


def test_a_kiosks_adjustment_and_expiry_send_their_own_events(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url, "points.adjusted,points.expired"))
    member_id = new_id()
    entries = [
        wire.entry(1, member_id, 100),
        wire.entry(2, member_id, 10, kind="adjust", amount=None, currency=None, reason="fix"),
        wire.entry(3, member_id, -30, kind="expire", amount=None, currency=None),
    ]
    pushed = wire.push(entries, [member(member_id)])
    assert pushed.status_code == 200 and pushed.json()["stored"] == 3, pushed.text
    django_on(hub)

    drain(clock, receiver)

    got = sorted((e["type"], e["data"]["points"]) for e in receiver.state.processed.values())
    assert got == [("points.adjusted", 10), ("points.expired", -30)]
