"""The hub answers on the wire as the simulated CRM does: every test here runs on both.

The simulated CRM (sim/crm.py) is the reference the kiosk is tested against; the hub must
give the same answers to the same requests (docs/sync-protocol.md, version 1), on
PostgreSQL, and every answer must be one docs/sync-openapi.yaml declares (checked after
each test). Each test enrolls a device of its own, so the servers are shared by a module.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest

from sync.signing import NONCE, PROTOCOL, TIMESTAMP, sign
from tests.hub.wire import CREATED, Server, Wire, error_code, member, new_id, outcome
from tests.test_sync_openapi import OPERATIONS, Answer, Spec, load_document


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(load_document())


@pytest.fixture(autouse=True)
def answers_are_what_the_openapi_file_declares(spec: Spec) -> Iterator[None]:
    # Every answer a test heard from a protocol operation, checked against
    # docs/sync-openapi.yaml: its status declared, its body and headers as the file says.
    Wire.made.clear()
    yield
    for wire in Wire.made:
        for method, path, response in wire.exchanges:
            if (method, path) in OPERATIONS:
                headers = Message()
                for name, value in response.headers.items():
                    headers[name] = value
                spec.check(Answer(response.status_code, headers, response.content), method, path)


def test_entries_are_stored_once_and_a_repeat_is_a_duplicate(server: Server):
    wire = Wire(server)
    someone = new_id()
    batch = [wire.entry(1, someone), wire.entry(2, someone)]

    first = outcome(wire.push(batch, [member(someone)]))
    again = outcome(wire.push(batch))

    assert first == {"high_water": 2, "stored": 2, "duplicates": 0, "rejected": []}
    assert again == {"high_water": 2, "stored": 0, "duplicates": 2, "rejected": []}


def test_an_entry_of_an_unknown_member_is_rejected_for_good_and_said_again(server: Server):
    wire = Wire(server)
    stranger = wire.entry(1, new_id())

    first = outcome(wire.push([stranger]))
    again = outcome(wire.push([stranger]))

    assert first == {
        "high_water": 1,
        "stored": 0,
        "duplicates": 0,
        "rejected": [(1, "unknown_member")],
    }
    assert again == {
        "high_water": 1,
        "stored": 0,
        "duplicates": 1,
        "rejected": [(1, "unknown_member")],
    }


def test_the_same_seq_under_another_id_is_a_seq_conflict(server: Server):
    wire = Wire(server)
    someone = new_id()
    wire.push([wire.entry(1, someone)], [member(someone)])

    answer = outcome(wire.push([wire.entry(1, someone)]))

    assert answer["rejected"] == [(1, "seq_conflict")] and answer["high_water"] == 1


def test_high_water_stays_below_a_gap_until_it_is_filled(server: Server):
    wire = Wire(server)
    someone = new_id()
    wire.push([wire.entry(1, someone)], [member(someone)])

    after_gap = outcome(wire.push([wire.entry(3, someone), wire.entry(4, someone)]))
    filled = outcome(wire.push([wire.entry(2, someone)]))

    assert after_gap == {"high_water": 1, "stored": 2, "duplicates": 0, "rejected": []}
    assert filled == {"high_water": 4, "stored": 1, "duplicates": 0, "rejected": []}


def test_an_empty_push_answers_the_high_water_mark_and_stores_nothing(server: Server):
    # `kiosk restore` asks it when the live database is lost (kiosk/appliance/restore.py).
    wire = Wire(server)
    someone = new_id()
    wire.push([wire.entry(1, someone), wire.entry(2, someone)], [member(someone)])

    asked = outcome(wire.push([]))

    assert asked == {"high_water": 2, "stored": 0, "duplicates": 0, "rejected": []}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "steal"),
        ("points", "10"),
        ("points", True),
        ("amount", -1),
        ("created_at", "yesterday"),
        ("entry_id", "not-a-uuid"),
        ("device_id", "kiosk-someone-else"),
    ],
)
def test_an_entry_that_is_not_a_ledger_row_is_kept_as_invalid(server: Server, field, value):
    wire = Wire(server)
    someone = new_id()

    answer = outcome(wire.push([wire.entry(1, someone, **{field: value})], [member(someone)]))

    assert answer == {
        "high_water": 1,
        "stored": 0,
        "duplicates": 0,
        "rejected": [(1, "invalid_entry")],
    }


def test_an_entry_without_a_usable_seq_is_rejected_and_not_kept(server: Server):
    wire = Wire(server)

    answer = outcome(wire.push([wire.entry(0, new_id()), "not an object"]))

    assert answer == {
        "high_water": 0,
        "stored": 0,
        "duplicates": 0,
        "rejected": [(None, "invalid_entry"), (None, "invalid_entry")],
    }


@pytest.mark.parametrize(
    "record",
    [
        {"member_id": "m-x", "status": "active"},
        member("m-x", phone="0912"),
        member("m-x", status="gone"),
        member("m-x", cards=[{"uid": "A1", "status": "lost"}]),
        {
            "member_id": "m-x",
            "status": "erased",
            "created_at": CREATED,
            "updated_at": CREATED,
            "name": "x",
        },
    ],
)
def test_a_push_with_a_bad_member_record_is_refused_whole(server: Server, record):
    wire = Wire(server)
    someone = new_id()

    refused = wire.push([wire.entry(1, someone)], [member(someone), record])
    later = outcome(wire.push([wire.entry(1, someone)]))

    assert error_code(refused) == (400, "bad_request")
    assert later["rejected"] == [(1, "unknown_member")]  # nothing of the refused push was kept


def test_more_than_1000_entries_in_a_batch_is_too_large(server: Server):
    wire = Wire(server)
    someone = new_id()

    answer = wire.push([wire.entry(seq, someone) for seq in range(1, 1002)], [member(someone)])

    assert error_code(answer) == (413, "batch_too_large")


def test_a_later_member_record_replaces_the_earlier_and_the_feed_carries_it_with_the_balance(
    server: Server,
):
    # Later both by the device's clock and by arrival: the simulator keeps the newest
    # `updated_at`, the hub the last received (tests/hub/test_member_rules.py); both agree.
    wire = Wire(server)
    someone = new_id()
    start = _end(wire)
    older = member(someone, updated="2026-03-01T10:00:00.000000Z", name="Old")
    newer = member(someone, updated="2026-03-02T09:00:00.000000Z", name="Sara N.")

    wire.push([wire.entry(1, someone, points=30)], [older])
    wire.push([wire.entry(2, someone, points=-5, kind="adjust", amount=None)], [newer])
    mine = [c for c in _all(wire, start) if c["data"].get("member_id") == someone]

    assert [c["type"] for c in mine] == ["member", "balance", "member", "balance"]
    assert [c["data"]["name"] for c in mine if c["type"] == "member"] == ["Old", "Sara N."]
    assert [c["data"]["balance"] for c in mine if c["type"] == "balance"] == [30, 25]
    assert mine[-1]["data"]["acknowledged"] == {wire.device_id: 2}


def test_an_erased_record_becomes_an_erasure_in_the_feed(server: Server):
    wire = Wire(server)
    someone = new_id()
    start = _end(wire)
    erased = {"member_id": someone, "status": "erased", "created_at": CREATED}

    wire.push([], [member(someone), erased | {"updated_at": "2026-03-05T00:00:00.000000Z"}])
    mine = [c for c in _all(wire, start) if c["data"].get("member_id") == someone]

    # The earlier record no longer carries the person (issue 16): it says they are erased.
    assert [(c["type"], c["data"]) for c in mine] == [
        (
            "member",
            {
                "member_id": someone,
                "status": "erased",
                "created_at": CREATED,
                "updated_at": CREATED,
            },
        ),
        ("erasure", {"member_id": someone}),
    ]


def test_a_kiosk_reading_the_feed_from_the_start_gets_nothing_of_an_erased_person(
    server: Server,
):
    wire = Wire(server)
    someone, neighbour = new_id(), new_id()
    person = member(someone, name="Sara Tehrani", birthday="1990-05-17")
    wire.push([wire.entry(1, someone)], [person, member(neighbour)])
    renamed = person | {"name": "Sara T.", "updated_at": "2026-03-04T00:00:00.000000Z"}
    wire.push([wire.entry(2, someone)], [renamed])
    assert person["phone"] in json.dumps(_all(wire, 0))  # there before the erasure

    erased = {"member_id": someone, "status": "erased", "created_at": CREATED}
    wire.push([], [erased | {"updated_at": "2026-03-05T00:00:00.000000Z"}])
    feed = json.dumps(_all(wire, 0))

    for personal in (person["phone"], "Sara T", "1990-05-17", person["cards"][0]["uid"]):
        assert personal not in feed
    assert member(neighbour)["phone"] in feed  # only the erased person is taken out


def test_the_feed_is_paged_by_cursor_and_a_page_is_at_most_1000(server: Server):
    wire = Wire(server)
    someone = new_id()
    wire.push([wire.entry(seq, someone) for seq in range(1, 4)], [member(someone)])
    end = _end(wire)

    first = wire.changes(end - 2, limit=1)
    capped = wire.send("GET", "/v2/changes?cursor=0&limit=5000")

    assert len(first["changes"]) == 1 and first["more"] is True
    assert first["next_cursor"] == first["changes"][0]["cursor"] == end - 1
    assert capped.status_code == 200 and len(capped.json()["changes"]) <= 1000


@pytest.mark.parametrize(
    "query", ["cursor=-1", "cursor=x", "limit=0", "cursor=99999999999999999999"]
)
def test_a_bad_cursor_or_limit_is_a_bad_request(server: Server, query: str):
    wire = Wire(server)

    assert error_code(wire.send("GET", f"/v2/changes?{query}")) == (400, "bad_request")


def test_a_gzipped_body_is_taken(server: Server):
    wire = Wire(server)
    someone = new_id()
    body = gzip.compress(
        json.dumps(
            {
                "device_id": wire.device_id,
                "members": [member(someone)],
                "entries": [wire.entry(1, someone)],
            }
        ).encode()
    )
    headers = sign(wire.device_id, wire.secret, "POST", "/v2/push", body)
    headers |= {"Content-Encoding": "gzip", "Content-Type": "application/json"}

    answer = wire.http.post(wire.url + "/v2/push", data=body, headers=headers, timeout=30)

    assert outcome(answer)["stored"] == 1


def test_a_heartbeat_without_every_field_is_a_bad_request(server: Server):
    wire = Wire(server)
    good = {
        "version": "0.1.0",
        "queue_depth": 0,
        "oldest_unsynced_at": None,
        "readers": [{"name": "nfc", "state": "connected"}],
        "disk_free_bytes": 10,
        "clock_offset_ms": None,
    }

    assert wire.send("POST", "/v2/heartbeat", good).status_code == 200
    partial = {k: v for k, v in good.items() if k != "readers"}
    assert error_code(wire.send("POST", "/v2/heartbeat", partial)) == (400, "bad_request")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ({"X-Kiosk-Device": "kiosk-never-enrolled"}, (401, "unknown_device")),
        ({"X-Kiosk-Signature": "v1=" + "0" * 64}, (401, "bad_signature")),
        ({NONCE: "not-hex"}, (401, "bad_signature")),
        ({TIMESTAMP: "12.5"}, (401, "bad_signature")),
        ({PROTOCOL: "1"}, (400, "unsupported_version")),
    ],
)
def test_a_badly_signed_request_is_refused_with_the_protocols_code(
    server: Server, tamper, expected
):
    wire = Wire(server)

    answer = wire.send("GET", "/v2/changes?cursor=0&limit=1", **tamper)

    assert error_code(answer) == expected


def test_an_old_signature_is_expired_and_a_repeated_one_replayed(server: Server):
    wire = Wire(server)
    old = sign(wire.device_id, wire.secret, "GET", "/v2/changes", b"", now=time.time() - 301)
    fresh = sign(wire.device_id, wire.secret, "GET", "/v2/changes", b"")

    expired = wire.http.get(wire.url + "/v2/changes", headers=old, timeout=30)
    first = wire.http.get(wire.url + "/v2/changes", headers=fresh, timeout=30)
    replayed = wire.http.get(wire.url + "/v2/changes", headers=fresh, timeout=30)

    assert error_code(expired) == (401, "signature_expired")
    assert first.status_code == 200
    assert error_code(replayed) == (401, "replayed")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v2/push"), ("POST", "/v2/nothing"), ("PUT", "/v2/push"), ("POST", "/v2/push/")],
)
def test_other_paths_and_methods_are_not_found(server: Server, method: str, path: str):
    wire = Wire(server)

    assert error_code(wire.send(method, path, {})) == (404, "not_found")


def test_an_enrollment_code_is_refused_with_its_reason(server: Server):
    wire = Wire(server)
    code = server.new_code()
    assert wire.enroll(code.lower(), f"kiosk-{uuid.uuid4().hex[:8]}").status_code == 201

    used = wire.enroll(code, f"kiosk-{uuid.uuid4().hex[:8]}")
    unknown = wire.enroll("ZZZZ-ZZZZ", f"kiosk-{uuid.uuid4().hex[:8]}")

    assert (
        error_code(used) == (403, "bad_enrollment_code")
        and used.json()["error"]["reason"] == "used"
    )
    assert unknown.json()["error"]["reason"] == "unknown"


def test_every_answer_carries_a_date_and_a_body_over_8_mib_is_too_large(server: Server):
    wire = Wire(server)
    huge = b'{"device_id": "' + b"x" * (8 * 1024 * 1024) + b'"}'
    headers = sign(wire.device_id, wire.secret, "POST", "/v2/push", huge)

    answer = wire.http.post(wire.url + "/v2/push", data=huge, headers=headers, timeout=60)

    assert error_code(answer) == (413, "batch_too_large")
    assert answer.headers["Date"].endswith(" GMT")


def _end(wire: Wire) -> int:
    """The feed's last cursor now."""
    cursor = 0
    while True:
        page = wire.changes(cursor)
        cursor = page["next_cursor"]
        if not page["more"]:
            return int(cursor)


