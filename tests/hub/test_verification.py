"""Verification codes at the hub (docs/sync-protocol.md, "Verification"), on the wire.

A real hub (`hub serve` on loopback, real PostgreSQL); the SMS is read where the hub queues
it. Times are moved by moving the rows' own times back (the hub's clock is PostgreSQL's).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import requests

from tests.hub.conftest import Hub, HubServer
from tests.hub.wire import Server, Wire, error_code, member, new_id, outcome
from tests.test_sync_openapi import OPERATIONS, Answer, Spec, load_document

PHONE = "+989121234567"


@pytest.fixture
def served(hub: Hub) -> Iterator[tuple[Server, HubServer]]:
    server = HubServer(hub).start()  # the chain's program as `hub migrate` made it
    yield Server("hub", server.url, hub=hub), server
    server.stop(graceful=False)


@pytest.fixture
def server(served: tuple[Server, HubServer]) -> Server:
    return served[0]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(load_document())


@pytest.fixture(autouse=True)
def answers_are_what_the_openapi_file_declares(spec: Spec) -> Iterator[None]:
    Wire.made.clear()
    yield
    for wire in Wire.made:
        for method, path, response in wire.exchanges:
            assert (method, path) in OPERATIONS, (method, path)
            headers = Message()
            for name, value in response.headers.items():
                headers[name] = value
            spec.check(Answer(response.status_code, headers, response.content), method, path)


def ask(wire: Wire, phone: str = PHONE, purpose: str = "enroll", **more: Any) -> requests.Response:
    return wire.send("POST", "/v2/verify", {"phone": phone, "purpose": purpose} | more)


def check(wire: Wire, verification_id: int, code: str) -> requests.Response:
    return wire.send("POST", "/v2/verify/check", {"verification_id": verification_id, "code": code})


def sms(hub: Hub, verification_id: int) -> str:
    """The code in the SMS the hub queued for this verification."""
    rows = hub.sql(
        "SELECT body FROM hub_message WHERE key = %s",
        f"verification:{verification_id}",
    )
    assert len(rows) == 1
    found = re.search(r"[0-9]{5}", rows[0][0])
    assert found is not None
    return found.group()


def earlier(hub: Hub, seconds: int) -> None:
    """Every code sent `seconds` earlier than it was (the hub's clock moved on)."""
    hub.sql(
        "UPDATE hub_verification SET created_at = created_at - make_interval(secs => %s), "
        "expires_at = expires_at - make_interval(secs => %s)",
        seconds,
        seconds,
    )


def test_a_code_goes_by_sms_in_persian_and_the_right_one_earns_a_proof(hub: Hub, server: Server):
    wire = Wire(server)

    sent = ask(wire)
    code = sms(hub, sent.json()["verification_id"])
    body = hub.sql("SELECT body, phone, kind FROM hub_message")[0]
    kept = hub.sql("SELECT code_hash, phone_digest FROM hub_verification")[0]
    proved = check(wire, sent.json()["verification_id"], code)

    assert sent.status_code == 201
    assert sent.json()["attempts_left"] == 5 and sent.json()["resend_after"] == 60
    assert "کد تأیید" in body[0] and body[1:] == (PHONE, "verification")
    assert code not in "".join(kept) and PHONE not in "".join(kept)  # hashes only
    assert proved.status_code == 200
    assert proved.json()["proof"].startswith("v1.")


def test_english_members_get_the_code_in_english(hub: Hub, server: Server):
    wire = Wire(server)

    ask(wire, language="en")

    assert hub.sql("SELECT body FROM hub_message")[0][0].startswith(
        "Customer club verification code"
    )


def test_five_wrong_codes_kill_the_code_even_for_the_right_one_after(hub: Hub, server: Server):
    wire = Wire(server)
    sent = ask(wire).json()["verification_id"]
    code = sms(hub, sent)
    wrong = f"{(int(code) + 1) % 100000:05d}"

    lefts = [check(wire, sent, wrong).json()["error"]["attempts_left"] for _ in range(5)]
    after = check(wire, sent, code)

    assert lefts == [4, 3, 2, 1, 0]
    assert error_code(after) == (410, "code_dead")
    assert after.json()["error"]["reason"] == "exhausted"


def test_a_code_expires_after_five_minutes(hub: Hub, server: Server):
    wire = Wire(server)
    sent = ask(wire).json()["verification_id"]
    code = sms(hub, sent)

    earlier(hub, 301)
    late = check(wire, sent, code)

    assert error_code(late) == (410, "code_dead") and late.json()["error"]["reason"] == "expired"


def test_a_resend_waits_a_minute_and_kills_the_code_before(hub: Hub, server: Server):
    wire = Wire(server)
    first = ask(wire).json()["verification_id"]
    old = sms(hub, first)

    too_soon = ask(wire)
    earlier(hub, 61)
    again = ask(wire)
    new = sms(hub, again.json()["verification_id"])

    assert error_code(too_soon) == (429, "rate_limited")
    assert too_soon.json()["error"]["reason"] == "resend_delay"
    assert 1 <= int(too_soon.headers["Retry-After"]) <= 60
    assert again.status_code == 201
    assert check(wire, first, old).json()["error"]["reason"] == "replaced"
    assert check(wire, again.json()["verification_id"], new).status_code == 200


def test_a_phone_gets_five_codes_an_hour_from_any_kiosk(hub: Hub, server: Server):
    kiosks = [Wire(server), Wire(server)]
    answers = []
    for turn in range(6):
        answers.append(ask(kiosks[turn % 2]).status_code)
        earlier(hub, 61)

    refused = ask(kiosks[0])
    other_phone = ask(kiosks[0], phone="+989127654321")

    assert answers == [201] * 5 + [429]
    assert refused.json()["error"]["reason"] == "phone_hourly"
    assert int(refused.headers["Retry-After"]) > 60
    assert other_phone.status_code == 201


def test_a_kiosk_sends_at_most_thirty_codes_an_hour(hub: Hub, server: Server):
    wire = Wire(server)
    device = hub.sql("SELECT id FROM hub_device WHERE device_id = %s", wire.device_id)[0][0]
    hub.sql(
        "INSERT INTO hub_verification (device_id, purpose, phone_digest, code_hash, created_at, "
        "expires_at, attempts, state) SELECT %s, 'enroll', 'p' || n, 'x', now() - interval "
        "'10 minutes', now(), 0, 'pending' FROM generate_series(1, 30) AS n",
        device,
    )

    drained = ask(wire)

    assert error_code(drained) == (429, "rate_limited")
    assert drained.json()["error"]["reason"] == "device_hourly"
    assert hub.sql("SELECT count(*) FROM hub_message")[0][0] == 0


def test_another_kiosk_cannot_check_a_code_it_did_not_ask_for(hub: Hub, server: Server):
    mine, theirs = Wire(server), Wire(server)
    sent = ask(mine).json()["verification_id"]

    answer = check(theirs, sent, sms(hub, sent))

    assert error_code(answer) == (404, "unknown_verification")


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "09121234567", "purpose": "enroll"},
        {"phone": PHONE, "purpose": "steal"},
        {"phone": PHONE, "purpose": "link_card"},
        {"phone": PHONE, "purpose": "enroll", "language": "de"},
    ],
)
def test_requests_not_in_the_protocol_are_refused(server: Server, body: dict[str, Any]):
    assert error_code(Wire(server).send("POST", "/v2/verify", body)) == (400, "bad_request")


