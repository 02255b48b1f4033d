"""The simulated CRM and the kiosk's client, over real HTTP on loopback, per the protocol doc."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from sync.client import CrmClient, CrmError, retry_after
from sync.signing import NONCE, SIGNATURE, TIMESTAMP, Verifier, sign

DEVICE = "kiosk-a"


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def client(crm: CrmServer) -> Iterator[CrmClient]:
    kiosk = CrmClient(crm.url, DEVICE)
    kiosk.enroll(crm.store.new_code())
    yield kiosk
    kiosk.close()


def member(
    member_id: str = "m-1", updated_at: str = "2026-11-23T08:00:00.000000Z"
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "status": "active",
        "created_at": "2026-11-23T08:00:00.000000Z",
        "updated_at": updated_at,
        "phone": "+989121234567",
        "name": None,
        "birthday": None,
        "language": "fa",
        "consent_marketing": False,
        "consent_version": None,
        "consent_at": None,
        "cards": [{"uid": "A1B2C3D4", "status": "active"}],
    }


HEARTBEAT = {
    "version": "test",
    "queue_depth": 0,
    "oldest_unsynced_at": None,
    "readers": [],
    "disk_free_bytes": 1,
    "clock_offset_ms": None,
}


def entry(
    seq: int, points: int = 10, member_id: str = "m-1", device: str = DEVICE
) -> dict[str, Any]:
    return {
        "entry_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{device}/{seq}")),
        "device_id": device,
        "seq": seq,
        "kind": "earn",
        "member_id": member_id,
        "points": points,
        "amount": points * 100_000,
        "currency": "IRR",
        "cashier_id": "s-1",
        "created_at": "2026-11-23T08:00:00.000000Z",
        "reverses": None,
        "reward_id": None,
        "coupon_code": None,
        "reason": None,
        "expires_at": None,
    }


# -- enrollment and signing ------------------------------------------------------------------


def test_an_enrollment_code_works_once(crm: CrmServer):
    code = crm.store.new_code()
    first = CrmClient(crm.url, "kiosk-x")
    first.enroll(code)

    with pytest.raises(CrmError) as refused:
        CrmClient(crm.url, "kiosk-y").enroll(code)

    assert refused.value.status == 403 and refused.value.code == "bad_enrollment_code"
    assert first.secret is not None and len(first.secret) == 32


def raw_push(
    crm: CrmServer, secret: bytes, body: bytes, headers: dict[str, str] | None = None
) -> requests.Response:
    signed = sign(DEVICE, secret, "POST", "/v2/push", body)
    signed.update(headers or {})
    return requests.post(crm.url + "/v2/push", data=body, headers=signed, timeout=10)


def test_a_tampered_body_is_refused(crm: CrmServer, client: CrmClient):
    assert client.secret is not None
    body = json.dumps({"device_id": DEVICE, "members": [], "entries": []}).encode()
    headers = sign(DEVICE, client.secret, "POST", "/v2/push", body)

    answer = requests.post(
        crm.url + "/v2/push", data=body.replace(b"[]", b"[ ]", 1), headers=headers, timeout=10
    )

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"


def test_a_replayed_request_is_refused(crm: CrmServer, client: CrmClient):
    assert client.secret is not None
    body = json.dumps({"device_id": DEVICE, "members": [], "entries": []}).encode()
    headers = sign(DEVICE, client.secret, "POST", "/v2/push", body)

    first = requests.post(crm.url + "/v2/push", data=body, headers=headers, timeout=10)
    again = requests.post(crm.url + "/v2/push", data=body, headers=headers, timeout=10)

    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["error"]["code"] == "replayed"


@pytest.mark.parametrize("skew", [-301, 301])
def test_an_expired_signature_is_refused(crm: CrmServer, client: CrmClient, skew: int):
    assert client.secret is not None
    body = b"{}"
    stamp = datetime.now(UTC).timestamp() + skew
    headers = sign(DEVICE, client.secret, "POST", "/v2/heartbeat", body, now=stamp)

    answer = requests.post(crm.url + "/v2/heartbeat", data=body, headers=headers, timeout=10)

    assert answer.status_code == 401 and answer.json()["error"]["code"] == "signature_expired"


def test_an_unknown_device_and_a_wrong_secret_are_refused(crm: CrmServer, client: CrmClient):
    stranger = CrmClient(crm.url, "kiosk-stranger", b"x" * 32)
    impostor = CrmClient(crm.url, DEVICE, b"y" * 32)

    with pytest.raises(CrmError) as unknown:
        stranger.heartbeat({})
    with pytest.raises(CrmError) as wrong:
        impostor.heartbeat({})

    assert (unknown.value.status, unknown.value.code) == (401, "unknown_device")
    assert (wrong.value.status, wrong.value.code) == (401, "bad_signature")
    assert wrong.value.credentials and not wrong.value.retryable


def test_a_revoked_device_gets_403(crm: CrmServer, client: CrmClient):
    crm.store.revoke(DEVICE)

    with pytest.raises(CrmError) as refused:
        client.push([], [])

    assert (refused.value.status, refused.value.code) == (403, "device_revoked")


def test_the_verifier_forgets_old_nonces_but_keeps_refusing_old_requests():
    now = [1_000_000.0]
    verifier = Verifier(lambda _d: b"k" * 32, clock=lambda: now[0])
    headers = sign("d", b"k" * 32, "GET", "/v2/changes", b"", now=now[0], nonce="a" * 32)

    assert verifier.check("GET", "/v2/changes", headers, b"")[1] is None
    now[0] += 700  # past the nonce memory, and past the window
    refusal = verifier.check("GET", "/v2/changes", headers, b"")[1]

    assert refusal is not None and refusal.code == "signature_expired"
    assert len(verifier._seen) == 0


def test_every_signing_header_is_needed(crm: CrmServer, client: CrmClient):
    assert client.secret is not None
    for missing in (TIMESTAMP, NONCE, SIGNATURE):
        body = b"{}"
        headers = sign(DEVICE, client.secret, "POST", "/v2/heartbeat", body)
        del headers[missing]
        answer = requests.post(crm.url + "/v2/heartbeat", data=body, headers=headers, timeout=10)
        assert answer.status_code == 401, missing


# -- push --------------------------------------------------------------------------------------


def test_push_stores_once_and_acknowledges_by_high_water(client: CrmClient, crm: CrmServer):
    first = client.push([member()], [entry(1), entry(2)])
    again = client.push([member()], [entry(1), entry(2), entry(3)])

    assert (first.high_water, first.stored, first.duplicates) == (2, 2, 0)
    assert (again.high_water, again.stored, again.duplicates) == (3, 1, 2)
    assert crm.store.view()["balances"] == {"m-1": 30}


def test_a_gap_holds_the_high_water_mark_below_it(client: CrmClient):
    client.push([member()], [entry(1)])

    after_gap = client.push([], [entry(3), entry(4)])
    filled = client.push([], [entry(2)])

    assert after_gap.high_water == 1
    assert filled.high_water == 4


def test_the_view_shows_a_device_s_sequence_gaps(client: CrmClient, crm: CrmServer):
    client.push([member()], [entry(1), entry(4)])

    assert crm.store.view()["devices"][DEVICE]["gaps"] == [2, 3]


def test_an_entry_for_an_unknown_member_is_rejected_but_acknowledged(client: CrmClient):
    answer = client.push([], [entry(1, member_id="m-unknown")])

    assert answer.high_water == 1
    assert [r["code"] for r in answer.rejected] == ["unknown_member"]


def test_the_same_seq_with_another_entry_is_a_conflict(client: CrmClient):
    client.push([member()], [entry(1)])
    other = entry(1) | {"entry_id": str(uuid.uuid4())}

    answer = client.push([], [other])

    assert [r["code"] for r in answer.rejected] == ["seq_conflict"]


def test_a_large_batch_travels_gzipped(client: CrmClient, crm: CrmServer):
    batch = [entry(seq) for seq in range(1, 501)]

    answer = client.push([member()], batch)

    assert answer.high_water == 500
    assert len(crm.store.entry_ids(DEVICE)) == 500


def test_more_than_a_thousand_entries_is_refused(client: CrmClient):
    with pytest.raises(CrmError) as refused:
        client.push([member()], [entry(seq) for seq in range(1, 1002)])

    assert (refused.value.status, refused.value.code) == (413, "batch_too_large")


def test_members_are_kept_newest_first(client: CrmClient, crm: CrmServer):
    newer = member(updated_at="2026-11-23T09:00:00.000000Z") | {"name": "Sara"}
    client.push([newer], [])
    client.push([member()], [])  # an older copy arrives late

    assert crm.store.view()["members"]["m-1"]["name"] == "Sara"


# -- pull --------------------------------------------------------------------------------------


def test_changes_come_in_pages_after_a_cursor(client: CrmClient, crm: CrmServer):
    client.push([member(f"m-{i}") for i in range(5)], [])

    first = client.changes(0, limit=3)
    second = client.changes(first.next_cursor, limit=3)
    empty = client.changes(second.next_cursor, limit=3)

    assert [c["data"]["member_id"] for c in first.changes + second.changes] == [
        f"m-{i}" for i in range(5)
    ]
    assert first.more and not second.more
    assert empty.changes == [] and empty.next_cursor == second.next_cursor


def test_a_balance_change_follows_a_push(client: CrmClient):
    client.push([member()], [entry(1, points=40)])

    balances = [c["data"] for c in client.changes(0).changes if c["type"] == "balance"]

    # With the member's visits at every branch (docs/sync-protocol.md, "Pull"): the day of
    # the purchase, no redemption, no badge yet.
    visits = {"days": ["2026-11-23"], "redeemed": False, "badges": []}
    assert balances == [
        {"member_id": "m-1", "balance": 40, "acknowledged": {DEVICE: 1}, "visits": visits}
    ]


def test_an_erasure_at_the_crm_is_published(crm: CrmServer, client: CrmClient):
    client.push([member()], [entry(1)])
    requests.post(
        crm.url + "/sim/publish", json={"type": "erasure", "data": {"member_id": "m-1"}}, timeout=10
    )

    kinds = [c["type"] for c in client.changes(0).changes]

    assert kinds[-1] == "erasure"
    assert crm.store.view()["members"]["m-1"] == {"member_id": "m-1", "status": "erased"}


# -- faults, errors, clock -------------------------------------------------------------------


def test_faults_are_named_and_checked():
    faults = Faults.parse("5xx=0.3,latency=0.01,partial=0.2,revoked,seed=7")

    assert faults.rates == {"5xx": 0.3, "partial": 0.2}
    assert faults.revoked and faults.seed == 7 and faults.latency == 0.01
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.parse("explode=1")
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults.parse("5xx=2")


def test_a_busy_crm_answers_503_with_retry_after():
    with CrmServer(faults=Faults.parse("5xx=1")) as crm:
        kiosk = CrmClient(crm.url, DEVICE)
        kiosk.enroll(crm.store.new_code())
        with pytest.raises(CrmError) as busy:
            kiosk.heartbeat({})

    assert (busy.value.status, busy.value.code, busy.value.retry_after) == (503, "unavailable", 1.0)
    assert busy.value.retryable


def test_a_reset_after_storing_leaves_the_kiosk_unsure_and_a_retry_is_a_duplicate():
    with CrmServer(faults=Faults.parse("reset=1")) as crm:
        kiosk = CrmClient(crm.url, DEVICE)
        kiosk.enroll(crm.store.new_code())
        with pytest.raises(CrmError) as lost:
            kiosk.push([member()], [entry(1)])
        crm.faults.rates.clear()
        again = kiosk.push([member()], [entry(1)])

    assert lost.value.retryable and lost.value.status is None
    assert (again.high_water, again.stored, again.duplicates) == (1, 0, 1)


def test_a_partial_acknowledgement_stores_the_first_half():
    with CrmServer(faults=Faults.parse("partial=1")) as crm:
        kiosk = CrmClient(crm.url, DEVICE)
        kiosk.enroll(crm.store.new_code())
        answer = kiosk.push([member()], [entry(seq) for seq in range(1, 11)])

    assert answer.high_water == 5


def test_the_clock_offset_comes_from_the_date_header(client: CrmClient):
    client.heartbeat(HEARTBEAT)

    assert client.clock_offset is not None and abs(client.clock_offset) < 5


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    assert retry_after("120") == 120.0
    assert retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_an_unsupported_protocol_version_is_refused(crm: CrmServer):
    answer = requests.get(crm.url + "/v2/changes", headers={"X-Kiosk-Protocol": "1"}, timeout=10)

    assert answer.status_code == 400 and answer.json()["error"]["code"] == "unsupported_version"


def test_a_gzipped_answer_is_read(client: CrmClient):
    client.push([member(f"m-{i}") for i in range(50)], [])

    page = client.changes(0)

    assert len(page.changes) == 50


def test_the_view_shows_high_water_marks_per_device(crm: CrmServer, client: CrmClient):
    client.push([member()], [entry(1), entry(2)])

    view = requests.get(crm.url + "/sim/view", timeout=10).json()

    assert view["devices"][DEVICE]["high_water"] == 2
    assert gzip.decompress(gzip.compress(b"ok")) == b"ok"