def _all(wire: Wire, after: int) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    while True:
        page = wire.changes(after)
        changes += page["changes"]
        after = page["next_cursor"]
        if not page["more"]:
            return changes


def test_a_member_is_looked_up_by_phone_or_card_with_their_balance(server: Server):
    wire, other = Wire(server), Wire(server)
    someone, digits = new_id(), uuid.uuid4().int % 10**7
    phone, card, lost = f"+98912{digits:07d}", f"{digits:08X}", f"B{digits:07X}"
    cards = [{"uid": card, "status": "active"}, {"uid": lost, "status": "blocked"}]
    other.push([other.entry(1, someone, 25)], [member(someone, phone=phone, cards=cards)])

    by_phone = wire.send("GET", f"/v2/members?phone=%2B{phone[1:]}")
    by_card = wire.send("GET", f"/v2/members?card={card}")

    assert by_phone.status_code == by_card.status_code == 200, by_phone.text
    assert by_phone.json() == by_card.json()
    found = by_phone.json()
    assert (found["member"]["member_id"], found["member"]["phone"]) == (someone, phone)
    assert found["member"]["cards"] == cards
    # The member's visits at every branch: the simulator's always, the hub's while a program
    # in force gives badges (this one does not; tests/hub/test_badge_cross_branch.py).
    visits = found["balance"].pop("visits", None)
    assert visits == (
        {"days": ["2026-03-01"], "redeemed": False, "badges": []} if server.sim else None
    )
    assert found["balance"] == {
        "member_id": someone,
        "balance": 25,
        "acknowledged": {other.device_id: 1},
    }
    assert error_code(wire.send("GET", f"/v2/members?card={lost}")) == (404, "card_blocked")
    assert error_code(wire.send("GET", "/v2/members?card=0BADCAFE0BAD")) == (
        404,
        "unknown_member",
    )
    both = f"/v2/members?phone=%2B{phone[1:]}&card={card}"
    assert error_code(wire.send("GET", both)) == (400, "bad_request")
    assert error_code(wire.send("GET", "/v2/members")) == (400, "bad_request")