# -- a card linked to an existing member's phone ----------------------------------------


def _holder(wire: Wire) -> dict[str, Any]:
    record = member(new_id(), phone=PHONE, cards=[{"uid": "AAAA0001", "status": "active"}])
    assert outcome(wire.push([], [record]))["stored"] == 0
    return record


def _cards(hub: Hub, member_id: str) -> list[str]:
    rows = hub.sql("SELECT uid FROM hub_card WHERE member_id = %s ORDER BY uid", member_id)
    return [row[0] for row in rows]


def _flags(hub: Hub) -> list[tuple[str, dict[str, Any]]]:
    return [(r[0], r[1]) for r in hub.sql("SELECT code, detail FROM hub_flag ORDER BY id")]


def test_a_forged_push_linking_a_stolen_card_without_the_code_is_refused(hub: Hub, server: Server):
    home, thief = Wire(server), Wire(server)
    victim = _holder(home)
    stolen = victim | {"cards": [*victim["cards"], {"uid": "BBBB0002", "status": "active"}]}

    thief.push([], [stolen])

    assert _cards(hub, victim["member_id"]) == ["AAAA0001"]
    assert [code for code, _ in _flags(hub)] == ["card_link_unverified"]


def test_a_card_linked_with_the_code_is_taken_once(hub: Hub, server: Server):
    home, kiosk = Wire(server), Wire(server)
    holder = _holder(home)
    sent = ask(kiosk, purpose="link_card", card="BBBB0002").json()["verification_id"]
    assert check(kiosk, sent, sms(hub, sent)).status_code == 200
    linked = holder | {"cards": [*holder["cards"], {"uid": "BBBB0002", "status": "active"}]}

    kiosk.push([], [linked])
    again = linked | {"cards": [*linked["cards"], {"uid": "CCCC0003", "status": "active"}]}
    kiosk.push([], [again])  # the proof was for BBBB0002, and is used

    assert _cards(hub, holder["member_id"]) == ["AAAA0001", "BBBB0002"]
    assert [code for code, _ in _flags(hub)] == ["card_link_unverified"]
    assert hub.sql("SELECT state FROM hub_verification")[0][0] == "used"


