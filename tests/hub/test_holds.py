"""Holds on the wire (docs/sync-protocol.md, "Holds"): the hub and the simulator alike.

A kiosk that can reach the server asks it to set a reward's points aside before it shows
the coupon. Every test here runs against both servers (`server`), and every answer is
checked against docs/sync-openapi.yaml; what needs PostgreSQL itself (many hub processes
racing for one member's points) is at the end.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import requests

from tests.hub.conftest import Hub, HubServer
from tests.hub.wire import Server, Wire, error_code, member, new_id, outcome
from tests.test_sync_openapi import OPERATIONS, Answer, Spec, load_document

RELEASE = "/v2/holds/{client_txn_id}"
# The default program's rewards by cost (kiosk/config/defaults.toml): the hub checks a
# redeem entry's reward and cost against the program in force.
REWARD_COSTING = {200: "coffee", 500: "discount-100k", 1000: "percent-10"}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(load_document())


@pytest.fixture(autouse=True)
def answers_are_what_the_openapi_file_declares(spec: Spec) -> Iterator[None]:
    Wire.made.clear()
    yield
    for wire in Wire.made:
        for method, path, response in wire.exchanges:
            template = RELEASE if path.startswith("/v2/holds/") else path
            assert (method, template) in OPERATIONS, (method, path)
            headers = Message()
            for name, value in response.headers.items():
                headers[name] = value
            spec.check(Answer(response.status_code, headers, response.content), method, template)


def shopper(wire: Wire, points: int) -> str:
    """A member the server knows, with `points` (an opening balance the owner gave)."""
    someone = new_id()
    record = member(someone, phone=f"+98912{random.randrange(10**7):07d}", cards=[])
    opening = wire.entry(
        1, someone, points=points, kind="adjust", amount=None, currency=None, reason="opening"
    )
    assert outcome(wire.push([opening], [record]))["stored"] == 1
    return someone


def hold(wire: Wire, member_id: str, points: int, txn: str | None = None) -> requests.Response:
    body = {
        "client_txn_id": txn or f"redeem-{uuid.uuid4()}",
        "member_id": member_id,
        "points": points,
        "reward_id": REWARD_COSTING.get(points),
    }
    return wire.send("POST", "/v2/holds", body)


def release(wire: Wire, txn: str) -> requests.Response:
    return wire.send("DELETE", f"/v2/holds/{txn}")


def redeem_entry(wire: Wire, seq: int, member_id: str, points: int, txn: str) -> dict[str, Any]:
    return wire.entry(
        seq,
        member_id,
        points=-points,
        kind="redeem",
        amount=None,
        currency=None,
        reward_id=REWARD_COSTING[points],
        coupon_code="7KQ2M9XA",
        client_txn_id=txn,
    )


def expire_every_hold(server: Server) -> None:
    """Fifteen minutes pass for the holds (their times set back, no sleeping)."""
    if server.hub is not None:
        server.hub.sql(
            "UPDATE hub_hold SET created_at = now() - interval '16 minutes', "
            "expires_at = now() - interval '1 minute'"
        )
    else:
        assert server.sim is not None
        store = server.sim.store
        with store._lock:
            store.conn.execute("UPDATE holds SET created_at = 0, expires_at = 60")


def test_a_hold_sets_points_aside_from_every_other_counter(server: Server):
    counter, other = Wire(server), Wire(server)
    shopper_id = shopper(counter, 1000)

    held = hold(counter, shopper_id, 600, "redeem-1")
    refused = hold(other, shopper_id, 600)

    assert held.status_code == 201
    assert held.json() | {"expires_at": None} == {
        "client_txn_id": "redeem-1",
        "member_id": shopper_id,
        "points": 600,
        "available": 400,
        "expires_at": None,
    }
    assert error_code(refused) == (409, "insufficient_points")
    assert refused.json()["error"]["available"] == 400
    assert hold(other, shopper_id, 400).json()["available"] == 0


def test_a_repeated_hold_is_the_same_hold_and_sets_nothing_more_aside(server: Server):
    counter, other = Wire(server), Wire(server)
    shopper_id = shopper(counter, 1000)

    first = hold(counter, shopper_id, 600, "redeem-1")
    again = hold(counter, shopper_id, 600, "redeem-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert hold(other, shopper_id, 400).status_code == 201


def test_the_same_transaction_for_another_member_or_amount_is_a_conflict(server: Server):
    counter = Wire(server)
    shopper_id, someone_else = shopper(counter, 1000), new_id()
    hold(counter, shopper_id, 500, "redeem-1")

    other_points = hold(counter, shopper_id, 600, "redeem-1")
    other_member = hold(counter, someone_else, 500, "redeem-1")

    assert error_code(other_points) == (409, "hold_conflict")
    assert error_code(other_member) == (409, "hold_conflict")


def test_a_member_the_server_does_not_know_cannot_be_held(server: Server):
    answer = hold(Wire(server), new_id(), 10)

    assert error_code(answer) == (409, "unknown_member")


@pytest.mark.parametrize(
    "change",
    [
        {"points": 0},
        {"points": -200},
        {"points": "200"},
        {"points": True},
        {"client_txn_id": ""},
        {"client_txn_id": "x" * 101},
        {"member_id": 7},
        {"reward_id": 3},
    ],
)
def test_a_hold_request_that_is_not_valid_is_refused_and_holds_nothing(server: Server, change):
    counter = Wire(server)
    shopper_id = shopper(counter, 1000)
    body = {"client_txn_id": "redeem-1", "member_id": shopper_id, "points": 200} | change

    answer = counter.send("POST", "/v2/holds", body)

    assert error_code(answer) == (400, "bad_request")
    assert hold(counter, shopper_id, 1000).json()["available"] == 0


def test_a_released_hold_gives_the_points_back(server: Server):
    counter, other = Wire(server), Wire(server)
    shopper_id = shopper(counter, 1000)
    hold(counter, shopper_id, 1000, "redeem-1")

    first, again = release(counter, "redeem-1"), release(counter, "redeem-1")

    assert first.json() == {"released": True} and again.json() == {"released": False}
    assert hold(other, shopper_id, 1000).status_code == 201


def test_a_device_cannot_release_another_devices_hold(server: Server):
    counter, attacker = Wire(server), Wire(server)
    shopper_id = shopper(counter, 1000)
    hold(counter, shopper_id, 1000, "redeem-1")

    answer = release(attacker, "redeem-1")

    assert answer.json() == {"released": False}
    assert error_code(hold(attacker, shopper_id, 1)) == (409, "insufficient_points")


def test_a_hold_lapses_after_fifteen_minutes(server: Server):
    counter, other = Wire(server), Wire(server)
    shopper_id = shopper(counter, 1000)
    hold(counter, shopper_id, 1000, "redeem-1")

    expire_every_hold(server)

    assert hold(other, shopper_id, 1000).status_code == 201
    assert release(counter, "redeem-1").json() == {"released": False}


def test_a_lapsed_hold_asked_for_again_is_taken_again_only_if_the_points_are_there(
    server: Server,
):
    counter, other = Wire(server), Wire(server)
    shopper_id = shopper(counter, 1000)
    hold(counter, shopper_id, 1000, "redeem-1")
    expire_every_hold(server)
    hold(other, shopper_id, 600)

    again = hold(counter, shopper_id, 1000, "redeem-1")

    assert error_code(again) == (409, "insufficient_points")
    assert again.json()["error"]["available"] == 400


def test_the_pushed_redemption_confirms_its_hold_and_the_points_leave_once(server: Server):
    counter, other = Wire(server), Wire(server)
    shopper_id = shopper(counter, 1000)
    hold(counter, shopper_id, 1000, "redeem-1")

    pushed = outcome(counter.push([redeem_entry(counter, 2, shopper_id, 1000, "redeem-1")]))

    assert pushed["stored"] == 1 and pushed["rejected"] == []
    # Balance 0 and the hold no longer counted: nothing left, but not -1,000 either.
    refused = hold(other, shopper_id, 1)
    assert error_code(refused) == (409, "insufficient_points")
    assert refused.json()["error"]["available"] == 0
    assert release(counter, "redeem-1").json() == {"released": False}
    assert hold(counter, shopper_id, 1000, "redeem-1").status_code == 200  # a late repeat
    expire_every_hold(server)
    counter.push([counter.entry(3, shopper_id, points=50, kind="adjust", amount=None)])
    assert hold(other, shopper_id, 50).status_code == 201


def test_a_redemption_of_other_points_does_not_confirm_the_hold(server: Server):
    counter = Wire(server)
    shopper_id = shopper(counter, 1000)
    hold(counter, shopper_id, 500, "redeem-1")

    counter.push([redeem_entry(counter, 2, shopper_id, 200, "redeem-1")])

    # 800 left, 500 of them still held: the hold was not for this entry.
    assert hold(counter, shopper_id, 300).json()["available"] == 0


# -- the hub alone: hub processes racing for one member's points ------------------------------


def test_many_counters_racing_for_the_same_points_at_two_hub_processes_hold_them_once(hub: Hub):
    first, second = HubServer(hub).start(), HubServer(hub).start()
    try:
        servers = [Server("hub", first.url, hub=hub), Server("hub", second.url, hub=hub)]
        owner = Wire(servers[0])
        shopper_id = shopper(owner, 1000)
        counters = [Wire(servers[i % 2]) for i in range(8)]
        start = threading.Barrier(len(counters))
        answers: list[int] = []

        def ask(wire: Wire) -> None:
            start.wait()
            answers.append(hold(wire, shopper_id, 300).status_code)

        threads = [threading.Thread(target=ask, args=(w,)) for w in counters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        first.stop(graceful=False)
        second.stop(graceful=False)

    assert sorted(answers) == [201] * 3 + [409] * 5
    (held,) = hub.sql("SELECT SUM(points) FROM hub_hold WHERE state = 'active'")
    assert held == (900,)