def test_a_proof_of_one_kiosk_does_not_link_the_card_from_another(hub: Hub, server: Server):
    home, asker, other = Wire(server), Wire(server), Wire(server)
    holder = _holder(home)
    sent = ask(asker, purpose="link_card", card="BBBB0002").json()["verification_id"]
    proof = check(asker, sent, sms(hub, sent)).json()["proof"]
    linked = holder | {
        "cards": [*holder["cards"], {"uid": "BBBB0002", "status": "active"}],
        "verification": [{"card": "BBBB0002", "proof": proof}],
    }

    other.push([], [linked])

    assert _cards(hub, holder["member_id"]) == ["AAAA0001"]


def test_a_cashiers_approval_is_taken_and_shown_to_the_owner_never_in_the_feed(
    hub: Hub, server: Server
):
    home, kiosk = Wire(server), Wire(server)
    holder = _holder(home)
    approval = {"card": "BBBB0002", "approved_by": "cashier-7", "reason": "hub_unreachable"}
    linked = holder | {
        "cards": [*holder["cards"], {"uid": "BBBB0002", "status": "active"}],
        "verification": [approval],
    }

    kiosk.push([], [linked])
    feed = [c["data"] for c in kiosk.changes()["changes"] if c["type"] == "member"]

    assert _cards(hub, holder["member_id"]) == ["AAAA0001", "BBBB0002"]
    assert _flags(hub) == [
        (
            "card_link_approved",
            {
                "member": holder["member_id"],
                "approved_by": "cashier-7",
                "reason": "hub_unreachable",
            },
        )
    ]
    assert feed and all("verification" not in record for record in feed)


def test_an_enrollment_merged_into_a_phones_holder_needs_the_code_for_its_card(
    hub: Hub, server: Server
):
    home, thief = Wire(server), Wire(server)
    holder = _holder(home)
    twin = member(new_id(), phone=PHONE, cards=[{"uid": "BBBB0002", "status": "active"}])

    thief.push([], [twin])

    assert _cards(hub, holder["member_id"]) == ["AAAA0001"]
    assert [code for code, _ in _flags(hub)] == ["card_link_unverified"]


def test_neither_codes_nor_phones_reach_the_hubs_log(hub: Hub, served: tuple[Server, HubServer]):
    server, process = served
    wire = Wire(server)
    sent = ask(wire).json()["verification_id"]
    code = sms(hub, sent)
    check(wire, sent, "00000" if code != "00000" else "11111")
    check(wire, sent, code)

    process.stop()
    log = "\n".join(process.log)

    assert code not in log and PHONE not in log and PHONE[3:] not in log
